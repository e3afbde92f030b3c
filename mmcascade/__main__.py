"""``python -m mmcascade ...``: the ``mmcascade`` command (see :mod:`mmcascade.cli`)."""

import sys

from mmcascade.cli import main

sys.exit(main())

"""Upgrade an MMDetection v1.x checkpoint to the v2.0 key layout (``roi_head.*``, background.

Entry point: the code is ``mmcascade.tools.model_converters.upgrade_model_version``."""

import sys

from mmcascade.tools.model_converters.upgrade_model_version import main

if __name__ == "__main__":
    sys.exit(main())

"""The model zoo from the command line.

Entry point: the code is ``mmcascade.tools.model_zoo``."""

import sys

from mmcascade.tools.model_zoo import main

if __name__ == "__main__":
    sys.exit(main())

"""Reorder a checkpoint's classes to a config's order.

Entry point: the code is ``mmcascade.tools.model_converters.remap_classes``."""

import sys

from mmcascade.tools.model_converters.remap_classes import main

if __name__ == "__main__":
    sys.exit(main())

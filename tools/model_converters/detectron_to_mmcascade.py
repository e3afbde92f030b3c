"""Convert a Detectron (Caffe2) ``.pkl`` into an mmcascade checkpoint.

Entry point: the code is ``mmcascade.tools.model_converters.detectron_to_mmcascade``."""

import sys

from mmcascade.tools.model_converters.detectron_to_mmcascade import main

if __name__ == "__main__":
    sys.exit(main())

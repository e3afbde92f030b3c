"""Export a detector to ONNX: ``python tools/deploy/export.py CONFIG CHECKPOINT OUT.onnx``.

Entry point: the code is ``mmcascade.tools.deploy.export``."""

import sys

from mmcascade.tools.deploy.export import main

if __name__ == "__main__":
    sys.exit(main())

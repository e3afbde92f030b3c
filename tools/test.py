"""Test a checkpoint: ``python tools/test.py CONFIG CHECKPOINT [--out F] [--show-dir D] [--tta]``.

Entry point: the code is ``mmcascade.tools.test``."""

from mmcascade.tools.test import main

if __name__ == "__main__":
    main()

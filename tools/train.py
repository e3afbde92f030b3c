"""Train a detector from a config: ``python tools/train.py CONFIG [--work-dir DIR] ...``.

Entry point: the code is ``mmcascade.tools.train``."""

from mmcascade.tools.train import main

if __name__ == "__main__":
    main()

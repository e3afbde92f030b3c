"""Draw the ground truth of a dataset *after* its training pipeline, to check augmentations.

Entry point: the code is ``mmcascade.tools.analysis_tools.browse_dataset``."""

from mmcascade.tools.analysis_tools.browse_dataset import main

if __name__ == "__main__":
    main()

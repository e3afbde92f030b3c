"""What each stage of a trained cascade contributes, on a COCO-format val set.

Entry point: the code is ``mmcascade.tools.analysis_tools.cascade_analysis``."""

from mmcascade.tools.analysis_tools.cascade_analysis import main

if __name__ == "__main__":
    main()

"""TIDE-style error breakdown and Detectron's PR-curve analysis of a COCO results file.

Entry point: the code is ``mmcascade.tools.analysis_tools.coco_error_analysis``."""

from mmcascade.tools.analysis_tools.coco_error_analysis import main

if __name__ == "__main__":
    main()

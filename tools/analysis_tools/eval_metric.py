"""Evaluate saved COCO results files (no model needed) and show AP at every IoU threshold.

Entry point: the code is ``mmcascade.tools.analysis_tools.eval_metric``."""

from mmcascade.tools.analysis_tools.eval_metric import main

if __name__ == "__main__":
    main()

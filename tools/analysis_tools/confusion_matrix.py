"""Confusion matrix of a COCO results file against its config's test annotations, as a PNG.

Entry point: the code is ``mmcascade.tools.analysis_tools.confusion_matrix``."""

from mmcascade.tools.analysis_tools.confusion_matrix import main

if __name__ == "__main__":
    main()

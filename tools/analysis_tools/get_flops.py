"""FLOPs and parameters of a detector, per component (backbone, neck, RPN, each cascade stage's.

Entry point: the code is ``mmcascade.tools.analysis_tools.get_flops``."""

from mmcascade.tools.analysis_tools.get_flops import main

if __name__ == "__main__":
    main()

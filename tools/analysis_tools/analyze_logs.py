"""Plot training curves and report training time, from our logs (``vis_data/scalars.json``).

Entry point: the code is ``mmcascade.tools.analysis_tools.analyze_logs``."""

import sys

from mmcascade.tools.analysis_tools.analyze_logs import main

if __name__ == "__main__":
    sys.exit(main())

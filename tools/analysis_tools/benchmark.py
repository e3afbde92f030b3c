"""Measure a config's inference speed (images/s, latency percentiles) or training speed.

Entry point: the code is ``mmcascade.tools.analysis_tools.benchmark``."""

from mmcascade.tools.analysis_tools.benchmark import main

if __name__ == "__main__":
    main()

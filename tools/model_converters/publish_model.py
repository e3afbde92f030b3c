"""Publish a trained checkpoint: keep only ``state_dict`` and plain ``meta``, then append the.

Entry point: the code is ``mmcascade.tools.model_converters.publish_model``."""

from mmcascade.tools.model_converters.publish_model import main

if __name__ == "__main__":
    main()

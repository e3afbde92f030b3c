"""Models: importing this registers every component in the mmcascade scope."""

from .backbones import *  # noqa: F401,F403
from .data_preprocessors import BatchFixedSizePad, DetDataPreprocessor  # noqa: F401
from .dense_heads import *  # noqa: F401,F403
from .detectors import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .necks import *  # noqa: F401,F403
from .roi_heads import *  # noqa: F401,F403
from .task_modules import *  # noqa: F401,F403
from .test_time_aug import DetTTAModel  # noqa: F401

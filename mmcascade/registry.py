"""Child registries of mmengine's roots, all in the ``mmcascade`` scope.

Every component is registered under the ``type=`` name MMDetection users write,
so ``dict(type='CascadeRoIHead', ...)`` builds ours when the default scope is
``mmcascade``. Each registry lists every package that registers into it (``locations``): this
module imports none of them, mmengine does when the registry is first searched, and
:func:`import_all_locations` does for ``register_all_modules``.
"""

from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import TASK_UTILS as MMENGINE_TASK_UTILS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import Registry

_SCOPE = "mmcascade"


_CHILDREN: list[Registry] = []


def _child(name: str, parent: Registry, *packages: str) -> Registry:
    """A child of ``parent`` whose components are registered by importing ``mmcascade.<package>``
    for each of ``packages`` (mmengine imports them the first time the registry is searched)."""
    child = Registry(name, parent=parent, scope=_SCOPE, locations=[f"mmcascade.{p}" for p in packages])
    _CHILDREN.append(child)
    return child


RUNNERS = _child("runner", MMENGINE_RUNNERS, "engine")
LOOPS = _child("loop", MMENGINE_LOOPS, "engine")
HOOKS = _child("hook", MMENGINE_HOOKS, "engine")
DATASETS = _child("dataset", MMENGINE_DATASETS, "datasets")
DATA_SAMPLERS = _child("data sampler", MMENGINE_DATA_SAMPLERS, "datasets")
TRANSFORMS = _child("transform", MMENGINE_TRANSFORMS, "datasets")
# The test-time wrappers (sliced inference) and the exported-model runner are models too.
MODELS = _child("model", MMENGINE_MODELS, "models", "slicing", "deploy")
MODEL_WRAPPERS = _child("model_wrapper", MMENGINE_MODEL_WRAPPERS, "models")
TASK_UTILS = _child("task util", MMENGINE_TASK_UTILS, "models")
OPTIM_WRAPPERS = _child("optim_wrapper", MMENGINE_OPTIM_WRAPPERS, "engine")
PARAM_SCHEDULERS = _child("parameter scheduler", MMENGINE_PARAM_SCHEDULERS, "engine")
METRICS = _child("metric", MMENGINE_METRICS, "evaluation")
EVALUATOR = _child("evaluator", MMENGINE_EVALUATOR, "evaluation")
# Children with nothing of ours in them, so that a Runner in the mmcascade scope finds mmengine's
# optimizers, constructors, log processors and functions without a scope warning.
OPTIMIZERS = _child("optimizer", MMENGINE_OPTIMIZERS, "engine")
OPTIM_WRAPPER_CONSTRUCTORS = _child("optimizer wrapper constructor", MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS, "engine")
LOG_PROCESSORS = _child("log_processor", MMENGINE_LOG_PROCESSORS, "engine")
FUNCTIONS = _child("function", MMENGINE_FUNCTIONS, "datasets")
WEIGHT_INITIALIZERS = _child("weight initializer", MMENGINE_WEIGHT_INITIALIZERS, "models")
VISUALIZERS = _child("visualizer", MMENGINE_VISUALIZERS, "visualization")
VISBACKENDS = _child("vis_backend", MMENGINE_VISBACKENDS, "visualization")


def import_all_locations() -> None:
    """Import every package that registers components in a registry above (each registry's
    ``locations``), as mmengine does on a registry's first search; idempotent."""
    for child in _CHILDREN:
        child.import_from_location()

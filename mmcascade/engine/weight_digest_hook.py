"""Write a digest of the model's weights per rank at the end of training, to check that all
ranks of a distributed run hold one shared model (``weights_rank{R}.sha256`` in the work dir)."""

import hashlib
import os.path as osp

from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from mmcascade.registry import HOOKS


def weights_digest(model) -> str:
    """sha256 over every parameter and buffer, in ``state_dict`` order."""
    h = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


@HOOKS.register_module()
class WeightDigestHook(Hook):
    """After training, each rank writes the digest of its copy of the model."""

    priority = "VERY_LOW"

    def after_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        with open(osp.join(runner.work_dir, f"weights_rank{get_rank()}.sha256"), "w") as f:
            f.write(weights_digest(model) + "\n")

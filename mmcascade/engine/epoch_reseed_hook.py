"""Re-seed the random generators at the start of every epoch from ``(seed, epoch)``.

mmengine does not store generator states in checkpoints, so a run resumed at epoch ``k`` would
draw different RoI samples and flips than the uninterrupted run. Seeding each epoch from the run's
seed and the epoch number makes every epoch reproducible wherever training (re)starts. (With
persistent dataloader workers their own generators still carry over between epochs; exact
resumption needs ``num_workers=0`` or non-persistent workers.)
"""

from mmengine.hooks import Hook
from mmengine.runner import set_random_seed

from mmcascade.registry import HOOKS


@HOOKS.register_module()
class EpochReseedHook(Hook):
    priority = "VERY_HIGH"

    def before_train_epoch(self, runner) -> None:
        deterministic = bool(runner._randomness_cfg.get("deterministic", False))
        set_random_seed(runner.seed + 1000 * runner.epoch, deterministic=deterministic)

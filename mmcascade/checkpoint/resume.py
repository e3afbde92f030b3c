"""Choose what ``--resume`` (without a file) continues from: the newest checkpoint of the work
dir that reads completely (``epoch_N.pth`` / ``iter_N.pth``, or what ``last_checkpoint`` names),
with a warning for each one skipped."""

import glob
import os
import os.path as osp
import re
import warnings

from .reading import CheckpointError, read_checkpoint


def _step(path: str) -> int:
    m = re.search(r"(\d+)\.pth$", osp.basename(path))
    return int(m.group(1)) if m else -1


def resume_candidates(work_dir: str) -> list[str]:
    """Every ``epoch_*.pth`` / ``iter_*.pth`` of ``work_dir`` and ``last_checkpoint``'s target,
    newest (highest step) first; the named one first among equals."""
    named = []
    record = osp.join(work_dir, "last_checkpoint")
    if osp.isfile(record):
        with open(record) as f:
            target = f.read().strip()
        if target:
            here = osp.isabs(target) or osp.exists(target)
            named.append(target if here else osp.join(work_dir, osp.basename(target)))
    found = glob.glob(osp.join(work_dir, "epoch_*.pth")) + glob.glob(osp.join(work_dir, "iter_*.pth"))
    everything = list(dict.fromkeys(named + found))
    everything.sort(key=lambda p: (_step(p), p in named), reverse=True)
    return everything


def latest_readable_checkpoint(work_dir: str) -> str | None:
    """The newest checkpoint in ``work_dir`` that reads completely, or None. Unreadable ones
    (truncated by a crash, missing although named) are skipped with a warning, never deleted."""
    for path in resume_candidates(work_dir):
        if not osp.isfile(path):
            warnings.warn(
                f"resume: {path} is named in last_checkpoint but does not exist; looking for an older checkpoint",
                stacklevel=2,
            )
            continue
        try:
            ckpt = read_checkpoint(path)
        except CheckpointError as exc:
            warnings.warn(f"resume: skipping {path}, it does not read ({exc}); looking for an older one", stacklevel=2)
            continue
        if "state_dict" not in ckpt:
            warnings.warn(f"resume: skipping {path}, it has no state_dict", stacklevel=2)
            continue
        return path
    return None


def remove_stale_temporaries(work_dir: str) -> list[str]:
    """Delete the ``.epoch_N.pth.tmp`` files an interrupted save left (ours, never complete)."""
    stale = glob.glob(osp.join(work_dir, ".*.pth.tmp"))
    for path in stale:
        try:
            os.remove(path)
        except FileNotFoundError:  # another rank of the same run removed it first
            pass
    return stale


def nothing_left_to_train(path: str, train_cfg: dict) -> str | None:
    """Why resuming ``path`` under ``train_cfg`` would train nothing (it has already reached
    ``max_epochs`` / ``max_iters``), as a message; ``None`` when there is training left."""
    meta = read_checkpoint(path).get("meta") or {}
    by_epoch = "max_epochs" in train_cfg or train_cfg.get("by_epoch", False)
    done, limit, unit, key = (
        (int(meta.get("epoch", 0)), train_cfg.get("max_epochs"), "epoch", "max_epochs")
        if by_epoch
        else (int(meta.get("iter", 0)), train_cfg.get("max_iters"), "iteration", "max_iters")
    )
    if limit is None or done < int(limit):
        return None
    return (
        f"--resume: {path} has already trained {done} {unit}s and train_cfg.{key} is {limit}: nothing "
        f"left to train. To train further raise it (--cfg-options train_cfg.{key}=N, N > {done}); to "
        "evaluate the checkpoint use mmcascade test"
    )

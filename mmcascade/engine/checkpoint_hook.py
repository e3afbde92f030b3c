"""Checkpoints that a kill at any moment cannot destroy.

mmengine's ``CheckpointHook`` deletes the oldest checkpoint *before* writing the new one, writes
the new file under its final name (a kill mid-write leaves a truncated ``epoch_N.pth`` that looks
valid) and then points ``last_checkpoint`` at it. Ours, under the same ``type='CheckpointHook'``
and options:

1. writes ``.epoch_N.pth.tmp`` beside the final name, flushes and fsyncs it;
2. renames it to ``epoch_N.pth`` (atomic on one file system) and fsyncs the folder;
3. rewrites ``last_checkpoint`` the same way (temporary file, rename);
4. only then deletes the checkpoints beyond ``max_keep_ckpts``.

At every instant the work dir holds a complete checkpoint that ``last_checkpoint`` names, or
(before the first save) none. Options mmengine's hook would silently carry to the save call
(``max_keep_ckpt=1``, a typo) are refused when the hook is built.
"""

import difflib
import os
import os.path as osp
import signal

from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend
from mmengine.hooks import CheckpointHook as _MMEngineCheckpointHook

from mmcascade.registry import HOOKS

KILL_ENV = "MMCASCADE_KILL_AT"  # testing aid: "<point>@<step>" sends SIGKILL to this process there
KILL_POINTS = ("tmp_half_written", "tmp_written", "renamed", "last_updated", "old_deleted")
_OPTIONS = (
    "interval",
    "by_epoch",
    "save_optimizer",
    "save_param_scheduler",
    "out_dir",
    "max_keep_ckpts",
    "save_last",
    "save_best",
    "rule",
    "greater_keys",
    "less_keys",
    "file_client_args",
    "filename_tmpl",
    "backend_args",
    "published_keys",
    "save_begin",
)


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_file(path: str) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def atomic_write_text(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename (fsynced)."""
    tmp = osp.join(osp.dirname(path), f".{osp.basename(path)}.tmp")
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_dir(osp.dirname(path) or ".")


def _maybe_killed(point: str, step: int) -> None:
    if os.environ.get(KILL_ENV) == f"{point}@{step}":
        os.kill(os.getpid(), signal.SIGKILL)


@HOOKS.register_module()
class CheckpointHook(_MMEngineCheckpointHook):
    """mmengine's checkpoint hook (same options) with atomic saves, ``last_checkpoint`` updated
    only after the rename, and old checkpoints deleted only after the new one is complete."""

    def __init__(self, *args, **kwargs) -> None:
        unknown = [k for k in kwargs if k not in _OPTIONS]
        if unknown:
            hints = [
                f"{k!r} (did you mean {difflib.get_close_matches(k, _OPTIONS, n=1)[0]!r}?)"
                if difflib.get_close_matches(k, _OPTIONS, n=1)
                else repr(k)
                for k in unknown
            ]
            raise TypeError(f"CheckpointHook got unknown option(s) {', '.join(hints)}; it takes {', '.join(_OPTIONS)}")
        super().__init__(*args, **kwargs)

    def _save_checkpoint_with_step(self, runner, step, meta):
        if not isinstance(self.file_backend, LocalBackend):  # object stores: mmengine's own way
            return super()._save_checkpoint_with_step(runner, step, meta)
        stale = []
        if self.max_keep_ckpts > 0 and not (self.keep_ckpt_ids and self.keep_ckpt_ids[-1] == step):
            if len(self.keep_ckpt_ids) == self.max_keep_ckpts:
                stale.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info("keep_ckpt_ids", list(self.keep_ckpt_ids))
        ckpt_filename = self.filename_tmpl.format(step)
        final = self.file_backend.join_path(self.out_dir, ckpt_filename)
        tmp_name = f".{ckpt_filename}.tmp"
        self.last_ckpt = final
        runner.message_hub.update_info("last_ckpt", final)
        runner.save_checkpoint(
            self.out_dir,
            tmp_name,
            self.file_client_args,
            save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler,
            meta=meta,
            by_epoch=self.by_epoch,
            backend_args=self.backend_args,
        )
        if not is_main_process():
            return
        tmp = osp.join(self.out_dir, tmp_name)
        if os.environ.get(KILL_ENV) == f"tmp_half_written@{step}":
            os.truncate(tmp, os.path.getsize(tmp) // 2)  # what a kill in the middle of the write leaves
            _maybe_killed("tmp_half_written", step)
        _fsync_file(tmp)
        _maybe_killed("tmp_written", step)
        os.replace(tmp, final)
        _fsync_dir(self.out_dir)
        _maybe_killed("renamed", step)
        atomic_write_text(osp.join(runner.work_dir, "last_checkpoint"), final)
        _maybe_killed("last_updated", step)
        for old in stale:
            path = self.file_backend.join_path(self.out_dir, self.filename_tmpl.format(old))
            if osp.isfile(path):
                os.remove(path)
        _maybe_killed("old_deleted", step)

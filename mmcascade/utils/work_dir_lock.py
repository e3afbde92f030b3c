"""One run per work dir: an exclusive ``flock`` on ``<work_dir>/.lock`` held for the whole run.

The lock belongs to the process, so it is released however the run ends (a finished run, an
exception, SIGKILL): a later ``--work-dir`` reuse or ``--resume`` just takes it. A second run
started while the first holds it stops at once, naming the holder (pid, host, command, start).
"""

import datetime
import fcntl
import os
import os.path as osp
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager


class WorkDirLockedError(RuntimeError):
    """Another run holds the work dir."""


def _is_rank_zero() -> bool:
    for var in ("RANK", "SLURM_PROCID"):
        if os.environ.get(var) not in (None, "", "0"):
            return False
    return True


@contextmanager
def work_dir_lock(work_dir: str, what: str = "run") -> Iterator[None]:
    """Hold the work dir's lock for the body (rank 0 only; the other ranks of the same run
    share it).

    Raises:
        WorkDirLockedError: another process holds it; the message names that process.
    """
    if not _is_rank_zero():
        yield
        return
    os.makedirs(work_dir, exist_ok=True)
    path = osp.join(work_dir, ".lock")
    handle = open(path, "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise WorkDirLockedError(
                f"{work_dir} is in use by {holder}. Two runs in one work dir would overwrite each "
                f"other's checkpoints and logs: wait for it to end, or pass another --work-dir"
            ) from None
        handle.seek(0)
        handle.truncate()
        started = datetime.datetime.now().isoformat(timespec="seconds")
        handle.write(f"{what} pid {os.getpid()} on host {socket.gethostname()} since {started}: {' '.join(sys.argv)}\n")
        handle.flush()
        yield
    finally:
        handle.close()  # releases the lock

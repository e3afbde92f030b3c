"""Distributed start-up that also works on CPU-only machines.

mmengine's launchers call ``torch.cuda.set_device`` (which a CPU build of torch lacks) and wrap
the model in DDP with ``device_ids=[LOCAL_RANK]`` (which DDP refuses for CPU modules). Without
CUDA we start the process group ourselves with gloo, from torchrun's environment
(``--launcher pytorch``) or Slurm's (``--launcher slurm``), and ask the Runner for DDP without
device ids; with CUDA, mmengine's own path is used unchanged.
"""

import datetime
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.distributed as dist
from mmengine.config import Config

# How long a collective waits for the other ranks before the job ends (env_cfg.dist_cfg.timeout,
# seconds): a few minutes on CPU, where no step takes that long; torch's 30 minutes with CUDA.
CPU_TIMEOUT_S = 300
CUDA_TIMEOUT_S = 1800


def default_dist_timeout() -> int:
    return CUDA_TIMEOUT_S if torch.cuda.is_available() else CPU_TIMEOUT_S


@contextmanager
def name_hung_ranks() -> Iterator[None]:
    """Turn a collective's time-out into an error that says which rank noticed it and what it
    means (another rank stopped: hung, stopped, killed or out of memory)."""
    try:
        yield
    except RuntimeError as exc:
        text = str(exc)
        if dist.is_available() and dist.is_initialized() and ("Timed out" in text or "timeout" in text.lower()):
            rank, world = dist.get_rank(), dist.get_world_size()
            raise RuntimeError(
                f"rank {rank} of {world}: a collective operation timed out (env_cfg.dist_cfg.timeout): "
                f"another rank stopped answering (hung, stopped, killed or out of memory); ending this "
                f"rank so the job does not hang. ({text.splitlines()[0][:300]})"
            ) from exc
        raise


LAUNCHER_ENV = {
    "slurm": (("SLURM_PROCID", "SLURM_NTASKS"), "inside a Slurm job step: srun ..., or tools/slurm_train.sh"),
    "pytorch": (("RANK", "WORLD_SIZE"), "under torchrun: tools/dist_train.sh CONFIG NUM_PROCS, or torchrun ..."),
}


def check_launcher_env(launcher: str) -> None:
    """``--launcher slurm`` / ``pytorch`` read the ranks from the environment their launcher sets.

    Raises:
        SystemExit: the variables are missing (the tool was started by hand), naming them and
            how to start it.
    """
    if launcher not in LAUNCHER_ENV:
        return
    needed, how = LAUNCHER_ENV[launcher]
    missing = [v for v in needed if v not in os.environ]
    if missing:
        raise SystemExit(
            f"--launcher {launcher}: {', '.join(missing)} not set, so this is not a {launcher} job; "
            f"run it {how} (or drop --launcher for one process)"
        )


def slurm_env_to_torch(port: int | None = None) -> None:
    """Fill ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT`` from Slurm's
    ``SLURM_PROCID``, ``SLURM_NTASKS``, ``SLURM_LOCALID`` and the first host of ``SLURM_NODELIST``."""
    os.environ["RANK"] = os.environ["SLURM_PROCID"]
    os.environ["WORLD_SIZE"] = os.environ["SLURM_NTASKS"]
    os.environ["LOCAL_RANK"] = os.environ.get("SLURM_LOCALID", "0")
    if "MASTER_ADDR" not in os.environ:
        nodes = os.environ["SLURM_NODELIST"]
        first = subprocess.run(
            ["scontrol", "show", "hostname", nodes], capture_output=True, text=True, check=True
        ).stdout.split()[0]
        os.environ["MASTER_ADDR"] = first
    os.environ.setdefault("MASTER_PORT", str(port or 29500))


def setup_cpu_distributed(cfg: Config) -> None:
    """On a machine without CUDA and a launcher other than ``none``: init gloo and configure DDP
    without device ids. Modifies ``cfg``."""
    launcher = cfg.get("launcher", "none")
    if launcher == "none" or torch.cuda.is_available():
        return
    if launcher == "slurm":
        slurm_env_to_torch(cfg.get("env_cfg", {}).get("dist_cfg", {}).get("port"))
    elif launcher != "pytorch":
        raise ValueError(f"launcher {launcher!r} is not supported without CUDA; use 'pytorch' or 'slurm'")
    if not dist.is_initialized():
        timeout = cfg.get("env_cfg", {}).get("dist_cfg", {}).get("timeout", CPU_TIMEOUT_S)
        dist.init_process_group(backend="gloo", timeout=datetime.timedelta(seconds=timeout))
    wrapper = cfg.get("model_wrapper_cfg") or dict(type="MMDistributedDataParallel")
    wrapper.setdefault("broadcast_buffers", False)
    wrapper.setdefault("find_unused_parameters", cfg.get("find_unused_parameters", False))
    wrapper["device_ids"] = None
    cfg.model_wrapper_cfg = wrapper


def finish_distributed() -> None:
    """After a tool's work succeeded: wait for every rank, then tear the process group down.

    Left to interpreter exit, the group's communication threads can be destroyed while still
    joinable, which aborts a rank ("terminate called without an active exception") after all the
    work is done and makes the launcher (srun, torchrun) report a failure. No-op when not
    distributed.
    """
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()

"""Distributed start-up that also works on CPU-only machines.

mmengine's launchers call ``torch.cuda.set_device`` (which a CPU build of torch lacks) and wrap
the model in DDP with ``device_ids=[LOCAL_RANK]`` (which DDP refuses for CPU modules). Without
CUDA we start the process group ourselves with gloo, from torchrun's environment
(``--launcher pytorch``) or Slurm's (``--launcher slurm``), and ask the Runner for DDP without
device ids; with CUDA, mmengine's own path is used unchanged.
"""

import datetime
import os
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.distributed as dist
from mmengine.config import Config

from .memory import set_malloc_mmap_threshold

# How long a collective waits for the other ranks before the job ends (env_cfg.dist_cfg.timeout,
# seconds): a few minutes on CPU, where no step takes that long; torch's 30 minutes with CUDA.
CPU_TIMEOUT_S = 300
CUDA_TIMEOUT_S = 1800


def default_dist_timeout() -> int:
    return CUDA_TIMEOUT_S if torch.cuda.is_available() else CPU_TIMEOUT_S


PEER_LOST = ("Connection closed by peer", "Connection reset by peer", "Broken pipe")
"""How gloo reports a collective whose other side went away."""


def node_rank() -> int:
    """This process's node index: torchrun's ``GROUP_RANK``, Slurm's ``SLURM_NODEID``, else 0."""
    return int(os.environ.get("GROUP_RANK", os.environ.get("SLURM_NODEID", "0")))


def host_name() -> str:
    """The node's name: Slurm's ``SLURMD_NODENAME`` inside a job step, else the host name."""
    return os.environ.get("SLURMD_NODENAME") or socket.gethostname()


def gather_peers() -> list[dict]:
    """Every rank's ``rank``, ``node``, ``host`` and ``pid`` (one all-gather at the start of the
    work), so that a rank that loses another can name it; ``[]`` when not distributed."""
    if not (dist.is_available() and dist.is_initialized()):
        return []
    me = dict(rank=dist.get_rank(), node=node_rank(), host=host_name(), pid=os.getpid())
    peers: list = [None] * dist.get_world_size()
    try:
        dist.all_gather_object(peers, me)
    except RuntimeError:  # never let the bookkeeping stop a run
        return []
    return [p for p in peers if p is not None]


def describe_lost_peers(peers: list[dict], rank: int) -> str:
    """The ranks that may have gone: those on other nodes than ``rank``'s (all others when every
    rank shares one node), as ``rank 1 (node 1, host h, pid 123)``."""
    mine = next((p for p in peers if p["rank"] == rank), None)
    others = [p for p in peers if p["rank"] != rank]
    if mine is not None and any(p["node"] != mine["node"] for p in others):
        others = [p for p in others if p["node"] != mine["node"]]
    if not others:
        return "another rank"
    listed = ", ".join(f"rank {p['rank']} (node {p['node']}, host {p['host']}, pid {p['pid']})" for p in others[:4])
    return listed + (" ..." if len(others) > 4 else "")


@contextmanager
def name_hung_ranks() -> Iterator[None]:
    """Turn a collective's failure into an error that says which rank noticed it, which ranks
    it lost and what to do: a time-out (another rank stopped: hung, stopped, killed or out of
    memory) or a closed connection (another rank or its whole node died)."""
    peers = gather_peers()
    try:
        yield
    except RuntimeError as exc:
        text = str(exc)
        if not (dist.is_available() and dist.is_initialized()):
            raise
        rank, world = dist.get_rank(), dist.get_world_size()
        if any(marker in text for marker in PEER_LOST):
            lost = describe_lost_peers(peers, rank)
            raise RuntimeError(
                f"rank {rank} (node {node_rank()}, host {host_name()}) of {world}: the connection "
                f"to {lost} closed during a collective operation: that rank stopped (killed, out of "
                "memory, or its node went down). Ending this rank; once every node is back, start the "
                "job again with --resume (on every node, or in a new allocation): training continues "
                f"from the last complete checkpoint in the work dir. ({text.splitlines()[0][:200]})"
            ) from exc
        if "Timed out" in text or "timeout" in text.lower():
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
    ``SLURM_PROCID``, ``SLURM_NTASKS``, ``SLURM_LOCALID`` and the allocation's first node.

    The master address is that node's ``NodeAddr`` (``scontrol show node``: what the cluster
    reaches it by, which is also its name on clusters whose node names resolve); the port is
    ``MASTER_PORT``, else ``port`` (``env_cfg.dist_cfg.port``), else 29500. Variables already set
    are kept.
    """
    os.environ["RANK"] = os.environ["SLURM_PROCID"]
    os.environ["WORLD_SIZE"] = os.environ["SLURM_NTASKS"]
    os.environ["LOCAL_RANK"] = os.environ.get("SLURM_LOCALID", "0")
    if "MASTER_ADDR" not in os.environ:
        os.environ["MASTER_ADDR"] = first_node_address(os.environ["SLURM_NODELIST"])
    os.environ.setdefault("MASTER_PORT", str(port or 29500))


def first_node_address(nodelist: str) -> str:
    """The address of the first node of a Slurm node list (``n[1-2]``): its ``NodeAddr``, or its
    name when ``scontrol`` does not say."""
    scontrol = ["scontrol", "show", "hostnames", nodelist]
    first = subprocess.run(scontrol, capture_output=True, text=True, check=True).stdout.split()[0]
    node = subprocess.run(["scontrol", "show", "node", first, "-o"], capture_output=True, text=True)
    fields = dict(f.split("=", 1) for f in node.stdout.split() if "=" in f)
    return fields.get("NodeAddr") or first


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


def setup_runtime(cfg: Config) -> Config:
    """Prepare this process for running ``cfg``: the distributed backend for this machine (gloo
    without CUDA; the process group is started here when a launcher is used on CPU), the
    distributed timeout, and ``env_cfg.malloc_mmap_threshold``. Modifies and returns ``cfg``."""
    env = cfg.setdefault("env_cfg", {})
    dist_cfg = env.setdefault("dist_cfg", {})
    if not torch.cuda.is_available() and dist_cfg.get("backend", "nccl") == "nccl":
        dist_cfg["backend"] = "gloo"
    dist_cfg.setdefault("timeout", default_dist_timeout())
    threshold = env.get("malloc_mmap_threshold")
    if threshold:
        set_malloc_mmap_threshold(threshold)
    setup_cpu_distributed(cfg)
    return cfg

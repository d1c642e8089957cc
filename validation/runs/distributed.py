"""Sharding measurements over processes and GPUs with torch.distributed (launched by torchrun).

    torchrun --nproc-per-node N -m validation measure ... --out results/

Under torchrun (RANK and WORLD_SIZE set) each process joins the group (NCCL on
CUDA, gloo on CPU), takes the prefixes with index % world == rank, uses
cuda:LOCAL_RANK when CUDA is present, and writes its shards into the shared
results folder under its own manifest file; after a barrier rank 0 merges
the manifests. A rank that dies leaves its finished shards intact, and a
re-run (distributed or not) completes only what is missing. Outside torchrun
nothing changes: one process, rank 0 of 1.
"""

from __future__ import annotations

import os
from contextlib import contextmanager


def launched_by_torchrun() -> bool:
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ and int(os.environ["WORLD_SIZE"]) > 1


@contextmanager
def process_group(device: str = "auto"):
    """Yield (rank, world, device) and, under torchrun, an initialised process group."""
    if not launched_by_torchrun():
        yield 0, 1, device
        return
    import torch
    import torch.distributed as dist

    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local = int(os.environ.get("LOCAL_RANK", rank))
    cuda = torch.cuda.is_available() and device in ("auto", "cuda")
    if cuda:
        torch.cuda.set_device(local)
    dist.init_process_group("nccl" if cuda else "gloo")
    try:
        yield rank, world, f"cuda:{local}" if cuda else device
    finally:
        dist.destroy_process_group()


def barrier() -> None:
    """Wait for every rank (no-op outside torchrun)."""
    if launched_by_torchrun():
        import torch.distributed as dist

        dist.barrier()

"""Which run a launch of train.py continues, so that a run survives preemption, requeue and lost ranks.

- `--resume`: the newest run of the experiment (narrowed by --run_name, --load_run or --checkpoint); it must exist.
- `--resume auto`: the same when such a run exists, else start it. One command, re-run, continues: put
  `--run_name NAME --resume auto` in a job script and every submission of it continues the run NAME.
- A restart by the scheduler continues the run the job started, with no flag at all: SLURM's requeue keeps
  SLURM_JOB_ID and counts SLURM_RESTART_COUNT; torchrun's elastic restart (`--max-restarts N`) keeps
  TORCHELASTIC_RUN_ID and counts TORCHELASTIC_RESTART_COUNT.

Every launch appends one entry to `<run>/launches.yaml` (when, where, from which iteration, and why), which is
how a restarted job finds its run again and how a person tells how often a run restarted. Under torchrun only
rank 0 decides; every rank then loads the same checkpoint file.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import socket
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import NoReturn

import yaml

from cppo.errors import CppoError, UsageError
from cppo.files import atomic_write_bytes
from cppo.runs import checkpoints, find_run, locate_checkpoint, new_run_dir

LAUNCHES = "launches.yaml"
# The environment variables that name a job across its restarts, and those that count the restarts.
JOB_IDS = ("SLURM_JOB_ID", "TORCHELASTIC_RUN_ID")
RESTART_COUNTS = {"SLURM_RESTART_COUNT": "SLURM requeue", "TORCHELASTIC_RESTART_COUNT": "torchrun restart"}


@dataclass
class Launch:
    """Where this launch writes (None on ranks > 0), what it loads (None: start from scratch) and why."""

    run_dir: Path | None
    checkpoint: Path | None
    reason: str


def distributed_rank(args) -> tuple[int, int, int]:
    """(rank, local rank, world size) from torchrun's environment, checked against --distributed."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size > 1 and not args.distributed:
        raise UsageError(f"launched with WORLD_SIZE={world_size} (torchrun?): add --distributed")
    if args.distributed and "RANK" not in os.environ:
        raise UsageError("--distributed runs under torchrun: torchrun --nproc_per_node N train.py --distributed ...")
    return int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0")), world_size


def job_identity() -> dict[str, str]:
    """The scheduler's names for this job that stay the same when it restarts (none outside a scheduler)."""
    found = {name: os.environ.get(name, "") for name in JOB_IDS}
    return {name: value for name, value in found.items() if value and value != "none"}


def restart_reason() -> str | None:
    """'SLURM requeue 2' / 'torchrun restart 1' when the scheduler restarted this job, else None."""
    for name, what in RESTART_COUNTS.items():
        count = os.environ.get(name, "0")
        if count.isdigit() and int(count) > 0:
            return f"{what} {count}"
    return None


def read_launches(run_dir: Path) -> list[dict]:
    path = run_dir / LAUNCHES
    if not path.is_file():
        return []
    entries = yaml.safe_load(path.read_text())
    return entries if isinstance(entries, list) else []


def record_launch(run_dir: Path, launch: Launch, from_iteration: int, world_size: int) -> None:
    """Append this launch to <run>/launches.yaml (atomically: a kill mid-write keeps the previous list)."""
    entry = {
        "started": datetime.now().isoformat(timespec="seconds"),
        "host": socket.gethostname(),
        "from_iteration": from_iteration,
        "reason": launch.reason,
        "checkpoint": launch.checkpoint.name if launch.checkpoint else None,
        "world_size": world_size,
        **{name.lower(): value for name, value in job_identity().items()},
        **{name.lower(): int(os.environ[name]) for name in RESTART_COUNTS if os.environ.get(name, "").isdigit()},
        "command": " ".join(["train.py", *sys.argv[1:]]),
    }
    atomic_write_bytes(yaml.safe_dump([*read_launches(run_dir), entry], sort_keys=False).encode(), run_dir / LAUNCHES)


def run_of_this_job(log_root: str, experiment: str) -> Path | None:
    """The newest run of the experiment that a launch of this same job started (matched by its job ids)."""
    identity = job_identity()
    root = Path(log_root).expanduser().resolve() / experiment
    if not identity or not root.is_dir():
        return None
    for run_dir in sorted((p for p in root.iterdir() if p.is_dir()), reverse=True):
        for entry in read_launches(run_dir):
            if any(entry.get(name.lower()) == value for name, value in identity.items()):
                return run_dir
    return None


def newest_checkpoint(run_dir: Path) -> Path | None:
    found = checkpoints(run_dir)
    return found[-1] if found else None


def choose_launch(args: argparse.Namespace, experiment: str) -> Launch:
    """Rank 0's decision: continue a run (and from which checkpoint) or start one. Raises CppoError when
    --resume names a run or checkpoint that does not exist."""
    restarted = restart_reason()
    if restarted and not args.resume:
        run_dir = run_of_this_job(args.log_root, experiment)
        if run_dir is not None:
            return Launch(run_dir, newest_checkpoint(run_dir), f"{restarted}: continues its run")
    if not args.resume:
        return Launch(None, None, "new run")
    named = rf".*_{re.escape(args.run_name)}" if args.run_name and not args.load_run else ""
    if args.resume == "auto" and not args.checkpoint:
        try:
            run_dir = find_run(args.log_root, experiment, named or args.load_run)
        except CppoError:
            return Launch(None, None, "--resume auto: no such run yet, starting it")
        if not checkpoints(run_dir):
            return Launch(run_dir, None, "--resume auto: the run saved no checkpoint yet, restarting it")
    checkpoint = locate_checkpoint(args.log_root, experiment, named or args.load_run, args.checkpoint)
    return Launch(checkpoint.parent, checkpoint, f"--resume {args.resume}".replace(" newest", ""))


def open_run_dir(launch: Launch, log_root: str, experiment: str, run_name: str) -> Path:
    """The run folder this launch writes to: the continued one, or a new one."""
    return launch.run_dir if launch.run_dir is not None else new_run_dir(log_root, experiment, run_name)


def continue_wandb_run(run_dir: Path) -> None:
    """One W&B run per run folder (its id derived from the folder), so a continued run appends to the same W&B
    run instead of opening a new one; WANDB_RUN_ID / WANDB_RESUME set by the user win."""
    os.environ.setdefault("WANDB_RUN_ID", hashlib.sha1(str(run_dir.resolve()).encode()).hexdigest()[:16])
    os.environ.setdefault("WANDB_RESUME", "allow")


def share_decision(launch: Launch | None, rank: int, world_size: int) -> Launch:
    """Rank 0's launch for every rank (ranks > 0 get its checkpoint, and write no run folder)."""
    if world_size == 1:
        assert launch is not None
        return launch
    import torch.distributed as dist

    box = [launch if rank == 0 else None]
    dist.broadcast_object_list(box, src=0)
    decided = box[0]
    assert decided is not None
    return decided if rank == 0 else Launch(None, decided.checkpoint, decided.reason)


def start_process_group(device: str, rank: int, world_size: int) -> None:
    """torchrun's process group, before anything else (rank 0's choice of run reaches the other ranks through it);
    NCCL on GPUs, gloo on CPUs. Its keys live under this attempt's own prefix: torchrun keeps one store across
    elastic restarts, where the workers of a restart would otherwise read the dead workers' addresses and never
    connect."""
    import torch
    import torch.distributed as dist
    from torch.distributed.distributed_c10d import PrefixStore  # their public homes (torch.distributed's are private)
    from torch.distributed.rendezvous import rendezvous

    if device.startswith("cuda"):
        torch.cuda.set_device(device)
    store, _, _ = next(rendezvous("env://", rank=rank, world_size=world_size))
    attempt = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")
    dist.init_process_group(
        backend="nccl" if device.startswith("cuda") else "gloo",
        store=PrefixStore(f"cppo/attempt_{attempt}", store),
        rank=rank,
        world_size=world_size,
    )


def leave_process_group(runner, rank: int, world_size: int) -> NoReturn:
    """The end of a distributed rank: check that every rank holds the same parameters, shut the process group down
    together, and leave without Python's interpreter teardown — there gloo's worker threads can still be releasing
    tensors, which aborts the process ("terminate called without an active exception", seen after elastic
    restarts) and turns a finished run into a failed one. Logs and envs are closed before this."""
    import torch.distributed as dist

    if not runner.parameters_in_sync():
        raise CppoError(f"rank {rank}: parameters differ between ranks at the end of training")
    if rank == 0:
        print(f"[cppo] parameters identical on all {world_size} ranks")
    dist.barrier()
    dist.destroy_process_group()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)

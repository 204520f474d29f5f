"""What `python train.py` does, in order: decide the launch (new run or continued), assemble the configs, open the
run folder, start the env, build the runner, learn (offline first when asked), and tell the user what they have.
train.py is its command line; app/cluster.py decides launches across restarts and ranks."""

from __future__ import annotations

import importlib
import random
import statistics
import sys
from pathlib import Path

import yaml

from app.cli import build_configs, build_runner, experiment_of, resolve_device, uses_cpu_sizes
from app.cluster import (
    Launch,
    choose_launch,
    continue_wandb_run,
    distributed_rank,
    leave_process_group,
    open_run_dir,
    record_launch,
    share_decision,
    start_process_group,
)
from cppo import rsl_rl_api
from cppo.algorithms import get_algorithm, with_capability
from cppo.checkpoint import load_checkpoint
from cppo.config import to_plain
from cppo.errors import UsageError
from cppo.runner import Interrupted
from envs import check_assets, make_env


def train(args) -> int:
    """Train as train.py's flags say; returns the exit code."""
    rank, local_rank, world_size = distributed_rank(args)
    device = resolve_device(args.device, local_rank)
    if world_size > 1:
        start_process_group(device, rank, world_size)
    # Rank 0 decides which run this launch continues (if any); every rank loads the same checkpoint. A continued
    # run keeps the configs recorded in its checkpoint; flags and overrides still apply on top.
    launch = share_decision(choose_launch(args, experiment_of(args)) if rank == 0 else None, rank, world_size)
    saved = load_checkpoint(str(launch.checkpoint), "cpu").get("meta") if launch.checkpoint is not None else None
    cpu_sizes = uses_cpu_sizes(args.sizes, device)
    task, env_cfg, agent_cfg = build_configs(args, saved, cpu_sizes)
    datasets = read_datasets(args, world_size)
    check_run_flags(agent_cfg, offline=bool(datasets))
    check_assets(task, env_cfg)
    # Fail on the log directory before spending a minute on JIT compilation. Only rank 0 writes.
    run_dir = open_run(args, launch, agent_cfg) if rank == 0 else None
    if run_dir is not None:
        announce(task, env_cfg, args.algo, device, world_size, run_dir, launch, cpu_sizes and saved is None)

    seed_everything(agent_cfg.seed + rank)  # each rank explores its own env instances; rank 0's parameters win
    env_cfg.seed = agent_cfg.seed + rank
    env = make_env(task, env_cfg, device)
    if run_dir is not None:
        write_params(run_dir, env_cfg, agent_cfg)
    runner = build_runner(env, task.name, args.algo, env_cfg, agent_cfg, device, run_dir)
    runner.add_git_repo_to_log(__file__)
    if launch.checkpoint is not None:
        if rank == 0:
            print(f"[cppo] resuming from {launch.checkpoint}")
        runner.load(str(launch.checkpoint))
    if run_dir is not None:
        record_launch(run_dir, launch, runner.current_learning_iteration, world_size)
    if datasets:
        learn_offline(args, datasets, runner, env, agent_cfg, run_dir, device)
    again = rerun_command(task.name, args.algo, agent_cfg.experiment_name, run_dir, args.log_root)
    code = learn_online(runner, agent_cfg, fresh=launch.checkpoint is None, again=again, offline=bool(datasets))
    if code is not None:
        return code
    if run_dir is not None:  # rank 0
        print_closing_block(runner, run_dir, again, args.log_root, agent_cfg.experiment_name)
    runner.close_logs()
    env.close()
    if world_size > 1:
        leave_process_group(runner, rank, world_size)  # does not return
    return 0


def check_run_flags(agent_cfg, offline: bool) -> None:
    """Iterations and logger, before any env starts."""
    if agent_cfg.max_iterations < 0 or (agent_cfg.max_iterations == 0 and not offline):
        raise UsageError(f"max_iterations must be positive, got {agent_cfg.max_iterations}")
    if agent_cfg.logger == "wandb":
        try:
            importlib.import_module("wandb")  # an optional package: only its presence is checked
        except ImportError:
            raise UsageError("--logger wandb needs the wandb package: pip install wandb") from None


def read_datasets(args, world_size: int) -> dict:
    """--pretrain / --dataset: right algorithm, a new single-process run, datasets that read as datasets
    (before env start-up and before a run folder exists). Returns {flag: dataset}."""
    algorithm = get_algorithm(args.algo)
    if args.pretrain and not algorithm.flow:
        raise UsageError(
            f"--pretrain clones a flow policy: use it with --algo {' or '.join(with_capability('flow'))}, not "
            f"{args.algo}"
        )
    if args.dataset and not algorithm.offline:
        raise UsageError(
            f"--dataset trains offline: use it with --algo {' or '.join(with_capability('offline'))}, not {args.algo}"
        )
    datasets = {flag: path for flag, path in (("pretrain", args.pretrain), ("dataset", args.dataset)) if path}
    if datasets and (args.resume or world_size > 1):
        raise UsageError("--pretrain/--dataset start a new single-process run: drop --resume/--distributed")
    from cppo.dataset import read_transitions

    return {flag: read_transitions(path) for flag, path in datasets.items()}


def open_run(args, launch: Launch, agent_cfg) -> Path:
    """Rank 0's run folder: the continued one or a new one (W&B continues with it)."""
    run_dir = open_run_dir(launch, args.log_root, agent_cfg.experiment_name, agent_cfg.run_name)
    if agent_cfg.logger == "wandb":
        continue_wandb_run(run_dir)
    return run_dir


def announce(task, env_cfg, algo: str, device: str, world_size: int, run_dir, launch, cpu_sizes: bool) -> None:
    """What is about to train, where it logs, and the CPU sizes a GPU-sized task was shrunk to."""
    print(
        f"[cppo] task {task.name} ({task.backend}), algo {algo}, {env_cfg.num_envs} envs on {device}"
        + (f", rank 0 of {world_size}" if world_size > 1 else "")
    )
    print(f"[cppo] logging to {run_dir}" + (f" ({launch.reason})" if launch.run_dir is not None else ""))
    if cpu_sizes and task.cpu_sizes:
        sizes = " ".join(f"{key}={value}" for key, value in task.cpu_sizes.items())
        print(
            f"[cppo] CPU sizes for {task.name}: {sizes} (before flags and overrides; --sizes gpu keeps the GPU "
            "defaults)"
        )


def seed_everything(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def write_params(run_dir: Path, env_cfg, agent_cfg) -> None:
    """<run>/params/{env,agent}.yaml, as Isaac Lab writes them."""
    params = run_dir / "params"
    params.mkdir(exist_ok=True)
    for name, cfg in (("env", env_cfg), ("agent", agent_cfg)):
        (params / f"{name}.yaml").write_text(yaml.safe_dump(to_plain(cfg), sort_keys=False))


def learn_online(runner, agent_cfg, fresh: bool, again: str, offline: bool) -> int | None:
    """The remaining iterations; an exit code when training stops early (a signal) or has nothing to do."""
    if offline and agent_cfg.max_iterations == 0:
        return 0
    remaining = agent_cfg.max_iterations - runner.current_learning_iteration
    if remaining <= 0:
        print(
            f"[cppo] run already has {runner.current_learning_iteration} of {agent_cfg.max_iterations} iterations; "
            "nothing to do"
        )
        return 0
    try:
        runner.learn(remaining, init_at_random_ep_len=agent_cfg.init_at_random_ep_len and fresh)
    except Interrupted as stop:
        saved_to = (
            f"saved {stop.checkpoint}; resume with: {again} --resume" if stop.checkpoint else "rank > 0 saves nothing"
        )
        print(f"[cppo] interrupted by {stop}: {saved_to}", file=sys.stderr)
        return stop.exit_code
    return None


def learn_offline(args, datasets: dict, runner, env, agent_cfg, run_dir, device: str) -> None:
    """Behaviour cloning and/or offline DIPOLE on recorded datasets; saves <run>/model_offline.pt."""
    from cppo.dataset import fit_to_env
    from cppo.offline import pretrain

    cfg, alg = agent_cfg.offline, runner.alg
    widths = {name: value.shape[-1] for name, value in env.get_observations().items()}
    if args.pretrain:
        data = fit_to_env(datasets["pretrain"], args.pretrain, device, widths, env.num_actions)
        loss = pretrain(alg, data, cfg.pretrain_steps, cfg.batch_size)
        print(
            f"[cppo] cloned the flow policy from {len(data)} transitions of {args.pretrain}: {cfg.pretrain_steps} "
            f"steps, flow-matching loss {loss:.4f}"
        )
    if args.dataset:
        data = fit_to_env(datasets["dataset"], args.dataset, device, widths, env.num_actions)
        offline_dipole(data, args.dataset, runner, agent_cfg, run_dir)
    if run_dir is not None:
        runner.save(str(run_dir / "model_offline.pt"))
        print(
            f"[cppo] saved {run_dir / 'model_offline.pt'} (play it: python play.py ... --checkpoint model_offline.pt)"
        )


def offline_dipole(data, name: str, runner, agent_cfg, run_dir) -> None:
    """Offline DIPOLE (IQL critic) on a dataset, its losses under Offline/ in TensorBoard."""
    from torch.utils.tensorboard import SummaryWriter

    from cppo.offline import train_offline

    cfg = agent_cfg.offline
    print(f"[cppo] offline DIPOLE on {len(data)} transitions of {name}: {cfg.steps} steps")
    writer = SummaryWriter(str(run_dir)) if run_dir is not None else None

    def log(step: int, losses: dict[str, float]) -> None:
        for key, value in losses.items():
            if writer is not None:
                writer.add_scalar(f"Offline/{key}", value, step)
        if step % 2000 == 0 or step == cfg.steps - 1:
            print(
                f"[cppo] offline step {step + 1}/{cfg.steps}: " + ", ".join(f"{k} {v:.4f}" for k, v in losses.items())
            )

    train_offline(runner.alg, data, cfg, cfg.q_hidden_dims, agent_cfg.policy.activation, log)
    if writer is not None:
        writer.close()


def rerun_command(task: str, algo: str, experiment: str, run_dir: Path | None, log_root: str) -> str:
    """The flags that name this run again (for play.py, export and --resume)."""
    flags = f"--task {task} --algo {algo}" + (
        f" --experiment_name {experiment}" if experiment != f"{task}_{algo}" else ""
    )
    if run_dir is not None:
        flags += f" --load_run {run_dir.name}" + (f" --log_root {log_root}" if log_root != "logs" else "")
    return f"python train.py {flags}"


def print_closing_block(runner, run_dir: Path, again: str, log_root: str, experiment: str) -> None:
    """What the user has now: returns, checkpoints, and the commands to look at them."""
    returns = rsl_rl_api.episode_returns(runner.logger)
    final = f"{statistics.mean(returns):.1f}" if returns else "n/a (no episode ended)"
    best = f"{runner.best_return:.1f} (model_best.pt)" if runner.best_return > -float("inf") else "n/a"
    play = again.replace("train.py", "play.py")
    print(f"[cppo] done: {runner.current_learning_iteration + 1} iterations; final mean return {final}, best {best}")
    print(f"[cppo]   checkpoints  {runner.last_saved} (last), {run_dir / 'model_best.pt'}")
    print(f"[cppo]   play         {play}")
    print(f"[cppo]   export       {play} --export_only   (writes {run_dir / 'exported'}/policy.onnx)")
    print(f"[cppo]   tensorboard  tensorboard --logdir {Path(log_root) / experiment}")

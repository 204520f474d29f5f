"""What train.py, play.py and bench/ share: Isaac Lab-style flags, one-line errors, config assembly, checkpoint
lookup, the task list and building a runner."""

from __future__ import annotations

import argparse
import re
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

from cppo import runs
from cppo.algorithms import REGISTRY as ALGORITHMS
from cppo.algorithms import get_algorithm
from cppo.checks import validate
from cppo.config import apply_overrides, apply_values, update_from_plain
from cppo.errors import CppoError, UsageError
from tasks import DEFAULT_ALGORITHM, DEFAULT_TASK, get_task


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (plus exit code 2), not a usage dump."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def add_task_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--task", default=None, help="task name (default: CartpoleBalance); --list shows all")
    parser.add_argument(
        "--algo",
        default=None,
        help="algorithm: " + "; ".join(f"{name}: {a.summary}" for name, a in ALGORITHMS.items()),
    )
    parser.add_argument(
        "--num_envs", type=int, default=None, help="number of parallel envs (overrides the task default)"
    )
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: the agent config's)")
    parser.add_argument(
        "--device", default=None, help="torch/JAX device, e.g. cpu or cuda:0 (default: cuda:0 if available)"
    )
    parser.add_argument("--experiment_name", default=None, help="log folder under --log_root (default: <task>_<algo>)")
    parser.add_argument("--load_run", default="", help="run folder name or regex (default: newest run)")
    parser.add_argument(
        "--checkpoint",
        default="",
        help="checkpoint file: a path, a name or regex inside the run, or 'latest' (the default)",
    )
    parser.add_argument("--log_root", default="logs", help="root of all logs (default: logs)")
    parser.add_argument(
        "--menagerie_dir",
        "--menagerie-dir",
        default=None,
        help="local mujoco_menagerie folder for robot models (or set CPPO_MENAGERIE_DIR)",
    )
    parser.add_argument(
        "--list", action="store_true", help="list every task with its backend and algorithms, then exit"
    )
    parser.add_argument(
        "overrides",
        nargs="*",
        metavar="KEY=VALUE",
        help="config overrides, e.g. env.num_envs=512 agent.algorithm.learning_rate=3e-4 "
        "agent.policy.actor_hidden_dims=64,64",
    )


def parse_train_args(argv: list[str] | None) -> argparse.Namespace:
    """train.py's flags (bench/compare.py resolves a run's size through them too)."""
    parser = Parser(prog="train.py", description="Train a policy on a registered task.")
    add_task_flags(parser)
    parser.add_argument("--max_iterations", type=int, default=None, help="total training iterations")
    parser.add_argument("--run_name", default=None, help="suffix of the run folder name")
    parser.add_argument(
        "--resume",
        nargs="?",
        const="newest",
        choices=["newest", "auto"],
        help="continue the newest run (or --run_name's, --load_run's, --checkpoint's) in its folder; --resume auto: "
        "the same if that run exists, else start it (one command that continues when re-run; docs/cluster.md)",
    )
    parser.add_argument("--logger", default=None, choices=["tensorboard", "wandb"], help="default: tensorboard")
    parser.add_argument(
        "--sizes",
        choices=["auto", "gpu", "cpu"],
        default="auto",
        help="GPU-sized tasks (locomotion): their GPU defaults, or the small CPU sizes; auto: by device (default)",
    )
    parser.add_argument(
        "--pretrain",
        default=None,
        metavar="FILE",
        help="cppo/dipole: first clone the flow policy from a dataset recorded by play.py --record (flow matching)",
    )
    parser.add_argument(
        "--dataset",
        default=None,
        metavar="FILE",
        help="dipole: first train offline on a recorded dataset (IQL critic), then continue online; "
        "--max_iterations 0 stops after the offline phase",
    )
    parser.add_argument(
        "--distributed",
        action="store_true",
        help="multi-process training under torchrun: one env per rank (seed + rank), gradients all-reduced; NCCL on "
        "GPUs, gloo on CPUs",
    )
    return parser.parse_intermixed_args(resume_with_its_value(sys.argv[1:] if argv is None else argv))


def resume_with_its_value(argv: list[str]) -> list[str]:
    """`--resume auto` → `--resume=auto`, a bare `--resume` → `--resume=newest`, so the optional value never
    swallows a key=value override that follows (`--resume env.num_envs=8`)."""
    out, i = [], 0
    while i < len(argv):
        if argv[i] == "--resume":
            auto = i + 1 < len(argv) and argv[i + 1] == "auto"
            out.append("--resume=auto" if auto else "--resume=newest")
            i += 2 if auto else 1
        else:
            out.append(argv[i])
            i += 1
    return out


def check_names_early(args: argparse.Namespace, overrides_too: bool) -> None:
    """Refuse a mistyped task, algorithm or override before torch and rsl_rl are imported (seconds), in the same
    words build_configs would. Overrides are checked only when `overrides_too` says the flags alone decide the
    configs (a new run): a continued run takes its algorithm and configs from its checkpoint first."""
    if args.algo:
        get_algorithm(args.algo)
    name = args.task or DEFAULT_TASK
    if name.startswith("Isaac-"):
        return  # its configs come from Isaac Lab's registry: read once, by build_configs
    task = get_task(name)
    if overrides_too and args.overrides:
        roots = {"env": task.env_cfg(), "agent": task.agent_cfg(args.algo or DEFAULT_ALGORITHM)}
        apply_overrides(roots, args.overrides)


def uses_cpu_sizes(sizes: str, device: str) -> bool:
    """--sizes: the GPU-sized tasks' small CPU sizes on a CPU device (auto), always (cpu) or never (gpu)."""
    return sizes == "cpu" or (sizes == "auto" and device.startswith("cpu"))


def build_runner(env, task: str, algo: str, env_cfg, agent_cfg, device: str, run_dir: Path | None = None):
    """The runner of one run: the critic on the env's "critic" observations where it has them, the run's
    record ("meta") in every checkpoint, logs under `run_dir` (None: no logs)."""
    from cppo.checkpoint import run_meta
    from cppo.config import to_plain
    from cppo.runner import Runner

    critic_group = "critic" if "critic" in env.get_observations().keys() else "policy"
    meta = run_meta(task, algo, env, to_plain(env_cfg), to_plain(agent_cfg))
    log_dir = str(run_dir) if run_dir is not None else None
    return Runner(env, agent_cfg.to_runner_dict(critic_group), log_dir=log_dir, device=device, meta=meta)


def default_device(index: int = 0) -> str:
    import torch

    return f"cuda:{index}" if torch.cuda.is_available() else "cpu"


def resolve_device(requested: str | None, index: int = 0) -> str:
    """--device, checked before anything is built: a torch device this machine has (cpu, cuda, cuda:N)."""
    import torch

    if requested is None:
        return default_device(index)
    try:
        device = torch.device(requested)
    except RuntimeError:
        raise UsageError(f"--device {requested}: not a torch device (e.g. cpu, cuda, cuda:0)") from None
    if device.type == "cpu":
        return requested
    if device.type != "cuda":
        raise UsageError(f"--device {requested}: cppo trains on cpu or cuda devices")
    if not torch.cuda.is_available():
        raise UsageError(f"--device {requested}: this torch ({torch.__version__}) sees no CUDA GPU; use --device cpu")
    if device.index is not None and device.index >= torch.cuda.device_count():
        raise UsageError(f"--device {requested}: this machine has {torch.cuda.device_count()} CUDA GPU(s)")
    return requested


def build_configs(args: argparse.Namespace, saved: dict | None = None, cpu_sizes: bool = False):
    """Registry defaults ← the task's CPU sizes (if `cpu_sizes`) ← a checkpoint's recorded configs (`saved`,
    its "meta") ← flags ← key=value overrides.

    The recorded env config is used only for the task it was recorded on (a policy may be played on a
    sibling task, e.g. flat → rough terrain). Returns (task, env_cfg, agent_cfg) and sets args.algo.
    """
    saved = saved or {}
    task = get_task(args.task or saved.get("task") or DEFAULT_TASK)
    args.algo = args.algo or saved.get("algo") or DEFAULT_ALGORITHM
    env_cfg, agent_cfg = task.env_cfg(), task.agent_cfg(args.algo)
    if cpu_sizes:
        apply_values({"env": env_cfg, "agent": agent_cfg}, task.cpu_sizes)
    if saved.get("algo") == args.algo:
        update_from_plain(agent_cfg, saved["agent_cfg"])
        if saved["task"] == task.name:
            update_from_plain(env_cfg, saved["env_cfg"])
    if args.num_envs is not None:
        env_cfg.num_envs = args.num_envs
    if args.seed is not None:
        agent_cfg.seed = args.seed
    if args.menagerie_dir is not None:
        env_cfg.menagerie_dir = args.menagerie_dir
    for flag in ("max_iterations", "experiment_name", "run_name", "logger"):
        value = getattr(args, flag, None)
        if value is not None:
            setattr(agent_cfg, flag, value)
    apply_overrides({"env": env_cfg, "agent": agent_cfg}, args.overrides)
    agent_cfg.experiment_name = agent_cfg.experiment_name or f"{task.name}_{args.algo}"
    env_cfg.seed = agent_cfg.seed
    validate(env_cfg, "env.")
    validate(agent_cfg, "agent.")
    agent_cfg.check_batch(env_cfg.num_envs)
    if agent_cfg.torch_compile_mode != "none" and not get_algorithm(args.algo).torch_compile:
        compiled = ", ".join(name for name, a in ALGORITHMS.items() if a.torch_compile)
        raise UsageError(
            f"agent.torch_compile_mode={agent_cfg.torch_compile_mode} applies to {compiled} only; "
            f"{args.algo} replays its sampler from CUDA graphs on a GPU instead (agent.algorithm.cuda_graphs)"
        )
    return task, env_cfg, agent_cfg


def experiment_of(args: argparse.Namespace) -> str:
    """The experiment folder a run of these flags lives in: --experiment_name, else <task>_<algo>."""
    return args.experiment_name or f"{get_task(args.task or DEFAULT_TASK).name}_{args.algo or DEFAULT_ALGORITHM}"


def locate_checkpoint(args: argparse.Namespace) -> Path:
    """The checkpoint --checkpoint / --load_run / --log_root / --experiment_name name (cppo.runs.locate_checkpoint)."""
    return runs.locate_checkpoint(args.log_root, experiment_of(args), args.load_run, args.checkpoint)


def print_task_list() -> None:
    from tasks import DEFAULT_TASK, REGISTRY

    width = max(len(name) for name in REGISTRY)
    print(f"{'task':<{width}}  backend     algorithms")
    for name, spec in sorted(REGISTRY.items()):
        default = "  (default)" if name == DEFAULT_TASK else ""
        print(f"{name:<{width}}  {spec.backend:<10}  {','.join(ALGORITHMS)}{default}")
    algos = ",".join(ALGORITHMS)
    import importlib.util

    if importlib.util.find_spec("isaaclab_tasks") is None:
        print(
            f"{'Isaac-*':<{width}}  isaaclab    {algos}  (any Isaac Lab 3 task id, e.g. Isaac-Cartpole; not installed)"
        )
        return
    from envs.isaaclab import task_ids

    for name in task_ids():
        print(f"{name:<{width}}  isaaclab    {algos}")


def run_main(prog: str, main: Callable[[list[str] | None], int], argv: list[str] | None = None) -> int:
    """Run a CLI entry point: user errors become one line on stderr and their exit code."""
    try:
        return main(argv)
    except CppoError as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("interrupted; checkpoints written so far are intact", file=sys.stderr)
        return 130
    except Exception as err:
        if out_of_memory(err):  # e.g. --num_envs far beyond the machine
            print(f"{prog}: error: out of memory ({out_of_memory(err)}): lower --num_envs", file=sys.stderr)
            return 1
        traceback.print_exc()  # a bug, not a user error: keep the traceback
        return 1


def out_of_memory(err: Exception) -> str:
    """What an allocation failure tried ("tried to allocate 8.00 GiB"), or "" for any other error."""
    message = str(err)
    if (
        not isinstance(err, MemoryError)
        and type(err).__name__ != "OutOfMemoryError"
        and "can't allocate memory" not in message
    ):
        return ""
    tried = re.search(r"tried to allocate [\d.]+ ?\w+", message)
    return tried.group(0) if tried else "allocation failed"

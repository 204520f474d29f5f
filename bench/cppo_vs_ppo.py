"""Time per iteration and peak memory of CPPO (K = 4, 8, 16 flow steps) vs PPO on the same task, envs and
steps per env, measured side by side in one run and printed as ratios to PPO.

    python bench/cppo_vs_ppo.py --task CartpoleBalance --num_envs 256 --iterations 20 --repeats 2

Each configuration runs in its own process (so peak memory is its own), interleaved over repeats so that
machine noise hits every configuration alike; the table reports the median time per iteration over
repeats. Memory: peak resident set size on the CPU, torch.cuda.max_memory_allocated on a GPU (the JAX
simulator's memory is not included on a GPU).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def worker(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(ROOT))
    import resource

    import torch

    import tasks
    from app.cli import build_runner
    from cppo.cppo.config import CPPOCfg
    from envs import make_env

    task = tasks.get_task(args.task)
    env_cfg, agent_cfg = task.env_cfg(), task.agent_cfg(args.algo)
    env_cfg.num_envs = args.num_envs
    if args.flow_steps:
        assert isinstance(agent_cfg.algorithm, CPPOCfg)  # --flow_steps is given to the cppo workers only
        agent_cfg.algorithm.flow_steps = args.flow_steps
        agent_cfg.algorithm.cuda_graphs = not args.eager
    torch.manual_seed(0)
    env = make_env(task, env_cfg, args.device)
    runner = build_runner(env, task.name, args.algo, env_cfg, agent_cfg, args.device)
    runner.learn(2)  # JIT compilation and allocator warm-up
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    runner.learn(args.iterations)
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
        peak_mb = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    seconds = (time.perf_counter() - start) / args.iterations
    print("RESULT " + json.dumps({"seconds_per_iteration": seconds, "peak_mb": peak_mb}))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--task", default="CartpoleBalance")
    parser.add_argument("--num_envs", type=int, default=256)
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--flow_steps", default="4,8,16")
    parser.add_argument("--device", default=None)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--algo", default="ppo", help=argparse.SUPPRESS)
    parser.add_argument("--eager", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.device is None:
        import torch

        args.device = "cuda:0" if torch.cuda.is_available() else "cpu"
    if args.worker:
        args.flow_steps = int(args.flow_steps)
        worker(args)
        return

    # (algo, K, eager): on a GPU, K = 8 also runs without CUDA graphs to show what they save.
    configs = [("ppo", 0, False)] + [("cppo", int(k), False) for k in args.flow_steps.split(",")]
    if args.device.startswith("cuda"):
        configs.append(("cppo", 8, True))
    results: dict[tuple, list[dict]] = {c: [] for c in configs}
    for _ in range(args.repeats):
        for algo, steps, eager in configs:
            command = [sys.executable, __file__, "--worker", "--algo", algo, "--flow_steps", str(steps), "--task",
                       args.task, "--num_envs", str(args.num_envs), "--iterations", str(args.iterations), "--device",
                       args.device, *(["--eager"] if eager else [])]  # fmt: skip
            out = subprocess.run(
                command, capture_output=True, text=True, cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"}
            )
            line = next((text for text in out.stdout.splitlines() if text.startswith("RESULT ")), None)
            if line is None:
                sys.exit(f"{algo} K={steps} failed:\n{out.stderr[-2000:]}")
            results[(algo, steps, eager)].append(json.loads(line[7:]))

    def median(config, key):
        return statistics.median(r[key] for r in results[config])

    base_time, base_mem = median(configs[0], "seconds_per_iteration"), median(configs[0], "peak_mb")
    print(
        f"task {args.task}, {args.num_envs} envs, device {args.device}, {args.iterations} iterations x "
        f"{args.repeats} repeats"
    )
    print(f"{'algorithm':<18} {'s/iteration':>12} {'time ratio':>11} {'peak MB':>9} {'memory ratio':>13}")
    for config in configs:
        name = "ppo" if config[0] == "ppo" else f"cppo K={config[1]}" + (" eager" if config[2] else "")
        t, m = median(config, "seconds_per_iteration"), median(config, "peak_mb")
        print(f"{name:<18} {t:>12.4f} {t / base_time:>11.2f} {m:>9.0f} {m / base_mem:>13.2f}")


if __name__ == "__main__":
    main()

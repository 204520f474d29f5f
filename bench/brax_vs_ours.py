"""Locomotion training throughput side by side: Playground's own brax PPO and our train.py (ppo, cppo) on the
same task, sizes and machine, one after the other. Prints end-to-end env steps/s (compilation excluded and
reported separately) and the ratio ours / brax.

    python bench/brax_vs_ours.py --num_envs 64 --steps 200000                # CPU sizes
    python bench/brax_vs_ours.py --num_envs 64 --steps 200000 --repeats 3    # the median of 3 rounds (noisy machines)
    python bench/brax_vs_ours.py --num_envs 8192 --mini_batches 32 --steps 20000000   # GPU sizes (published)

brax: `brax.training.agents.ppo.train` with `mujoco_playground.config.locomotion_params` (the task's
published settings), the task's domain randomizer and `wrapper.wrap_for_brax_training`, overridden to the
sizes here. Both trainers do the same work per env step: one unroll of 20 steps of every env per update, split
into --mini_batches mini-batches, the task's epochs (brax's `num_updates_per_batch`). brax collects
batch_size × num_minibatches trajectories per update, so its batch_size is num_envs / mini-batches (with
batch_size = num_envs it would collect 4 unrolls per update at 4 mini-batches: a quarter of our gradient steps
per env step). At 8192 envs and 32 mini-batches this is the task's published brax config. Its rate is the wall clock
between the second and the last `progress_fn` call (the first comes after compilation; brax's own
`training/sps` metric is not wall-clock time); the interval includes one evaluation episode of
--eval_envs envs, so brax's training alone is somewhat faster than printed.
ours: `train.py` with the same sizes; its rate is env steps over the summed collection + learning time of
every iteration after the first two (which compile), as logged to TensorBoard (Perf/*).
"""

from __future__ import annotations

import argparse
import functools
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
UNROLL = 20


def brax_rate(
    task: str, num_envs: int, mini_batches: int, steps: int, eval_envs: int, menagerie_dir: str, impl: str
) -> dict:
    """Playground's brax PPO, timed between progress reports. Runs in this process."""
    import jax
    import jax.numpy as jp

    if not hasattr(jax, "device_put_replicated"):  # brax 0.14 calls it; JAX 0.10 removed it
        jax.device_put_replicated = lambda x, devices: jax.device_put(  # type: ignore[attr-defined]
            jax.tree.map(lambda a: jp.stack([a] * len(devices)), x), devices[0]
        )
    from brax.training.agents.ppo import networks as ppo_networks
    from brax.training.agents.ppo import train as ppo
    from mujoco_playground import registry, wrapper
    from mujoco_playground.config import locomotion_params

    import tasks
    from envs.playground import use_menagerie

    use_menagerie(menagerie_dir, tasks.get_task(task).menagerie_robot, task)
    published: Any = locomotion_params.brax_ppo_config(task)  # a ConfigDict
    params: dict[str, Any] = {key: value for key, value in published.items() if key != "network_factory"}
    params.update(
        num_envs=num_envs,
        batch_size=num_envs // mini_batches,  # one unroll of every env per update, as ours
        num_minibatches=mini_batches,
        unroll_length=UNROLL,
        num_timesteps=steps,
        num_evals=3,
        num_eval_envs=eval_envs,
    )
    network_factory = functools.partial(ppo_networks.make_ppo_networks, **published.network_factory)
    reports: list[tuple[float, int]] = []
    started = time.perf_counter()
    train: Any = ppo.train
    train(
        environment=registry.load(task, config_overrides={"impl": impl}),
        eval_env=registry.load(task, config_overrides={"impl": impl}),
        wrap_env_fn=wrapper.wrap_for_brax_training,
        randomization_fn=registry.get_domain_randomizer(task),
        network_factory=network_factory,
        progress_fn=lambda step, metrics: reports.append((time.perf_counter(), int(step))),
        **params,
    )
    (t1, s1), (t2, s2) = reports[1], reports[-1]
    return {"steps_per_s": (s2 - s1) / (t2 - t1), "startup_s": reports[0][0] - started, "steps": s2}


def our_rate(task: str, algo: str, num_envs: int, mini_batches: int, steps: int, menagerie_dir: str, impl: str) -> dict:
    """train.py in a subprocess, timed from its TensorBoard Perf/* scalars."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    iterations = max(4, steps // (num_envs * UNROLL))
    with tempfile.TemporaryDirectory() as logs:
        command = [
            sys.executable, str(ROOT / "train.py"), "--task", task, "--algo", algo, "--num_envs", str(num_envs),
            "--menagerie_dir", menagerie_dir, "--log_root", logs, "--max_iterations", str(iterations),
            f"agent.num_steps_per_env={UNROLL}", f"agent.algorithm.num_mini_batches={mini_batches}", f"env.impl={impl}",
        ]  # fmt: skip
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, text=True)
        wall = time.perf_counter() - started
        (run,) = Path(logs).glob(f"{task}_{algo}/*")
        events = EventAccumulator(str(run))
        events.Reload()
        collect = [e.value for e in events.Scalars("Perf/collection_time")]
        learn = [e.value for e in events.Scalars("Perf/learning_time")]
    timed = sum(collect[2:]) + sum(learn[2:])
    return {
        "steps_per_s": num_envs * UNROLL * (len(collect) - 2) / timed,
        "startup_s": wall - sum(collect) - sum(learn),
        "steps": num_envs * UNROLL * len(collect),
        "collection_share": sum(collect[2:]) / timed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Training throughput: Playground's brax PPO vs our train.py")
    parser.add_argument("--task", default="Go1JoystickFlatTerrain")
    parser.add_argument("--num_envs", type=int, default=64)
    parser.add_argument("--mini_batches", type=int, default=4, help="per update, both trainers (default: 4)")
    parser.add_argument("--steps", type=int, default=200_000, help="env steps per trainer (a fixed budget)")
    parser.add_argument("--eval_envs", type=int, default=8, help="brax's evaluation envs (its interval holds one)")
    parser.add_argument("--algos", default="ppo,cppo")
    parser.add_argument("--impl", default="jax", choices=["jax", "warp"], help="MJX backend, for both trainers")
    parser.add_argument("--menagerie_dir", default=str(ROOT.parent / "shared" / "menagerie"))
    parser.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="rounds of brax-then-ours (the machine drifts between runs: with several, the median ratio is printed)",
    )
    parser.add_argument("--only", choices=["brax"], default=None, help=argparse.SUPPRESS)  # the brax child
    args = parser.parse_args()
    if args.repeats < 1:
        parser.error(f"--repeats {args.repeats}: give at least 1")
    if args.num_envs % args.mini_batches:
        parser.error(f"--mini_batches {args.mini_batches} must divide --num_envs {args.num_envs}")
    if args.only == "brax":
        sizes = (args.num_envs, args.mini_batches, args.steps, args.eval_envs)
        rate = brax_rate(args.task, *sizes, args.menagerie_dir, args.impl)
        print(json.dumps(rate))
        return
    ratios: dict[str, list[float]] = {}
    for repeat in range(args.repeats):
        results = one_round(args)
        brax = results["brax ppo"]["steps_per_s"]
        print(f"{args.task}, impl={args.impl}, {args.num_envs} envs, unroll {UNROLL}, {args.mini_batches} "
              f"mini-batches, ~{args.steps} steps each (round {repeat + 1} of {args.repeats})\n")  # fmt: skip
        print("| trainer | env steps/s | ours / brax | start-up + compile s | collection share |")
        print("|---|---:|---:|---:|---:|")
        for name, r in results.items():
            share = f"{r['collection_share']:.0%}" if "collection_share" in r else "-"
            print(
                f"| {name} | {r['steps_per_s']:,.0f} | {r['steps_per_s'] / brax:.2f} | {r['startup_s']:.0f} | {share} |"
            )
            if name != "brax ppo":
                ratios.setdefault(name, []).append(r["steps_per_s"] / brax)
        print(flush=True)
    if args.repeats > 1:
        for name, values in ratios.items():
            print(f"{name} / brax over {args.repeats} rounds: median {statistics.median(values):.2f}, "
                  f"range {min(values):.2f}–{max(values):.2f}")  # fmt: skip


def one_round(args) -> dict[str, dict]:
    """brax, then ours for each algorithm, one after the other: their rates (and start-up) in one dict."""
    # brax in its own process, so its JAX state and compilation cache do not help or hurt ours.
    child = [sys.executable, __file__, "--only", "brax", "--task", args.task, "--num_envs", str(args.num_envs),
             "--mini_batches", str(args.mini_batches), "--steps", str(args.steps), "--eval_envs", str(args.eval_envs),
             "--menagerie_dir", args.menagerie_dir, "--impl", args.impl]  # fmt: skip
    done = subprocess.run(child, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"brax PPO failed:\n{done.stderr[-3000:]}")
    results = {"brax ppo": json.loads(done.stdout.strip().splitlines()[-1])}
    for algo in args.algos.split(","):
        sizes = (args.num_envs, args.mini_batches, args.steps)
        results[f"ours {algo}"] = our_rate(args.task, algo, *sizes, args.menagerie_dir, args.impl)
    return results


if __name__ == "__main__":
    main()

"""PPO, CPPO (and later DIPOLE) side by side at an equal budget of environment steps.

Each (task, algo, seed) trains through the normal `train.py` path, one run after another (so timings do not
compete for cores). The harness reads the runs' TensorBoard scalars back and writes `<out>/compare.md`
(final return mean ± std over seeds, steps/s, time per iteration, peak memory) and `<out>/<task>.png`
(return vs env steps and vs wall time, shaded min–max over seeds).

    python bench/compare.py --tasks CartpoleBalance,MultiGoal --algos ppo,cppo --seeds 3 --budget 1250000

Resumable: a finished run leaves `<out>/runs/<task>_<algo>_seed<k>.json`; a rerun reads it back. An
interrupted run is started again from scratch (its timing would mix two processes). Flags after `--` go
to every train.py call, e.g. `-- --device cuda:0 env.num_envs=8192`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RETURN, COLLECT, LEARN, FPS = "Train/mean_reward", "Perf/collection_time", "Perf/learning_time", "Perf/total_fps"


def read_scalars(run_dir: Path, tag: str) -> list[tuple[int, float, float]]:
    """(iteration, value, wall-clock time) of every logged value of `tag`."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    events.Reload()
    return [(e.step, e.value, e.wall_time) for e in events.Scalars(tag)] if tag in events.Tags()["scalars"] else []


def run_size(task: str, algo: str, train_flags: list[str]) -> tuple[int, int, str]:
    """Env steps per iteration and default iterations of a train.py call, resolved exactly as train.py
    resolves its configs; and the device it will run on."""
    from app.cli import build_configs, default_device, parse_train_args, uses_cpu_sizes

    args = parse_train_args(["--task", task, "--algo", algo, *train_flags])
    device = args.device or default_device()
    _, env_cfg, agent_cfg = build_configs(args, None, uses_cpu_sizes(args.sizes, device))
    return env_cfg.num_envs * agent_cfg.num_steps_per_env, agent_cfg.max_iterations, device


class GpuMemoryPeak:
    """Peak GPU memory of one process (torch and JAX together), sampled from nvidia-smi twice a second."""

    def __init__(self, pid: int):
        self.pid, self.peak_mb, self.stopped = pid, 0.0, threading.Event()
        self.thread = threading.Thread(target=self.sample, daemon=True)
        self.thread.start()

    def sample(self) -> None:
        query = ["nvidia-smi", "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"]
        while not self.stopped.wait(0.5):
            lines = subprocess.run(query, capture_output=True, text=True).stdout.splitlines()
            for pid, used in (line.split(",") for line in lines if "," in line):
                if int(pid) == self.pid:
                    self.peak_mb = max(self.peak_mb, float(used))

    def stop(self) -> float:
        self.stopped.set()
        self.thread.join()
        return self.peak_mb


def run_name(task: str, label: str, seed: int) -> str:
    """The experiment folder of one (task, algorithm variant, seed), and the stem of its summary files."""
    return f"{task}_{label}_seed{seed}"


def train_once(
    out: Path, task: str, algo: str, seed: int, budget: int, train_flags: list[str], label: str = ""
) -> dict:
    """Train one (task, algo, seed) unless its result file exists; return its summary. `budget`: env steps
    (0: the task's default iterations); `label` names a variant of the algorithm (default: the algo)."""
    runs = out / "runs"
    experiment = run_name(task, label or algo, seed)
    result_file = runs / f"{experiment}.json"
    if result_file.is_file():
        return json.loads(result_file.read_text())
    shutil.rmtree(runs / experiment, ignore_errors=True)  # left by an interrupted comparison
    steps_per_iteration, default_iterations, device = run_size(task, algo, train_flags)
    iterations = -(-budget // steps_per_iteration) if budget else default_iterations
    command = [sys.executable, str(ROOT / "train.py"), "--task", task, "--algo", algo, "--seed", str(seed),
               "--log_root", str(runs), "--experiment_name", experiment, "--max_iterations", str(iterations),
               *train_flags]  # fmt: skip
    runs.mkdir(parents=True, exist_ok=True)
    log = runs / f"{experiment}.log"
    print(f"[compare] {experiment}: {iterations} iterations × {steps_per_iteration} steps", flush=True)
    start = time.time()
    with log.open("w") as stdout:
        process = subprocess.Popen(command, cwd=ROOT, stdout=stdout, stderr=subprocess.STDOUT)
        gpu = GpuMemoryPeak(process.pid) if device.startswith("cuda") else None
        _, status, usage = os.wait4(process.pid, 0)  # this child's own peak RSS, not all children's
        process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.time() - start
    if process.returncode != 0:
        lines = log.read_text().strip().splitlines()
        error = lines[-1] if lines else f"exit {process.returncode}"
        return {"task": task, "algo": algo, "seed": seed, "error": error, "log": str(log)}

    (run_dir,) = (runs / experiment).iterdir()
    curve = read_scalars(run_dir, RETURN)
    collect, learn = read_scalars(run_dir, COLLECT), read_scalars(run_dir, LEARN)
    summary = {
        "task": task, "algo": algo, "label": label or algo, "seed": seed, "device": device,
        "run_dir": str(run_dir.relative_to(out)),
        "iterations": iterations, "env_steps": iterations * steps_per_iteration,
        "final_return": curve[-1][1] if curve else float("nan"),
        # x-axes: env steps at the end of each logged iteration, and seconds since the process started
        "curve": [((it + 1) * steps_per_iteration, value, wall_time - start) for it, value, wall_time in curve],
        "seconds_per_iteration": statistics.mean(c[1] + learned[1] for c, learned in zip(collect, learn, strict=True)),
        "training_steps_per_s": statistics.mean(v for _, v, _ in read_scalars(run_dir, FPS)),
        "end_to_end_steps_per_s": iterations * steps_per_iteration / wall,
        "wall_s": wall,
        "peak_memory_mb": gpu.stop() if gpu else usage.ru_maxrss / 1024,
        "memory": "GPU" if gpu else "RSS",
    }  # fmt: skip
    partial = result_file.with_suffix(".json.tmp")
    partial.write_text(json.dumps(summary))
    os.replace(partial, result_file)  # the run counts as finished only once its summary is complete
    return summary


def mean_std(values: list[float], digits: int = 1) -> str:
    """The mean ± std over seeds; one seed has no spread to show, only its value."""
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def by_task_and_algo(results: list[dict]) -> list[tuple[tuple[str, str], list[dict], list[dict]]]:
    """((task, algo), its runs, those that finished) in first-seen order."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for result in results:
        groups.setdefault((result["task"], result["algo"]), []).append(result)
    return [(key, runs, [r for r in runs if "error" not in r]) for key, runs in groups.items()]


def table(results: list[dict]) -> list[str]:
    lines = [
        "| task | algo | seeds | final return | env steps | steps/s (training) | steps/s (end to end) | s/iteration "
        "| peak memory MB |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for (task, algo), runs, ok in by_task_and_algo(results):
        if not ok:
            lines.append(f"| {task} | {algo} | 0 | failed: {runs[0]['error'][:80]} | | | | | |")
            continue
        memory = f"{statistics.mean(r['peak_memory_mb'] for r in ok):.0f} ({ok[0]['memory']})"
        lines.append(
            f"| {task} | {algo} | {len(ok)} | {mean_std([r['final_return'] for r in ok])} | {ok[0]['env_steps']:,} "
            f"| {statistics.mean(r['training_steps_per_s'] for r in ok):,.0f} | "
            f"{statistics.mean(r['end_to_end_steps_per_s'] for r in ok):,.0f} "
            f"| {statistics.mean(r['seconds_per_iteration'] for r in ok):.3f} | {memory} |"
        )
    return lines


def plot(task: str, results: list[dict], path: Path) -> None:
    """Return vs env steps and vs wall time; the line is the mean over seeds, the band their min–max."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    figure, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for algo in dict.fromkeys(r["algo"] for r in results):
        curves = [np.array(r["curve"]) for r in results if r["algo"] == algo and "error" not in r and r["curve"]]
        if not curves:
            continue
        length = min(len(c) for c in curves)
        stacked = np.stack([c[:length] for c in curves])  # [seeds, points, (steps, return, seconds)]
        returns = stacked[:, :, 1]
        for axis, x in ((axes[0], stacked[0, :, 0]), (axes[1], stacked[:, :, 2].mean(0))):
            (line,) = axis.plot(x, returns.mean(0), label=f"{algo} ({len(curves)} seeds)")
            axis.fill_between(x, returns.min(0), returns.max(0), color=line.get_color(), alpha=0.2)
    axes[0].set(xlabel="environment steps", ylabel="mean episode return (training)", title=task)
    axes[1].set(xlabel="wall time [s]", title=f"{task}: incl. start-up and compilation")
    for axis in axes:
        axis.grid(alpha=0.3)
    axes[0].legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    own, train_flags = (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tasks", default="CartpoleBalance,MultiGoal")
    parser.add_argument("--algos", default="ppo,cppo")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 1..N")
    parser.add_argument(
        "--budget", type=float, required=True, help="environment steps per run (rounded up to whole iterations)"
    )
    parser.add_argument("--out", default="bench/compare", help="results folder (default: bench/compare)")
    args = parser.parse_args(own)
    out = (ROOT / args.out).resolve() if not Path(args.out).is_absolute() else Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tasks, algos = args.tasks.split(","), args.algos.split(",")

    results = [
        train_once(out, task, algo, seed, int(args.budget), train_flags)
        for task in tasks for algo in algos for seed in range(1, args.seeds + 1)
    ]  # fmt: skip
    command = "python bench/compare.py " + " ".join(own) + (" -- " + " ".join(train_flags) if train_flags else "")
    lines = [f"`{command}`", "", *table(results), ""]
    for task in tasks:
        plot(task, [r for r in results if r["task"] == task], out / f"{task}.png")
        lines.append(f"![{task}]({task}.png)")
    (out / "compare.md").write_text("\n".join(lines) + "\n")
    print("\n".join(table(results)))
    print(f"[compare] wrote {out / 'compare.md'} and {len(tasks)} PNG(s)")
    failed = [r for r in results if "error" in r]
    for result in failed:
        print(f"[compare] failed: {result['error']} (log: {result['log']})", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

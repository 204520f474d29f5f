"""The suite benchmark: every on-policy method against Gaussian PPO on a fixed env-step budget per task.

Each (task, algo, seed) trains through train.py (bench/compare.py's `train_once`: one run at a time,
resumable — a finished run leaves its summary and is never run again, so the suite can span sessions), then
its final checkpoint plays one episode on each of 256 envs, deterministically (`play.py --headless`: ε = 0 for
the flow methods, the mean for PPO) and sampled (`--stochastic`: the policy training measured — CPPO's random ε
and kernel sample, FPO++'s random ε and exploration noise, PPO's Gaussian sample). The page `<out>/suite.md`
gives per-task tables (final training return — rsl_rl's mean of the last 100 episodes —, both deployed
returns, the deterministic policy's gap to each with the standard error of the difference, steps/s) and the
aggregate over tasks with rliable: the IQM of returns normalized by each task's maximum return,
stratified-bootstrap 95 % CIs, the probability that each flow method improves on PPO, and a performance profile
(`<out>/profile.png`).

    pip install -e ".[bench]"
    python bench/suite.py                    # the CPU suite below, 3 seeds; rerun to resume
    python bench/suite.py --tasks PointMass --algos ppo,fpo --seeds 1
    python bench/suite.py --tasks FingerTurnEasy --algos ppo,cppo --budget-scale 2 --out bench/finger_2x
    python bench/suite.py --algos ppo,cppo,fpo --seeds 5 --report   # the page of what has finished so far

Budgets are chosen so that PPO clearly learns each task on a 2-core CPU (train.py's CPU sizes: 256 envs ×
32 steps = 8192 env steps per iteration for the dm_control tasks).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from compare import by_task_and_algo, mean_std, run_name, train_once  # noqa: E402

# Env steps per run, and the task's maximum episode return (for normalized scores).
SUITE: dict[str, tuple[int, float]] = {
    "CartpoleBalance": (1_228_800, 1000.0),  # 150 iterations: the main job's budget
    "PointMass": (2_457_600, 1000.0),
    "CartpoleSwingup": (2_457_600, 1000.0),
    "ReacherHard": (2_457_600, 1000.0),
    "FingerTurnEasy": (2_457_600, 1000.0),
    "MultiGoal": (1_250_000, 50.0),  # 50 steps, reward ≤ 1 per step
}
DEPLOYED = re.compile(r"mean return over (\d+) episodes: (-?[\d.]+) \(std (-?[\d.]+)")
# One episode of each of as many envs as training ran: at 64 a FingerTurnEasy return (per-episode std ~450) was
# uncertain by ±20 %, four times the 5 % the deployment gap is judged by. Both samplers play the same starts (the
# env's seed is the run's), so their difference is the policy's, not the draw of initial states.
EVAL_EPISODES = 256


def budget(task: str, scale: float = 1.0) -> int:
    """The task's env-step budget times `scale`, at least one step (train_once reads 0 as the task's default)."""
    return max(1, round(SUITE[task][0] * scale))


def deployed_return(out: Path, result: dict, sampled: bool = False) -> dict:
    """The final checkpoint's return over one episode of each of EVAL_EPISODES envs — mean, per-episode std and
    count — deterministic (ε = 0 / the Gaussian's mean) or `sampled` (`play.py --stochastic`: the training policy's
    own sampler); cached beside the run. A cache from a smaller evaluation is replayed where the run's checkpoints
    are here, and kept as it is where they are gone (a summary committed by another machine); NaN without either."""
    name = run_name(result["task"], result["label"], result["seed"])
    cache = out / "runs" / f"{name}.{'sampled' if sampled else 'deployed'}.json"
    cached = json.loads(cache.read_text()) if cache.is_file() else None
    run_dir = out / result["run_dir"]
    have_checkpoints = any(run_dir.glob("model_*.pt"))
    if cached is not None and (cached.get("episodes") == EVAL_EPISODES or not have_checkpoints):
        return cached
    if not have_checkpoints:
        return {"deployed_return": math.nan}
    command = [sys.executable, str(ROOT / "play.py"), "--task", result["task"], "--algo", result["algo"],
               "--log_root", str(run_dir.parents[1]), "--experiment_name", run_dir.parent.name,
               "--load_run", run_dir.name, "--headless", "--num_envs", str(EVAL_EPISODES)]  # fmt: skip
    command += ["--stochastic"] if sampled else []
    played = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    found = DEPLOYED.search(played.stdout)
    value = {"deployed_return": math.nan}
    if played.returncode == 0 and found:
        episodes, mean, std = int(found.group(1)), float(found.group(2)), float(found.group(3))
        value = {"deployed_return": mean, "std": std, "episodes": episodes}
    partial = cache.with_suffix(".tmp")
    partial.write_text(json.dumps(value))
    os.replace(partial, cache)
    return value


def evaluated(out: Path, task: str, algo: str, seed: int) -> bool:
    """Whether the run (task, algo, seed) has finished and both its evaluations are cached (--report's rows)."""
    stem = out / "runs" / run_name(task, algo, seed)
    return all(Path(f"{stem}{suffix}").is_file() for suffix in (".json", ".deployed.json", ".sampled.json"))


# rsl_rl's training return is the mean of the last 100 episodes that ended (its logger's return buffer): on
# FingerTurnEasy (returns 0 or 1000) that alone is uncertain by ±45.
TRAINING_EPISODES = 100


def standard_error(run: dict, key: str) -> float:
    """One run's number's standard error: an evaluation's from its own episodes; the training return's from the
    100 episodes it averages, their spread taken from the sampled evaluation (the same policy and sampler)."""
    if key == "final_return":
        return run.get("sampled_return_std", math.nan) / math.sqrt(TRAINING_EPISODES)
    return run.get(f"{key}_std", math.nan) / math.sqrt(run.get(f"{key}_episodes", 1))


def gap(runs: list[dict], key: str, reference: str) -> str:
    """How far `key` sits from `reference`, in % of the reference (means over seeds), and the standard error of
    that difference from both numbers' own noise (a gap inside it is not measured)."""
    pairs = [(r[key], r[reference]) for r in runs if math.isfinite(r.get(key, math.nan) + r.get(reference, math.nan))]
    if not pairs:
        return "–"
    value, base = statistics.mean(v for v, _ in pairs), statistics.mean(b for _, b in pairs)
    variances = [standard_error(r, key) ** 2 + standard_error(r, reference) ** 2 for r in runs]
    error = math.sqrt(sum(variances)) / len(variances)  # of the difference of the means over seeds
    shown = f" (± {100 * error / abs(base):.1f})" if math.isfinite(error) else ""
    return f"{100 * (value / base - 1):+.1f} %" + shown


def mean_std_of(runs: list[dict], key: str) -> str:
    """mean ± std of `key` over the runs that have it (with their count where some do not)."""
    values = [r[key] for r in runs if math.isfinite(r.get(key, math.nan))]
    if not values:
        return "–"
    return mean_std(values) + (f" ({len(values)} seeds)" if len(values) < len(runs) else "")


def per_task_table(results: list[dict]) -> list[str]:
    lines = [
        "| task | algo | seeds | env steps | final return (training) | deployed return (ε = 0 / mean) "
        "| deployed, sampled (the training policy) | deployed vs training (± SE) | deployed vs sampled (± SE) "
        "| steps/s (end to end) | s/iteration |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for (task, algo), runs, ok in by_task_and_algo(results):
        if not ok:
            lines.append(f"| {task} | {algo} | 0 | | failed: {runs[0]['error'][:80]} | | | | | | |")
            continue
        lines.append(
            f"| {task} | {algo} | {len(ok)} | {ok[0]['env_steps']:,} | {mean_std([r['final_return'] for r in ok])} "
            f"| {mean_std_of(ok, 'deployed_return')} | {mean_std_of(ok, 'sampled_return')} "
            f"| {gap(ok, 'deployed_return', 'final_return')} | {gap(ok, 'deployed_return', 'sampled_return')} "
            f"| {statistics.mean(r['end_to_end_steps_per_s'] for r in ok):,.0f} "
            f"| {statistics.mean(r['seconds_per_iteration'] for r in ok):.2f} |"
        )
    return lines


def aggregate(results: list[dict], algos: list[str], tasks: list[str], out: Path, key: str) -> list[str]:
    """rliable's IQM with stratified-bootstrap CIs and the probability of improvement over PPO, on returns
    normalized by each task's maximum. Each algorithm counts the seeds it has finished on every task (seeds 1..n:
    the suite runs seed-major), so a suite still under way compares the finished depths; an algorithm without
    one finished seed on every task is left out of the aggregate."""
    import numpy as np
    from rliable import library as rly
    from rliable import metrics

    finished = sorted((r for r in results if "error" not in r), key=lambda r: r["seed"])
    matrices = {}  # algo → [seeds, tasks]
    for algo in algos:
        per_task = [
            [r[key] / SUITE[task][1] for r in finished if r["task"] == task and r["algo"] == algo] for task in tasks
        ]
        depth = min(len(scores) for scores in per_task)
        if depth:
            matrices[algo] = np.array([scores[:depth] for scores in per_task]).T
    if not matrices:
        return ["(no algorithm has finished a seed on every task yet)"]
    iqm, cis = rly.get_interval_estimates(matrices, lambda x: np.array([metrics.aggregate_iqm(x)]), reps=2000)
    seeds = ", ".join(f"{algo} {matrix.shape[0]}" for algo, matrix in matrices.items())
    left_out = [algo for algo in algos if algo not in matrices]
    lines = [f"Tasks: {', '.join(tasks)}. Seeds per task: {seeds}"
             + (f"; not yet a seed on every task: {', '.join(left_out)}" if left_out else "") + ".", "",
             "| algo | IQM (normalized) | 95 % CI | P(algo > ppo) | 95 % CI |", "|---|---:|---|---:|---|"]  # fmt: skip
    # rliable's pairwise metric: each entry a (scores_x, scores_y) pair of [seeds, tasks] matrices.
    pairs: Any = {
        f"{algo},ppo": (matrices[algo], matrices["ppo"]) for algo in matrices if algo != "ppo" and "ppo" in matrices
    }
    improvement, improvement_cis = {}, {}
    if pairs:
        probability: Any = metrics.probability_of_improvement
        improvement, improvement_cis = rly.get_interval_estimates(pairs, probability, reps=2000)
    for algo in matrices:
        pair = f"{algo},ppo"
        p = "— | —"
        if pair in improvement:
            low, high = np.ravel(improvement_cis[pair])
            p = f"{np.ravel(improvement[pair])[0]:.2f} | [{low:.2f}, {high:.2f}]"
        (point,), (low, high) = np.ravel(iqm[algo]), np.ravel(cis[algo])
        # one seed per task leaves the stratified bootstrap nothing to resample: its interval would read zero-wide
        interval = f"[{low:.3f}, {high:.3f}]" if matrices[algo].shape[0] > 1 else "– (one seed)"
        lines.append(f"| {algo} | {point:.3f} | {interval} | {p} |")
    if key == "final_return":
        profile(matrices, out / "profile.png")
    return lines


def profile(matrices, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from rliable import library as rly
    from rliable import plot_utils

    thresholds = np.linspace(0.0, 1.0, 41)
    distributions, cis = rly.create_performance_profile(matrices, thresholds)
    from matplotlib.lines import Line2D

    colors = dict(zip(matrices, plt.rcParams["axes.prop_cycle"].by_key()["color"], strict=False))
    figure, axis = plt.subplots(figsize=(6, 4))
    plot_utils.plot_performance_profiles(
        distributions, thresholds, performance_profile_cis=cis, colors=colors,
        xlabel=r"normalized return $\tau$", ax=axis,
    )  # fmt: skip
    axis.legend(handles=[Line2D([0], [0], color=c, label=name) for name, c in colors.items()], loc="lower left")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    own, train_flags = (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tasks", default=",".join(SUITE), help=f"default: {','.join(SUITE)}")
    parser.add_argument("--algos", default="ppo,cppo,fpo", help="default: ppo,cppo,fpo (dipole where time allows)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 1..N (default: 3)")
    parser.add_argument("--out", default="bench/suite", help="results folder (default: bench/suite)")
    parser.add_argument(
        "--budget-scale", type=float, default=1.0,
        help="every task's env-step budget times this (default: 1; use its own --out: results are cached by name)",
    )  # fmt: skip
    parser.add_argument(
        "--report", action="store_true",
        help="write the page from the runs already finished and evaluated in --out, training nothing (a suite "
        "still under way, e.g. in another process)",
    )  # fmt: skip
    args = parser.parse_args(own)
    if args.budget_scale <= 0:
        parser.error(f"--budget-scale must be > 0, got {args.budget_scale}")
    out = (ROOT / args.out).resolve() if not Path(args.out).is_absolute() else Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    tasks, algos = args.tasks.split(","), args.algos.split(",")
    unknown = [task for task in tasks if task not in SUITE]
    if unknown:
        print(f"suite.py: error: no budget for {', '.join(unknown)}; tasks: {', '.join(SUITE)}", file=sys.stderr)
        return 2

    results = []
    for seed in range(1, args.seeds + 1):  # seed-major: an interrupted suite has every task at the same depth
        for task in tasks:
            for algo in algos:
                if args.report and not evaluated(out, task, algo, seed):
                    continue
                result = train_once(out, task, algo, seed, budget(task, args.budget_scale), train_flags)
                if "error" not in result:
                    for key, sampled in (("deployed_return", False), ("sampled_return", True)):
                        played = deployed_return(out, result, sampled)
                        result[key] = played["deployed_return"]
                        result.update({f"{key}_{k}": v for k, v in played.items() if k != "deployed_return"})
                results.append(result)
    shown = [flag for flag in own if flag != "--report"] + (["--", *train_flags] if train_flags else [])
    command = " ".join(["python bench/suite.py", *shown])
    scale = "" if args.budget_scale == 1 else f" ({args.budget_scale:g}× the suite's)"
    lines = [f"# Suite: {', '.join(algos)} at equal env-step budgets{scale}", "", f"`{command}`", "",
             "## Aggregate (training return at the end of the budget)", "",
             *aggregate(results, algos, tasks, out, "final_return"), "", "![performance profile](profile.png)", "",
             "## Aggregate (deployed, deterministic return)", "",
             *aggregate(results, algos, tasks, out, "deployed_return"),
             "", "## Per task", "", *per_task_table(results), ""]  # fmt: skip
    (out / "suite.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    failed = [r for r in results if "error" in r]
    for result in failed:
        print(f"[suite] failed: {result['error']} (log: {result['log']})", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""How much one competing CPU-bound process slows training, per iteration: alone vs beside a busy-loop process.

Issue 34's target: the Isaac Lab backend slowed at most ~2.5× per iteration by one competing process on a 2-core
machine (a fair share would be ~2×). Each configuration trains `--iterations` iterations through train.py and
takes the median "Iteration time" of the iterations after the first two (start-up and compilation excluded).

    .venv-isaaclab/bin/python bench/contention.py --task Isaac-Cartpole --algo cppo --num_envs 1024
    python bench/contention.py --task MultiGoal --algo cppo          # any task, same measurement
    ... -- agent.some.override=1                                     # extra train.py arguments after --
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ITERATION_TIME = re.compile(r"Iteration time:\s+([\d.]+)s")


def iteration_seconds(argv: list[str], busy: bool) -> float:
    """Median seconds per iteration (after the first two) of one train.py run, beside a busy loop if `busy`."""
    competitor = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
    try:
        with tempfile.TemporaryDirectory() as logs:
            run = subprocess.run(
                [sys.executable, str(ROOT / "train.py"), "--log_root", logs, *argv],
                cwd=ROOT,
                capture_output=True,
                text=True,
            )
    finally:
        if competitor is not None:
            competitor.kill()
            competitor.wait()
    if run.returncode != 0:
        sys.exit(f"train.py failed: {run.stderr.strip().splitlines()[-1] if run.stderr.strip() else run.returncode}")
    times = [float(t) for t in ITERATION_TIME.findall(run.stdout)][2:]
    if not times:
        sys.exit("train.py printed fewer than 3 iterations: raise --iterations")
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--task", default="Isaac-Cartpole")
    parser.add_argument("--algo", default="cppo")
    parser.add_argument("--num_envs", type=int, default=1024)
    parser.add_argument("--iterations", type=int, default=12)
    parser.add_argument("--repeats", type=int, default=2, help="alone / busy pairs, alternating")
    parser.add_argument("extra", nargs="*", help="more train.py arguments (after --)")
    args = parser.parse_args()
    argv = ["--task", args.task, "--algo", args.algo, "--num_envs", str(args.num_envs), "--device", "cpu",
            "--max_iterations", str(args.iterations), *args.extra]  # fmt: skip
    ratios = []
    for repeat in range(args.repeats):
        alone, busy = iteration_seconds(argv, busy=False), iteration_seconds(argv, busy=True)
        ratios.append(busy / alone)
        print(
            f"round {repeat + 1}: alone {alone:.3f} s/iteration, "
            f"beside a busy process {busy:.3f} s ({busy / alone:.2f}×)"
        )
    print(f"slow-down beside one busy process: {', '.join(f'{r:.2f}×' for r in ratios)} (target ≤ 2.5×)")


if __name__ == "__main__":
    main()

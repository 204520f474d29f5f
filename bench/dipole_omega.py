"""DIPOLE's greediness knob: train one policy per seed through train.py, then replay it through play.py at
several ω (no retraining: ω only enters the sampler) and report the mean return at each.

    python bench/dipole_omega.py --task CartpoleBalance --seeds 1,2 --omegas 0,0.5,1,2 -- agent.algorithm.omega=1

Both the deterministic policy (ε = 0) and the stochastic one (ε ~ N(0, I)) are evaluated, each over
--num_envs episodes. Flags after `--` go to every train.py call. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(command: list[str]) -> str:
    result = subprocess.run([sys.executable, *command], cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed: {result.stderr.strip().splitlines()[-1]}")
    return result.stdout


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    own, train_flags = (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--task", default="CartpoleBalance")
    parser.add_argument("--seeds", default="1")
    parser.add_argument("--omegas", default="0,0.5,1,2")
    parser.add_argument("--num_envs", type=int, default=256, help="episodes per evaluation (one per env)")
    parser.add_argument("--log_root", default="logs/dipole_omega")
    parser.add_argument("--skip_training", action="store_true", help="evaluate the runs already in --log_root")
    args = parser.parse_args(own)
    omegas = [float(w) for w in args.omegas.split(",")]

    returns: dict[tuple[str, float], list[float]] = {}
    for seed in args.seeds.split(","):
        experiment = f"{args.task}_dipole_seed{seed}"
        common = ["--task", args.task, "--algo", "dipole", "--log_root", args.log_root, "--experiment_name", experiment]
        if not args.skip_training:
            print(f"[omega] training {experiment}", flush=True)
            run(["train.py", *common, "--seed", seed, *train_flags])
        for omega in omegas:
            for mode in ("deterministic", "stochastic"):
                flags = ["--stochastic"] if mode == "stochastic" else []
                out = run(
                    ["play.py", *common, "--headless", "--num_envs", str(args.num_envs), "--omega", str(omega), *flags]
                )
                match = re.search(r"mean return over \d+ episodes: (-?[\d.]+)", out)
                assert match is not None, out[-3000:]
                value = float(match.group(1))
                returns.setdefault((mode, omega), []).append(value)
                print(f"[omega] seed {seed} ω={omega} {mode}: {value:.1f}", flush=True)

    print(f"\n| policy | {' | '.join(f'ω = {w:g}' for w in omegas)} |")
    print(f"|---|{'---:|' * len(omegas)}")
    for mode in ("deterministic", "stochastic"):
        cells = []
        for omega in omegas:
            values = returns[(mode, omega)]
            spread = f" ± {statistics.stdev(values):.1f}" if len(values) > 1 else ""
            cells.append(f"{statistics.mean(values):.1f}{spread}")
        print(f"| {mode} | {' | '.join(cells)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

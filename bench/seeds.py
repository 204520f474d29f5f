"""One algorithm on one task over many seeds: does it learn on *every* seed, on this CPU's floating-point path
and on MKL's compatible one?

    python bench/seeds.py --task CartpoleBalance --algo cppo --seeds 8 --out bench/seeds
    MKL_CBWR=COMPATIBLE python bench/seeds.py --task CartpoleBalance --algo cppo --seeds 8 --out bench/seeds

Each seed trains through the normal train.py path for the task's default iterations (bench/compare.py's
resumable `train_once`; the label records the MKL path, so both sets live in one folder). `--jobs 2` runs two
seeds at once with one thread each. The thread count is part of the floating-point path too (CPPO seed 1 ends
at 994.1 with one thread, 985.0 with two), so a set run with --jobs 2 is one more path, not the 2-thread one.
Writes `<out>/<task>_<label>.md`: per seed the final return (the last logged Train/mean_reward), the lowest
return after first passing the threshold (a late collapse shows there) and the final learning rate.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.compare import read_scalars, train_once  # noqa: E402


def seed_row(out: Path, summary: dict, threshold: float) -> dict:
    """Final return, first iteration at the threshold, the lowest return after it, the final learning rate."""
    if "error" in summary:
        return {"seed": summary["seed"], "error": summary["error"]}
    run_dir = out / summary["run_dir"]
    returns = [value for _, value, _ in read_scalars(run_dir, "Train/mean_reward")]
    rates = read_scalars(run_dir, "Loss/learning_rate")
    first = next((i for i, value in enumerate(returns) if value >= threshold), None)
    return {
        "seed": summary["seed"],
        "final": returns[-1],
        "first_pass": first,
        "low_after_pass": min(returns[first:]) if first is not None else None,
        "learning_rate": rates[-1][1] if rates else None,
    }


def report(rows: list[dict], threshold: float, title: str) -> list[str]:
    ok = [r for r in rows if "error" not in r]
    finals = [r["final"] for r in ok]
    passed = sum(value >= threshold for value in finals)
    lines = [
        f"{title}: final return ≥ {threshold:g} on **{passed} of {len(rows)}** seeds; "
        f"mean {statistics.mean(finals):.1f} ± {statistics.stdev(finals) if len(finals) > 1 else 0:.1f}, "
        f"min {min(finals):.1f}, max {max(finals):.1f}",
        "",
        f"| seed | final return | first iteration ≥ {threshold:g} | lowest after it | final learning rate |",
        "|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['seed']} | failed: {r['error'][:80]} | | | |")
            continue
        low = f"{r['low_after_pass']:.1f}" if r["low_after_pass"] is not None else "–"
        lr = f"{r['learning_rate']:.2e}" if r["learning_rate"] is not None else "–"
        lines.append(
            f"| {r['seed']} | {r['final']:.1f} | {r['first_pass'] if r['first_pass'] is not None else 'never'} | "
            f"{low} | {lr} |"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    own, train_flags = (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--task", default="CartpoleBalance")
    parser.add_argument("--algo", default="cppo")
    parser.add_argument("--seeds", type=int, default=8, help="seeds 1..N")
    parser.add_argument("--threshold", type=float, default=900.0, help="the return that counts as learned")
    parser.add_argument("--label", default="", help="names this variant (default: the algo and the MKL path)")
    parser.add_argument("--jobs", type=int, default=1, help="seeds trained at once, one thread each")
    parser.add_argument("--out", default="bench/seeds")
    args = parser.parse_args(own)
    out = (ROOT / args.out).resolve() if not Path(args.out).is_absolute() else Path(args.out)
    mkl = os.environ.get("MKL_CBWR", "")
    label = args.label or f"{args.algo}{'_mkl-' + mkl.lower() if mkl else ''}"
    if args.jobs > 1:
        os.environ["OMP_NUM_THREADS"] = "1"

    def one(seed: int) -> dict:
        return train_once(out, args.task, args.algo, seed, 0, train_flags, label=label)

    with ThreadPoolExecutor(args.jobs) as pool:
        summaries = list(pool.map(one, range(1, args.seeds + 1)))
    rows = [seed_row(out, s, args.threshold) for s in summaries]
    flags = f" -- {' '.join(train_flags)}" if train_flags else ""
    command = f"{'MKL_CBWR=' + mkl + ' ' if mkl else ''}python bench/seeds.py {' '.join(own)}{flags}"
    lines = [f"`{command}`", "", *report(rows, args.threshold, f"{args.task}, {label}"), ""]
    (out / f"{args.task}_{label}.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

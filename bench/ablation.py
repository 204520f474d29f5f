"""Ablation over CPPO's switches (cppo.md): each variant is the default config plus a few overrides, trained
through train.py on each task and seed. Writes a markdown table (final return mean ± std over seeds,
seconds per iteration) to --out. Resumable: finished runs are read back, not redone.

    python bench/ablation.py --tasks MultiGoal,CartpoleBalance --seeds 0,1,2 --out docs/ablation.md
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

from compare import ROOT, train_once

VARIANTS: dict[str, list[str]] = {
    "default (corrected loop)": [],
    "midpoint integrator": ["agent.algorithm.integrator=midpoint"],
    "K = 4": ["agent.algorithm.flow_steps=4"],
    "K = 16": ["agent.algorithm.flow_steps=16"],
    "EMA reference 0.9": ["agent.algorithm.reference_ema=0.9"],
    "keep Δ (no reset)": ["agent.algorithm.reset_kernel=false"],
    "sample target": ["agent.algorithm.distill_target=sample"],
    "sample target + score 1": ["agent.algorithm.distill_target=sample", "agent.algorithm.score_coef=1"],
    "independent noise": ["agent.algorithm.distill_noise=independent"],
    "15 distillation epochs": ["agent.algorithm.distill_epochs=15"],
    "state-dependent σ": ["agent.algorithm.state_dependent_std=true"],
}


def run_once(task: str, variant: str, seed: str, iterations: int, log_root: Path) -> dict:
    """Train one (task, variant, seed) through compare.py's harness (finished runs are read back)."""
    slug = "".join(c if c.isalnum() else "_" for c in variant).strip("_")
    flags = VARIANTS[variant] + (["--max_iterations", str(iterations)] if iterations else [])
    # cppo_study: CPPO plus the switches (cppo/cppo/study.py); with none set it computes exactly what cppo does
    return train_once(log_root, task, "cppo_study", int(seed), 0, flags, label=slug)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tasks", default="MultiGoal,CartpoleBalance")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--variants", default="", help="comma-separated subset of the variant names (default: all)")
    parser.add_argument("--iterations", type=int, default=0, help="0: the task's default")
    parser.add_argument("--log_root", default="logs/ablation")
    parser.add_argument("--out", default="docs/ablation.md")
    args = parser.parse_args()
    log_root = (ROOT / args.log_root).resolve()
    log_root.mkdir(parents=True, exist_ok=True)
    variants = [v for v in VARIANTS if not args.variants or v in args.variants.split(",")]
    tasks = args.tasks.split(",")

    lines = [
        "# CPPO ablation over the switches",
        "",
        f"`python bench/ablation.py --tasks {args.tasks} --seeds {args.seeds}"
        + (f" --iterations {args.iterations}" if args.iterations else "")
        + "` (CPU, 2 cores)",
        "",
        "Final mean episode return (Train/mean_reward at the last iteration), mean ± std over seeds, and seconds per "
        "iteration.",
        "",
        "| variant | " + " | ".join(f"{t} return | {t} s/it" for t in tasks) + " |",
        "|---|" + "---:|---:|" * len(tasks),
    ]
    for variant in variants:
        cells = []
        for task in tasks:
            runs = [run_once(task, variant, seed, args.iterations, log_root) for seed in args.seeds.split(",")]
            failed = [r for r in runs if "error" in r]
            if failed:
                cells += [f"failed: {failed[0]['error'][:60]}", ""]
                continue
            returns = [r["final_return"] for r in runs]
            spread = statistics.stdev(returns) if len(returns) > 1 else 0.0
            cells += [
                f"{statistics.mean(returns):.1f} ± {spread:.1f}",
                f"{statistics.mean(r['seconds_per_iteration'] for r in runs):.2f}",
            ]
        lines.append(f"| {variant} | " + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
    (ROOT / args.out).write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

"""Multimodality on MultiGoal: train PPO and CPPO (through train.py), then start 1000 episodes at the origin
with each trained *stochastic* policy and count the goals reached and the entropy of the goal distribution.
Writes a table and one trajectory PNG per run into --out.

    python bench/multigoal_modes.py --algos ppo,cppo --seeds 0 --out docs/multigoal
    python bench/multigoal_modes.py --algos cppo --seeds 0,1 --tag ent0.02 agent.algorithm.entropy_coef=0.02

A goal counts as reached when ≥ 5% of the episodes end within 1.0 of it (G = 6, R = 5; starts are
uniform in [-1, 1]², so the origin is inside the start distribution).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

import tasks  # noqa: E402
from cppo.config import apply_overrides  # noqa: E402
from cppo.runner import Runner  # noqa: E402
from cppo.runs import find_checkpoint, find_run  # noqa: E402
from envs.multigoal import MultiGoalEnv, evaluate_modes, plot_trajectories  # noqa: E402


def trained_policy(log_root: Path, experiment: str, algo: str, overrides: list[str]):
    """Rebuild the run's algorithm (registry defaults + the run's overrides) and load its newest checkpoint."""
    task = tasks.get_task("MultiGoal")
    env_cfg, agent_cfg = task.env_cfg(), task.agent_cfg(algo)
    apply_overrides({"env": env_cfg, "agent": agent_cfg}, overrides)
    runner = Runner(MultiGoalEnv(env_cfg), agent_cfg.to_runner_dict("policy"), log_dir=None)
    runner.load(str(find_checkpoint(find_run(str(log_root), experiment))))
    alg = runner.alg
    alg.eval_mode()

    def policy(obs):  # the stochastic training-time policy: flow + kernel noise, or the Gaussian
        return alg.act(obs)

    return policy, env_cfg


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--algos", default="ppo,cppo")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--log_root", default="logs/multigoal_modes")
    parser.add_argument("--out", default="docs/multigoal")
    parser.add_argument("--tag", default="", help="names this configuration in run folders, PNGs and the table")
    parser.add_argument("overrides", nargs="*", help="extra key=value overrides for every run")
    args = parser.parse_args()
    out = ROOT / args.out
    out.mkdir(parents=True, exist_ok=True)

    rows = []
    for algo in args.algos.split(","):
        for seed in args.seeds.split(","):
            experiment = f"MultiGoal_{algo}{'_' + args.tag if args.tag else ''}_seed{seed}"
            command = [sys.executable, "train.py", "--task", "MultiGoal", "--algo", algo, "--seed", seed,
                       "--max_iterations", str(args.iterations), "--log_root", args.log_root,
                       "--experiment_name", experiment, *args.overrides]  # fmt: skip
            subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
            policy, env_cfg = trained_policy(ROOT / args.log_root, experiment, algo, args.overrides)
            torch.manual_seed(int(seed))
            result = evaluate_modes(policy, env_cfg, num_episodes=args.episodes)
            goals = f"{result['goals_reached']}/{env_cfg.num_goals} goals"
            title = f"{algo} {args.tag} seed {seed}: {goals}, H={result['goal_entropy']:.2f}"
            plot_trajectories(result["trajectories"], env_cfg, str(out / f"{experiment}.png"), title)
            rows.append((f"{algo} {args.tag}".strip(), seed, result))

    print(
        f"| algo | seed | goals reached (of 6) | goal entropy (nats, max {torch.log(torch.tensor(6.0)):.2f}) | hit "
        "rate | return from origin |"
    )
    print("|---|---|---:|---:|---:|---:|")
    for algo, seed, r in rows:
        print(
            f"| {algo} | {seed} | {r['goals_reached']} | {r['goal_entropy']:.2f} | {r['hit_rate']:.2f} | "
            f"{r['mean_return']:.1f} |"
        )


if __name__ == "__main__":
    main()

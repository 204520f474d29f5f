"""Does fine-tuning keep the modes of a multimodal start? (cppo.md, prototype section.)

1. A scripted expert drives MultiGoal to a goal drawn at random per episode (PD control); its
   (observation, action) pairs are multimodal near the origin, where all goals are still possible.
2. Behaviour cloning: the CPPO flow by flow matching on those pairs; the PPO Gaussian by maximum
   likelihood (its mean is the best a unimodal policy can do).
3. Optionally the critic is trained alone on the cloned policy's rollouts (--critic_warmup N); then the
   policy is saved as iteration 0 of a run and fine-tuned by train.py --resume.
4. Before and after fine-tuning: 1000 episodes from the origin, goals reached and goal entropy.

    python bench/multigoal_pretrained.py --algos ppo,cppo --iterations 60 --seed 0
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
KERNEL_STD_AFTER_CLONING = 0.1

import torch  # noqa: E402
from tensordict import TensorDict  # noqa: E402

import tasks  # noqa: E402
from cppo.flow import flow_matching_loss  # noqa: E402
from cppo.runner import Runner  # noqa: E402
from cppo.runs import new_run_dir  # noqa: E402
from envs.multigoal import MultiGoalCfg, MultiGoalEnv, evaluate_modes, plot_trajectories  # noqa: E402


def expert_dataset(cfg: MultiGoalCfg, episodes: int = 512, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(obs, action) pairs of a PD expert that heads for one random goal per episode, starting at the origin
    or anywhere in the start box."""
    torch.manual_seed(seed)
    env = MultiGoalEnv(MultiGoalCfg(**{**cfg.__dict__, "num_envs": episodes, "seed": seed}))
    env.position[: episodes // 2] = 0.0  # half the episodes from the origin, where the modes split
    goal = env.goals[torch.randint(cfg.num_goals, (episodes,))]
    observations, actions = [], []
    obs = env.get_observations()
    for _ in range(cfg.episode_length - 1):
        action = (0.6 * (goal - env.position) - 1.2 * env.velocity).clamp(-1, 1)
        action = (action + 0.05 * torch.randn_like(action)).clamp(-1, 1)
        observations.append(obs["policy"])
        actions.append(action)
        obs, _, _, _ = env.step(action)
    return torch.cat(observations), torch.cat(actions)


def clone(alg, algo: str, observations: torch.Tensor, actions: torch.Tensor, steps: int = 3000) -> None:
    """Behaviour cloning into the algorithm's actor (normalizer statistics from the dataset)."""
    actor = alg.actor
    actor.train()
    actor.obs_normalizer.update(observations)
    params = actor.flow.parameters() if algo == "cppo" else actor.parameters()
    optimizer = torch.optim.Adam(params, lr=1e-3)
    for _ in range(steps):
        idx = torch.randint(observations.shape[0], (1024,))
        obs = TensorDict({"policy": observations[idx]}, batch_size=[1024])
        if algo == "cppo":
            s = actor.observation(obs)
            loss = flow_matching_loss(actor.flow, s, torch.randn_like(actions[idx]), actions[idx])
        else:
            actor(obs, stochastic_output=True)
            loss = -actor.get_output_log_prob(actions[idx]).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    if algo == "cppo":
        actor.update_reference(0.0)
        actor.kernel.a0_normalizer.update(actions)
        with torch.no_grad():  # a narrow kernel, so the cloned flow *is* the starting policy
            actor.kernel.log_std.fill_(math.log(KERNEL_STD_AFTER_CLONING))


def warm_up_critic(runner: Runner, algo: str, iterations: int) -> None:
    """Train only the critic on the cloned policy's rollouts, so fine-tuning starts from sensible advantages."""
    policy = runner.alg.actor.kernel if algo == "cppo" else runner.alg.actor
    policy.requires_grad_(False)
    runner.learn(iterations)
    policy.requires_grad_(True)
    runner.current_learning_iteration = 0


def build(algo: str):
    task = tasks.get_task("MultiGoal")
    env_cfg, agent_cfg = task.env_cfg(), task.agent_cfg(algo)
    runner = Runner(MultiGoalEnv(env_cfg), agent_cfg.to_runner_dict("policy"), log_dir=None)
    return runner, env_cfg


def modes(alg, env_cfg, seed: int) -> dict:
    alg.eval_mode()
    torch.manual_seed(seed)
    return evaluate_modes(lambda obs: alg.act(obs), env_cfg, num_episodes=1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--algos", default="ppo,cppo")
    parser.add_argument("--iterations", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--log_root", default="logs/multigoal_pretrained")
    parser.add_argument("--out", default="docs/multigoal")
    parser.add_argument(
        "--critic_warmup", type=int, default=0, help="iterations of critic-only training before fine-tuning"
    )
    parser.add_argument("overrides", nargs="*", help="key=value overrides for the fine-tuning runs")
    args = parser.parse_args()
    (ROOT / args.out).mkdir(parents=True, exist_ok=True)
    observations, actions = expert_dataset(MultiGoalCfg(), seed=args.seed)

    rows = []
    for algo in args.algos.split(","):
        torch.manual_seed(args.seed)
        runner, env_cfg = build(algo)
        clone(runner.alg, algo, observations, actions)
        before = modes(runner.alg, env_cfg, args.seed)
        if args.critic_warmup:
            warm_up_critic(runner, algo, args.critic_warmup)
        experiment = f"MultiGoal_{algo}_pretrained"
        run_dir = new_run_dir(str(ROOT / args.log_root), experiment)
        runner.save(str(run_dir / "model_0.pt"))
        command = [sys.executable, "train.py", "--task", "MultiGoal", "--algo", algo, "--resume", "--log_root",
                   args.log_root, "--experiment_name", experiment, "--load_run", run_dir.name, "--seed", str(args.seed),
                   "--max_iterations", str(args.iterations), *args.overrides]  # fmt: skip
        subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        tuned_runner, _ = build(algo)
        tuned_runner.load(str(sorted(run_dir.glob("model_*.pt"), key=lambda p: int(p.stem.split("_")[1]))[-1]))
        after = modes(tuned_runner.alg, env_cfg, args.seed)
        for stage, result in (("cloned", before), (f"fine-tuned {args.iterations} it", after)):
            title = f"{algo} {stage}: {result['goals_reached']}/6 goals, H={result['goal_entropy']:.2f}"
            plot_trajectories(
                result["trajectories"], env_cfg, str(ROOT / args.out / f"{experiment}_{stage.split()[0]}.png"), title
            )
            rows.append((algo, stage, result))

    print("| algo | stage | goals reached (of 6) | goal entropy (nats, max 1.79) | hit rate | return from origin |")
    print("|---|---|---:|---:|---:|---:|")
    for algo, stage, r in rows:
        print(
            f"| {algo} | {stage} | {r['goals_reached']} | {r['goal_entropy']:.2f} | {r['hit_rate']:.2f} | "
            f"{r['mean_return']:.1f} |"
        )


if __name__ == "__main__":
    main()

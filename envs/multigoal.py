"""MultiGoal: a batched 2-D point mass with G equally good goals — the multimodality benchmark of cppo.md.

State: position p and velocity v (obs = [p, v]). Action: a 2-D acceleration in [-1, 1]²;
v ← v + a·dt, p ← p + v·dt, dt = 0.1. Episodes last 50 steps (time-out, never terminal).
Starts: p uniform in [-start_box, start_box]² (default 1, so the origin is inside the start
distribution), v = 0. Goals: G points evenly on a circle of radius R (default 6 and 5).
Reward per step: max(0, 1 − d/R), d the distance to the nearest goal — 0 at the origin, 1 on a goal.
Every goal is equally good, so an optimal policy may pick any of them from the origin.
"""

from __future__ import annotations

import math

import torch
from tensordict import TensorDict

from envs.config import MultiGoalCfg  # noqa: F401  (its config lives with the others, import-free)
from envs.vec_env import CppoVecEnv


def goal_positions(num_goals: int, radius: float, device=None) -> torch.Tensor:
    angles = 2 * math.pi * torch.arange(num_goals, device=device) / num_goals
    return radius * torch.stack([angles.cos(), angles.sin()], dim=-1)


class MultiGoalEnv(CppoVecEnv):
    cfg: MultiGoalCfg

    def __init__(self, cfg: MultiGoalCfg, device: str | torch.device = "cpu"):
        self.cfg, self.device = cfg, torch.device(device)
        self.num_envs, self.num_actions = cfg.num_envs, 2
        self.max_episode_length = cfg.episode_length
        self.goals = goal_positions(cfg.num_goals, cfg.radius, self.device)
        self.generator = torch.Generator(device=self.device).manual_seed(cfg.seed)
        self.position = torch.zeros(cfg.num_envs, 2, device=self.device)
        self.velocity = torch.zeros(cfg.num_envs, 2, device=self.device)
        self.episode_length_buf = torch.zeros(cfg.num_envs, dtype=torch.long, device=self.device)
        self.reset_where(torch.ones(cfg.num_envs, dtype=torch.bool, device=self.device))

    def observation(self) -> TensorDict:
        return TensorDict({"policy": torch.cat([self.position, self.velocity], dim=-1)}, batch_size=[self.num_envs])

    def get_observations(self) -> TensorDict:
        return self.observation()

    def reset_where(self, mask: torch.Tensor) -> None:
        """Fresh random starts for the masked envs (torch.where: no host sync)."""
        start = (
            torch.rand(self.num_envs, 2, generator=self.generator, device=self.device) * 2 - 1
        ) * self.cfg.start_box
        keep = ~mask.unsqueeze(-1)
        self.position = torch.where(keep, self.position, start)
        self.velocity = torch.where(keep, self.velocity, torch.zeros_like(self.velocity))
        self.episode_length_buf = torch.where(mask, 0, self.episode_length_buf)

    def nearest_goal_distance(self, position: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        distances = torch.cdist(position, self.goals)
        return distances.min(dim=-1)

    def step(self, actions: torch.Tensor):
        actions = actions.to(self.device).clamp(-1.0, 1.0)
        self.velocity = self.velocity + actions * self.cfg.dt
        self.position = self.position + self.velocity * self.cfg.dt
        distance, _ = self.nearest_goal_distance(self.position)
        rewards = (1 - distance / self.cfg.radius).clamp(min=0.0)
        self.episode_length_buf = self.episode_length_buf + 1
        time_outs = self.episode_length_buf >= self.max_episode_length
        final_observations = self.observation()
        self.reset_where(time_outs)
        extras = {
            "time_outs": time_outs.float(),
            "final_observations": final_observations,
            "log": {"/goal_distance": distance},
        }
        return self.observation(), rewards, time_outs.float(), extras

    def reset(self) -> TensorDict:
        self.reset_where(torch.ones(self.num_envs, dtype=torch.bool, device=self.device))
        return self.observation()

    def plane_positions(self) -> torch.Tensor:
        return self.position

    def rng_state(self) -> torch.Tensor:
        return self.generator.get_state()

    def set_rng_state(self, state: torch.Tensor) -> None:
        self.generator.set_state(state.cpu())

    @property
    def deployment_info(self) -> dict:
        return {"dt": self.cfg.dt, "action_clip": 1.0, "num_goals": self.cfg.num_goals, "radius": self.cfg.radius}

    def close(self) -> None:
        pass


@torch.no_grad()
def evaluate_modes(
    policy, cfg: MultiGoalCfg, num_episodes: int = 1000, hit_radius: float = 1.0, min_share: float = 0.05, device="cpu"
):
    """Start `num_episodes` episodes at the origin, run `policy(obs TensorDict) -> actions` to the end.

    Returns a dict: goals_reached (goals where ≥ min_share of episodes end within hit_radius),
    goal_entropy (nats, of the distribution of ending goals among episodes that hit one; log G is the
    maximum), hit_rate, mean_return, and the trajectories [T+1, N, 2] for plotting.
    """
    env = MultiGoalEnv(MultiGoalCfg(**{**cfg.__dict__, "num_envs": num_episodes}), device=device)
    env.position.zero_()
    env.velocity.zero_()
    env.episode_length_buf.zero_()
    trajectory, total = [env.position.clone()], torch.zeros(num_episodes, device=env.device)
    obs = env.get_observations()
    for _ in range(cfg.episode_length - 1):  # stop before the auto-reset so the last positions stay
        obs, rewards, _, _ = env.step(policy(obs))
        trajectory.append(env.position.clone())
        total += rewards
    distance, goal = env.nearest_goal_distance(env.position)
    hit = distance <= hit_radius
    counts = torch.bincount(goal[hit], minlength=cfg.num_goals).float()
    shares = counts / max(num_episodes, 1)
    probabilities = counts / counts.sum().clamp(min=1)
    entropy = -(probabilities[probabilities > 0] * probabilities[probabilities > 0].log()).sum()
    return {
        "goals_reached": int((shares >= min_share).sum()),
        "goal_entropy": float(entropy) + 0.0,  # no "-0.00"
        "hit_rate": float(hit.float().mean()),
        "mean_return": float(total.mean()),
        "goal_shares": shares.tolist(),
        "trajectories": torch.stack(trajectory).cpu(),
    }


def plot_trajectories(
    trajectories: torch.Tensor, cfg: MultiGoalCfg, path: str, title: str = "", max_lines: int = 200
) -> None:
    """PNG of trajectories from the origin, with the goals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    goals = goal_positions(cfg.num_goals, cfg.radius)
    fig, ax = plt.subplots(figsize=(5, 5))
    for i in range(min(max_lines, trajectories.shape[1])):
        ax.plot(trajectories[:, i, 0], trajectories[:, i, 1], color="tab:blue", alpha=0.15, linewidth=0.8)
    ax.scatter(goals[:, 0], goals[:, 1], s=120, color="tab:red", marker="*", zorder=3, label="goals")
    ax.scatter([0], [0], color="black", s=20, zorder=3, label="start")
    lim = cfg.radius * 1.4
    ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal", title=title)
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)

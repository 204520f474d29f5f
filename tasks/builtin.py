"""Small built-in torch tasks (no simulator needed)."""

from __future__ import annotations

from cppo.config import AgentCfg, CPPOCfg, PolicyCfg, PPOCfg
from envs.multigoal import MultiGoalCfg
from tasks import TaskSpec, register


def multigoal_ppo() -> AgentCfg:
    return AgentCfg(
        algorithm=PPOCfg(gamma=0.99, lam=0.95, learning_rate=1e-3, entropy_coef=0.005),
        policy=PolicyCfg(actor_hidden_dims=(64, 64), critic_hidden_dims=(64, 64), init_noise_std=1.0),
        num_steps_per_env=50,
        max_iterations=100,
        save_interval=25,
    )


def multigoal_cppo() -> AgentCfg:
    cfg = multigoal_ppo()
    cfg.algorithm = CPPOCfg(gamma=0.99, lam=0.95, learning_rate=1e-3, entropy_coef=0.005, kernel_hidden_dims=(64, 64))
    return cfg


register(TaskSpec("MultiGoal", "builtin", MultiGoalCfg, {"ppo": multigoal_ppo, "cppo": multigoal_cppo}))

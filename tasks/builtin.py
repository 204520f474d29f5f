"""Small built-in torch tasks (no simulator needed)."""

from __future__ import annotations

from cppo.config import AgentCfg, PolicyCfg, PPOCfg
from envs.config import MultiGoalCfg
from tasks import DIPOLE_FIT, TaskSpec, register


def multigoal_ppo() -> AgentCfg:
    return AgentCfg(
        algorithm=PPOCfg(entropy_coef=0.005),  # only departures from the configs' defaults (rsl_rl's)
        policy=PolicyCfg(actor_hidden_dims=(64, 64), critic_hidden_dims=(64, 64)),
        num_steps_per_env=50,
        max_iterations=100,
        save_interval=25,
    )


register(
    TaskSpec(
        "MultiGoal",
        "builtin",
        MultiGoalCfg,
        multigoal_ppo,
        {"cppo": {"kernel_hidden_dims": (64, 64)}, "dipole": DIPOLE_FIT},
    )
)

"""Simulator backends. Each `make_env` result is an rsl_rl VecEnv (`envs.vec_env.CppoVecEnv`) that also returns
extras["final_observations"] (the true last observation of every env that ended this step)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # importing envs (and so the task registry) stays free of torch and rsl_rl
    import torch

    from envs.vec_env import CppoVecEnv


def check_assets(task, env_cfg) -> None:
    """Fail fast (before a run folder exists) when the simulator cannot load or the task's robot models
    cannot be found."""
    if task.backend == "playground":
        from envs.playground import playground_modules

        playground_modules()
    if task.backend == "isaaclab":
        from envs.isaaclab import check_local_assets

        check_local_assets(env_cfg.task_id)
    if task.menagerie_robot:
        from envs.playground import use_menagerie

        use_menagerie(env_cfg.menagerie_dir, task.menagerie_robot, env_cfg.env_id)


def make_env(task, env_cfg, device: str | torch.device) -> CppoVecEnv:
    """Build the VecEnv of a registered task (`tasks.TaskSpec`) from its (possibly overridden) env config."""
    if task.backend == "playground":
        from envs.playground import PlaygroundVecEnv, configure_jax

        configure_jax()
        return PlaygroundVecEnv(env_cfg, device=device, menagerie_robot=task.menagerie_robot)
    if task.backend == "isaaclab":
        from envs.isaaclab import make_isaaclab_env

        return make_isaaclab_env(env_cfg, device)
    if task.backend == "builtin":
        from envs.multigoal import MultiGoalEnv

        return MultiGoalEnv(env_cfg, device=device)
    raise ValueError(f"unknown backend '{task.backend}' for task {task.name}")

"""Simulator backends, one registry: backend name → how to check its assets and how to build its env.

Every env a backend builds meets the contract in `envs/vec_env.py` (`CppoVecEnv`): rsl_rl's VecEnv plus
extras["final_observations"], deployment info and the optional capabilities declared there. A task names its
backend (`tasks.TaskSpec.backend`); adding a simulator is one module here and one `BACKENDS` entry
(docs/extending.md). Backends are imported only when used: importing envs (and so the task registry) stays free
of torch, JAX and rsl_rl.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from envs.vec_env import CppoVecEnv


@dataclass(frozen=True)
class Backend:
    make: Callable[[Any, Any, Any], CppoVecEnv]
    """(task, env_cfg, device) → the env."""
    check: Callable[[Any, Any], None] = lambda task, env_cfg: None
    """(task, env_cfg) → None, or a CppoError naming what is missing; runs before a run folder exists."""


def make_playground(task, env_cfg, device) -> CppoVecEnv:
    from envs.playground import PlaygroundVecEnv, configure_jax

    configure_jax()
    return PlaygroundVecEnv(env_cfg, device=device, menagerie_robot=task.menagerie_robot)


def check_playground(task, env_cfg) -> None:
    from envs.playground import playground_modules, use_menagerie

    playground_modules()
    if task.menagerie_robot:
        use_menagerie(env_cfg.menagerie_dir, task.menagerie_robot, env_cfg.env_id)


def make_isaaclab(task, env_cfg, device) -> CppoVecEnv:
    from envs.isaaclab import make_isaaclab_env

    return make_isaaclab_env(env_cfg, device)


def check_isaaclab(task, env_cfg) -> None:
    from envs.isaaclab import check_local_assets

    check_local_assets(env_cfg.task_id)


def make_builtin(task, env_cfg, device) -> CppoVecEnv:
    from envs.multigoal import MultiGoalEnv

    return MultiGoalEnv(env_cfg, device=device)


BACKENDS: dict[str, Backend] = {
    "playground": Backend(make_playground, check_playground),
    "isaaclab": Backend(make_isaaclab, check_isaaclab),
    "builtin": Backend(make_builtin),
}


def check_assets(task, env_cfg) -> None:
    """Fail fast (before a run folder exists) when the simulator cannot load or the task's robot models
    cannot be found."""
    BACKENDS[task.backend].check(task, env_cfg)


def make_env(task, env_cfg, device: str | torch.device) -> CppoVecEnv:
    """Build the VecEnv of a registered task (`tasks.TaskSpec`) from its (possibly overridden) env config."""
    return BACKENDS[task.backend].make(task, env_cfg, device)

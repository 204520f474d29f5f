"""Typed environment configs. Kept free of simulator imports so the task registry stays cheap to load."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

MAX_ENVS = "[1, 16777216]"
"""num_envs' range for every backend: 2^24 is far beyond any GPU's memory for a robot; larger values would only
fail later, inside a simulator or torch (integer overflow, or the kernel killing the process without a word)."""


@dataclass
class PlaygroundEnvCfg:
    """A MuJoCo Playground env driven by `envs.playground.PlaygroundVecEnv`."""

    env_id: str = "CartpoleBalance"
    num_envs: int = 256
    episode_length: int = 0
    """Steps before a time-out; 0 keeps the Playground config's `episode_length`."""
    impl: Literal["jax", "warp"] = "jax"
    """MJX backend: "jax" runs everywhere; "warp" needs the warp-lang package and a GPU to pay off."""
    full_reset: bool = False
    """True: every auto-reset calls env.reset (fresh random state). False: reset to each env's cached
    first state, as Playground's own brax training does (cheaper; the default its published numbers use)."""
    domain_randomization: bool = True
    """Use the task's domain randomizer when Playground ships one."""
    observation_noise: bool = True
    """False: no observation noise (the config's noise_config.level = 0), e.g. for sim-to-sim parity checks."""
    menagerie_dir: str = ""
    """Folder of mujoco_menagerie robot models; empty: $CPPO_MENAGERIE_DIR, else Playground's own path."""
    seed: int = 0

    limits: ClassVar[dict[str, str]] = {"num_envs": MAX_ENVS, "episode_length": ">= 0"}


@dataclass
class IsaacLabEnvCfg:
    """An Isaac Lab task (gymnasium id) behind Isaac Lab's RslRlVecEnvWrapper (`envs.isaaclab`)."""

    task_id: str = "Isaac-Cartpole-v0"
    num_envs: int = 4096
    """The task registry fills in the task's registered `scene.num_envs`."""
    clip_actions: float = 0.0
    """Clip actions to ±value in the wrapper; 0: no clipping (the registered agent config's value is used)."""
    final_observations: bool = True
    """Ask the env for its true final observations (`compute_final_obs`) where it supports them."""
    seed: int = 0

    limits: ClassVar[dict[str, str]] = {"num_envs": MAX_ENVS, "clip_actions": ">= 0"}


@dataclass
class MultiGoalCfg:
    """The built-in MultiGoal point mass (`envs.multigoal.MultiGoalEnv`)."""

    num_envs: int = 256
    num_goals: int = 6
    radius: float = 5.0
    episode_length: int = 50
    dt: float = 0.1
    start_box: float = 1.0
    seed: int = 0

    limits: ClassVar[dict[str, str]] = {
        "num_envs": MAX_ENVS,
        "num_goals": ">= 1",
        "radius": "> 0",
        "episode_length": ">= 1",
        "dt": "> 0",
        "start_box": ">= 0",
    }

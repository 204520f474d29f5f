"""Isaac Lab backend: any Isaac Lab task (a gymnasium id such as Isaac-Velocity-Flat-Anymal-D-v0) as an
rsl_rl VecEnv.

Isaac Lab runs inside Isaac Sim, whose application must be launched (`AppLauncher`) before anything of
isaaclab_tasks is imported. `launch_app` does that once per process and closes the app at exit, errors
included. `make_isaaclab_env` builds the task's registered env config (num_envs, seed, device
overridden), `gym.make`s it and wraps it in Isaac Lab's own `RslRlVecEnvWrapper`; `IsaacLabVecEnv` adds
what our algorithms read on top: the env's true final observations (extras["final_obs"] →
extras["final_observations"]) and explicit time-outs.

Never run here (no Isaac Sim, no RTX GPU on these machines): `launch_app`, `registered_cfg` and
`make_isaaclab_env`. `IsaacLabVecEnv` and the agent-config translation (tasks/isaaclab.py) are tested
against a stand-in for Isaac Sim (tests/test_isaaclab.py). See README "Isaac Lab".
"""

from __future__ import annotations

import atexit
import importlib.util
from typing import Any

import torch
from rsl_rl.env import VecEnv
from tensordict import TensorDict

from cppo.errors import CppoError
from envs.config import IsaacLabEnvCfg

TASK_PREFIX = "Isaac-"
INSTALL = (
    "pip install -e '.[isaaclab]' --extra-index-url https://pypi.nvidia.com "
    "(Isaac Sim 5 with Isaac Lab: Linux, Python 3.11, an NVIDIA RTX GPU; see the README's Isaac Lab section)"
)
_app = None


def is_isaaclab_task(name: str | None) -> bool:
    return bool(name) and name.startswith(TASK_PREFIX)


def require_isaaclab(task: str) -> None:
    if importlib.util.find_spec("isaaclab") is None or importlib.util.find_spec("isaaclab_tasks") is None:
        raise CppoError(f"{task} is an Isaac Lab task, but Isaac Lab is not installed; install it with: {INSTALL}")


def launch_app(headless: bool = True, device: str = "cuda:0", cameras: bool = False):
    """Start Isaac Sim once per process (a viewer unless headless; cameras for video); closed at exit."""
    global _app
    if _app is None:
        from isaaclab.app import AppLauncher

        _app = AppLauncher(headless=headless, device=device, enable_cameras=cameras).app
        atexit.register(close_app)
        import isaaclab_tasks  # noqa: F401  (registers the gymnasium ids; needs the running app)
    return _app


def close_app() -> None:
    global _app
    if _app is not None:
        _app.close()
        _app = None


def registered_cfg(task: str, entry_point: str) -> Any:
    """The config object a task registers under `entry_point` ("env_cfg_entry_point", "rsl_rl_cfg_entry_point")."""
    from isaaclab_tasks.utils.parse_cfg import load_cfg_from_registry

    try:
        return load_cfg_from_registry(task, entry_point)
    except (ValueError, KeyError, ModuleNotFoundError) as err:
        raise CppoError(
            f"Isaac Lab has no {entry_point.removesuffix('_entry_point')} for task {task} ({err})"
        ) from None


def make_isaaclab_env(
    cfg: IsaacLabEnvCfg, device: str | torch.device, render_mode: str | None = None
) -> IsaacLabVecEnv:
    import gymnasium as gym
    from isaaclab_rl.rsl_rl import RslRlVecEnvWrapper

    env_cfg = registered_cfg(cfg.task_id, "env_cfg_entry_point")
    env_cfg.scene.num_envs = cfg.num_envs
    env_cfg.seed = cfg.seed
    env_cfg.sim.device = str(device)
    if hasattr(env_cfg, "compute_final_obs"):
        env_cfg.compute_final_obs = cfg.final_observations
    env = gym.make(cfg.task_id, cfg=env_cfg, render_mode=render_mode)
    return IsaacLabVecEnv(RslRlVecEnvWrapper(env, clip_actions=cfg.clip_actions or None), cfg)


class IsaacLabVecEnv(VecEnv):
    """Isaac Lab's RslRlVecEnvWrapper plus true final observations and explicit time-outs.

    `wrapped` is the rsl_rl VecEnv Isaac Lab's wrapper makes: num_envs, num_actions, max_episode_length,
    device, cfg, episode_length_buf, get_observations() and step() → (obs, rewards, dones, extras).
    """

    def __init__(self, wrapped, cfg: IsaacLabEnvCfg):
        self.wrapped, self.env_cfg = wrapped, cfg
        self.num_envs = wrapped.num_envs
        self.num_actions = wrapped.num_actions
        self.max_episode_length = wrapped.max_episode_length
        self.device = torch.device(wrapped.device)

    @property
    def cfg(self):
        return self.wrapped.cfg

    @property
    def episode_length_buf(self) -> torch.Tensor:
        return self.wrapped.episode_length_buf

    @episode_length_buf.setter
    def episode_length_buf(self, value: torch.Tensor) -> None:
        self.wrapped.episode_length_buf = value

    def get_observations(self) -> TensorDict:
        return self.wrapped.get_observations()

    def step(self, actions: torch.Tensor) -> tuple[TensorDict, torch.Tensor, torch.Tensor, dict]:
        obs, rewards, dones, extras = self.wrapped.step(actions)
        if "time_outs" not in extras:
            # Isaac Lab reports time-outs only for infinite-horizon tasks: elsewhere the horizon is part of
            # the task, so an episode that reaches it has truly ended (nothing to bootstrap).
            extras["time_outs"] = torch.zeros_like(dones, dtype=torch.bool)
        final = extras.pop("final_obs", None)
        if final is not None:
            groups = final if isinstance(final, (dict, TensorDict)) else {"policy": final}
            extras["final_observations"] = TensorDict(dict(groups), batch_size=[self.num_envs], device=self.device)
        return obs, rewards, dones, extras

    @property
    def deployment_info(self) -> dict:
        """What robot-side code needs beside the network (read by play.py's export)."""
        info = {"env_id": self.env_cfg.task_id, "action_clip": self.env_cfg.clip_actions or None}
        step_dt = getattr(self.wrapped.unwrapped, "step_dt", None)  # physics dt × decimation
        if step_dt is not None:
            info["ctrl_dt"] = float(step_dt)
        return info

    def close(self) -> None:
        self.wrapped.close()

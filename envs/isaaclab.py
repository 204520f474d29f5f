"""Isaac Lab backend: any Isaac Lab 3 task (a gymnasium id such as Isaac-Cartpole or
Isaac-Velocity-Flat-Anymal-D) as an rsl_rl VecEnv.

Isaac Lab 3 runs without Isaac Sim where a task's physics allows: Newton's MuJoCo-Warp solver is the default
of the classic and velocity tasks, and `isaaclab.app.launch_simulation` starts Isaac Sim's Kit only when the
config needs it ("kit-less" otherwise). `make_isaaclab_env` resolves the task's registered env config
(presets applied, as Isaac Lab's own `isaaclab train` does), sets num_envs, seed, device and
`compute_final_obs`, enters `launch_simulation` for the rest of the process, `gym.make`s the task and wraps it
in Isaac Lab's own `RslRlVecEnvWrapper`. `IsaacLabVecEnv` adds what our algorithms read on top: the env's
true final observations (extras["final_obs"] → extras["final_observations"]) and explicit time-outs.

Isaac Lab 2.x (Isaac Sim's AppLauncher, `-v0` task ids) is no longer supported. Robot and scene files come
from `ISAACSIM_ASSET_ROOT` (NVIDIA's asset server by default); offline, `envs/isaaclab_assets.py` writes the
cartpole's. README "Isaac Lab".
"""

from __future__ import annotations

import atexit
import contextlib
import difflib
import importlib.metadata
import importlib.util
import os
import sys
from typing import Any

import torch
from tensordict import TensorDict

from cppo.errors import CppoError
from envs.config import IsaacLabEnvCfg
from envs.vec_env import CppoVecEnv

TASK_PREFIX = "Isaac-"
AGENT_ENTRY_POINT = "rsl_rl_cfg_entry_point"
INSTALL = (
    "bash envs/install_isaaclab.sh (Isaac Lab 3 in its own venv, CPU; then .venv-isaaclab/bin/python train.py ...), "
    "or with a GPU as Isaac Lab documents it (README, Isaac Lab)"
)
_simulation = contextlib.ExitStack()
atexit.register(_simulation.close)


def is_isaaclab_task(name: str | None) -> bool:
    return bool(name) and name.startswith(TASK_PREFIX)


def require_isaaclab(task: str) -> None:
    """One line unless Isaac Lab 3 is importable here."""
    if importlib.util.find_spec("isaaclab") is None or importlib.util.find_spec("isaaclab_tasks") is None:
        raise CppoError(f"{task} is an Isaac Lab task, but Isaac Lab is not installed in this Python: {INSTALL}")
    version = importlib.metadata.version("isaaclab")
    if int(version.split(".")[0]) < 3:
        raise CppoError(
            f"Isaac Lab {version} is installed; cppo needs Isaac Lab 3 (2.x: no longer supported): {INSTALL}"
        )


def task_ids() -> list[str]:
    import gymnasium as gym
    import isaaclab_tasks  # noqa: F401  (registers the gymnasium ids)

    return sorted(name for name in gym.registry if name.startswith(TASK_PREFIX))


def canonical_task_id(task: str) -> str:
    """The Isaac Lab 3 id of `task`; a 2.x id (`...-v0`) maps to its 3.0 name with a note, an unknown one
    stops with one line naming the closest ids."""
    known = task_ids()
    if task in known:
        return task

    def spelling(name: str) -> str:  # 3.0 dropped "-v0" and some hyphens (Anymal-D → AnymalD)
        return name.removesuffix("-v0").replace("-", "").lower()

    renamed = [name for name in known if spelling(name) == spelling(task)]
    if len(renamed) == 1:
        print(f"[cppo] note: Isaac Lab 3 names {task} '{renamed[0]}'", file=sys.stderr)
        return renamed[0]
    close = difflib.get_close_matches(task.removesuffix("-v0"), known, n=3, cutoff=0.6)
    hint = f"; closest: {', '.join(close)}" if close else f"; Isaac Lab has {len(known)} (python train.py --list)"
    raise CppoError(f"Isaac Lab has no task '{task}'{hint}")


def registered_configs(task: str) -> tuple[Any, Any]:
    """(env config, rsl_rl agent config) as the task registers them, presets resolved (fresh objects)."""
    from isaaclab_tasks.utils import resolve_task_config

    env_cfg, agent_cfg = resolve_task_config(task, AGENT_ENTRY_POINT, overrides=[])
    if agent_cfg is None:
        raise CppoError(f"Isaac Lab's {task} registers no rsl_rl agent config ({AGENT_ENTRY_POINT})")
    return env_cfg, agent_cfg


def make_isaaclab_env(
    cfg: IsaacLabEnvCfg, device: str | torch.device, render_mode: str | None = None
) -> IsaacLabVecEnv:
    import gymnasium as gym
    from isaaclab.app import launch_simulation
    from isaaclab_rl.rsl_rl import RslRlVecEnvWrapper

    env_cfg, _ = registered_configs(cfg.task_id)
    if str(device).startswith("cpu") and "OMP_NUM_THREADS" not in os.environ:
        # On a CPU the simulation runs in warp's kernels; torch's second OpenMP thread gains little there but spins
        # at every parallel region, and beside one busy process it slowed an iteration 13× instead of 2×
        # (bench/RESULTS.md, "Isaac Lab beside a busy process"). An OMP_NUM_THREADS the user set wins.
        torch.set_num_threads(1)
    env_cfg.scene.num_envs = cfg.num_envs
    env_cfg.seed = cfg.seed
    env_cfg.sim.device = str(device)
    env_cfg.compute_final_obs = cfg.final_observations
    # Kit-less unless the task's config needs Isaac Sim; kept open until the process exits.
    _simulation.enter_context(launch_simulation(env_cfg, {"device": str(device)}))
    try:
        env = gym.make(cfg.task_id, cfg=env_cfg, render_mode=render_mode)
    except FileNotFoundError as err:
        raise CppoError(missing_asset(err)) from None
    return IsaacLabVecEnv(RslRlVecEnvWrapper(env, clip_actions=cfg.clip_actions or None), cfg)


def check_local_assets(task: str) -> None:
    """Before a run folder exists: one line if the asset root is a local folder that lacks a file the task's
    scene spawns (a server root is only reached when the env is built)."""
    from isaaclab.utils.assets import NUCLEUS_ASSET_ROOT_DIR

    if "://" in NUCLEUS_ASSET_ROOT_DIR:
        return
    scene = registered_configs(task)[0].scene
    for asset in vars(scene).values():
        path = getattr(getattr(asset, "spawn", None), "usd_path", None)
        if isinstance(path, str) and path.startswith(NUCLEUS_ASSET_ROOT_DIR) and not os.path.exists(path):
            raise CppoError(missing_asset(FileNotFoundError(path)))


def missing_asset(err: Exception) -> str:
    from isaaclab.utils.assets import NUCLEUS_ASSET_ROOT_DIR

    return (
        f"Isaac Lab could not load an asset ({err}) from {NUCLEUS_ASSET_ROOT_DIR}; without network access to "
        "NVIDIA's asset server, write the cartpole's locally: python -m envs.isaaclab_assets DIR, then set "
        "ISAACSIM_ASSET_ROOT=DIR"
    )


class IsaacLabVecEnv(CppoVecEnv):
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
        # Present only on steps where some env reset (Isaac Lab computes it just before resetting them).
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

    def reset(self) -> TensorDict:
        obs, _ = self.wrapped.reset()
        return obs

    def close(self) -> None:
        self.wrapped.close()

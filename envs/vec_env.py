"""The backend contract: what every simulator backend's env provides, written down once.

Required — rsl_rl's `VecEnv` (what its runner reads): `num_envs`, `num_actions`, `max_episode_length`,
`episode_length_buf`, `device`, `cfg`, `get_observations()` → a TensorDict with a "policy" group (and "critic"
where the critic sees more), `step(actions)` → (observations, rewards [num_envs], dones [num_envs], extras), where
extras carries "time_outs" [num_envs] and, on every step where some env ended, "final_observations" (the true last
observation of every env, before the auto-reset: the critic bootstraps time-outs from it). And from this class:
`deployment_info` (what robot-side code needs beside the network), `reset()` and `close()`.

Optional capabilities — each declared here with its default; a backend overrides the ones it has, and nothing
outside envs/ asks an env whether it has an attribute:

| capability | default | who uses it |
|---|---|---|
| `mj_model`, `physics_state(i)`, `step_dt` | None | play.py's viewer and mp4 recordings (a MuJoCo scene) |
| `plane_positions()` | None | play.py's trajectory picture (a point moving in a plane: MultiGoal) |
| `has_command`, `set_command()` | False / refuses | play.py --command and the viewer's arrow keys (joystick tasks) |
| `rng_state()`, `set_rng_state()` | None / nothing | checkpoints: the env's own random stream, restored on --resume |

A new backend: subclass this, register it in `envs.BACKENDS` (docs/extending.md); tests/test_backends.py holds
every backend to the contract.
"""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import torch
from rsl_rl.env import VecEnv
from tensordict import TensorDict

from cppo.errors import UsageError


class CppoVecEnv(VecEnv):
    """rsl_rl's VecEnv plus deployment, closing and the optional capabilities above (with their defaults)."""

    has_command: bool = False
    """A joystick task: `set_command` can hold its velocity command fixed."""
    step_dt: float
    """Seconds of simulated time per step (a MuJoCo scene's viewer and video play at this rate)."""

    @property
    @abstractmethod
    def deployment_info(self) -> dict:
        """What robot-side code needs beside the network (envs.deploy; play.py's export writes it out)."""

    @abstractmethod
    def close(self) -> None:
        """Release the simulator."""

    @abstractmethod
    def reset(self) -> TensorDict:
        """A fresh episode in every env; returns the observations (play.py, the viewer's reset key)."""

    @property
    def mj_model(self) -> Any | None:
        """The host-side MuJoCo model of a MuJoCo scene (None: nothing to render in 3-D)."""
        return None

    def physics_state(self, index: int = 0) -> dict:
        """Env `index`'s MuJoCo state (qpos, qvel, ...) as numpy arrays, with `mj_model` and `step_dt`."""
        raise NotImplementedError(f"{type(self).__name__} has no MuJoCo scene")

    def plane_positions(self) -> torch.Tensor | None:
        """[num_envs, 2] positions of a point moving in a plane, for a trajectory picture (None: not such a task)."""
        return None

    def set_command(self, command: tuple[float, float, float] | None) -> None:
        """Hold the velocity command (forward m/s, lateral m/s, yaw rad/s) fixed; None: the env samples again."""
        raise UsageError(f"{type(self).__name__} takes no velocity command")

    def rng_state(self) -> Any | None:
        """The env's own random stream for checkpoints (None: it has none beyond torch's global one)."""
        return None

    def set_rng_state(self, state: Any) -> None:
        """Restore what `rng_state` returned."""

"""The VecEnv every backend here builds: rsl_rl's, plus what play.py and train.py use beyond it."""

from __future__ import annotations

from abc import abstractmethod
from typing import Protocol

from rsl_rl.env import VecEnv


class CppoVecEnv(VecEnv):
    """rsl_rl's VecEnv declares what its runner reads; ours also describe their deployment and close."""

    @property
    @abstractmethod
    def deployment_info(self) -> dict:
        """What robot-side code needs beside the network (envs.deploy; play.py's export writes it out)."""

    @abstractmethod
    def close(self) -> None:
        """Release the simulator."""


class Steerable(Protocol):
    """An env with a velocity command (`has_command`: Playground's joystick tasks)."""

    has_command: bool

    def set_command(self, command: tuple[float, float, float] | None) -> None: ...

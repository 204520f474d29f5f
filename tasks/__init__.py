"""The task registry: task name → simulator backend, env config and default agent config per algorithm.

Each task's defaults live in one place (its module's table); the CLI overrides them field by field.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cppo.algorithms import get_algorithm
from cppo.config import AgentCfg
from cppo.errors import UsageError

DEFAULT_TASK = "CartpoleBalance"
DEFAULT_ALGORITHM = "cppo"
"""The product's main job: the flow policy trained by conditional PPO (`--algo ppo` for rsl_rl's Gaussian PPO)."""


@dataclass(frozen=True)
class TaskSpec:
    name: str
    backend: str
    """A key of envs.BACKENDS: "playground" (MuJoCo Playground), "builtin" (small torch envs), "isaaclab"."""
    env_cfg: Callable[[], Any]
    agent: Callable[[], AgentCfg]
    """The task's default agent config with PPO settings; every algorithm starts from it (cppo.algorithms)."""
    algorithm_fields: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per algorithm name, the task's departures from those settings (e.g. DIPOLE's fit budget)."""
    menagerie_robot: str | None = None
    """mujoco_menagerie folder the task's robot lives in (None: the env ships its own model)."""
    cpu_sizes: dict[str, Any] = field(default_factory=dict)
    """Config values (override keys, e.g. "env.num_envs") that replace GPU-sized defaults on a CPU run."""

    def agent_cfg(self, algo: str) -> AgentCfg:
        """A fresh default agent config for one registered algorithm."""
        algorithm = get_algorithm(algo)
        cfg = self.agent()
        cfg.algorithm = algorithm.algorithm_cfg(cfg.algorithm, **self.algorithm_fields.get(algo, {}))
        return cfg


# DIPOLE's flows learn by weighted regression, not through a ratio: on the small (CPU-sized) rollouts they
# need ~160 gradient steps per iteration where PPO takes 20 (docs/dipole.md).
DIPOLE_FIT = {"num_mini_batches": 16, "num_learning_epochs": 10}


REGISTRY: dict[str, TaskSpec] = {}


def register(spec: TaskSpec) -> None:
    from envs import BACKENDS

    if spec.name in REGISTRY:
        raise ValueError(f"task {spec.name} registered twice")
    if spec.backend not in BACKENDS:
        raise ValueError(f"task {spec.name}: no backend '{spec.backend}' in envs.BACKENDS ({', '.join(BACKENDS)})")
    REGISTRY[spec.name] = spec


def get_task(name: str) -> TaskSpec:
    if name.startswith("Isaac-") and name not in REGISTRY:
        from tasks.isaaclab import isaaclab_task

        return isaaclab_task(name)  # any Isaac Lab task id passes through
    if name not in REGISTRY:
        close = difflib.get_close_matches(name, REGISTRY, n=3, cutoff=0.5)
        hint = f"; closest: {', '.join(close)}" if close else ""
        raise UsageError(f"unknown task '{name}'{hint} (python train.py --list shows all tasks)")
    return REGISTRY[name]


from tasks import builtin, dm_control, locomotion  # noqa: E402,F401  (they register their tasks)

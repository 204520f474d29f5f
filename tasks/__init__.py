"""The task registry: task name → simulator backend, env config and default agent config per algorithm.

Each task's defaults live in one place (its module's table); the CLI overrides them field by field.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable

from cppo.config import AgentCfg, CPPOCfg, DipoleCfg, flow_algorithm
from cppo.errors import UsageError

DEFAULT_TASK = "CartpoleBalance"
DEFAULT_ALGORITHM = "cppo"
"""The product's main job: the flow policy trained by conditional PPO (`--algo ppo` for rsl_rl's Gaussian PPO)."""


@dataclass(frozen=True)
class TaskSpec:
    name: str
    backend: str
    """"playground" (MuJoCo Playground) or "builtin" (small torch envs in envs/)."""
    env_cfg: Callable[[], Any]
    agent_cfgs: dict[str, Callable[[], AgentCfg]]
    """Algorithm name → a fresh default agent config."""
    menagerie_robot: str | None = None
    """mujoco_menagerie folder the task's robot lives in (None: the env ships its own model)."""
    cpu_sizes: dict[str, Any] = field(default_factory=dict)
    """Config values (override keys, e.g. "env.num_envs") that replace GPU-sized defaults on a CPU run."""

    def agent_cfg(self, algo: str) -> AgentCfg:
        if algo not in self.agent_cfgs:
            raise UsageError(f"unknown algorithm '{algo}' for task {self.name}; choose from: {', '.join(self.agent_cfgs)}")
        return self.agent_cfgs[algo]()


# DIPOLE's flows learn by weighted regression, not through a ratio: on the small (CPU-sized) rollouts they
# need ~160 gradient steps per iteration where PPO takes 20 (docs/dipole.md).
DIPOLE_FIT = {"num_mini_batches": 16, "num_learning_epochs": 10}


def algorithms(ppo: Callable[[], AgentCfg], **flow_fields: dict[str, Any]) -> dict[str, Callable[[], AgentCfg]]:
    """A task's agent configs for every algorithm, from its PPO config: CPPO and DIPOLE keep PPO's rollout,
    critic and optimizer settings; `flow_fields` sets algorithm fields per algorithm, e.g. cppo={...}."""

    def flow(algorithm: type, fields: dict[str, Any]) -> AgentCfg:
        cfg = ppo()
        cfg.algorithm = flow_algorithm(cfg.algorithm, algorithm, **fields)
        return cfg

    agents = {"ppo": ppo}
    for name, algorithm in (("cppo", CPPOCfg), ("dipole", DipoleCfg)):
        agents[name] = partial(flow, algorithm, flow_fields.get(name, {}))
    return agents


REGISTRY: dict[str, TaskSpec] = {}


def register(spec: TaskSpec) -> None:
    if spec.name in REGISTRY:
        raise ValueError(f"task {spec.name} registered twice")
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

"""The algorithm registry: the one place that says what each algorithm is and what it supports.

An entry names the algorithm's config (which in turn names its rsl_rl algorithm class and its actor) and its
capabilities; train.py, play.py, export, the task registry and the Isaac Lab translation ask this registry
instead of testing names or classes. Adding an algorithm is its module(s), one `register(...)` call and its
tests. Importing this module imports no torch (the task registry reads it).
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass
from typing import Any

from cppo.config import PPOCfg
from cppo.cppo.config import CPPOCfg, CPPOStudyCfg
from cppo.dipole.config import DipoleCfg
from cppo.errors import UsageError
from cppo.fpo.config import FPOCfg


@dataclass(frozen=True)
class Algorithm:
    name: str
    config: type[PPOCfg]
    """Its `agent.algorithm` config: the fields, their checks, the algorithm and actor classes it builds."""
    summary: str
    """One line for --help and --list."""
    deployed: str
    """What the exported policy computes, as the export metadata says it."""
    flow: bool = False
    """A flow policy: it takes a noise input ε at deployment (zeros = deterministic) and can be cloned from a
    dataset first (`train.py --pretrain`)."""
    offline: bool = False
    """It can train from a recorded dataset alone (`train.py --dataset`)."""
    live_inputs: tuple[str, ...] = ()
    """Exported-graph inputs beyond obs and noise, each an actor attribute of the same name that play.py takes
    as a flag (DIPOLE's greediness ω: `--omega`)."""
    flow_only_deployment: bool = False
    """The policy can also be deployed without its kernel residual (play.py --deployed flow)."""
    torch_compile: bool = False
    """rsl_rl's `agent.torch_compile_mode` compiles its networks."""

    def algorithm_cfg(self, ppo: PPOCfg, **fields: Any) -> PPOCfg:
        """This algorithm's config from a task's PPO settings (rollout, critic, optimizer), except the fields
        the config keeps at its own defaults (`not_inherited`), with `fields` set on top."""
        if self.config is PPOCfg:
            return dataclasses.replace(ppo, **fields)
        shared = {
            f.name: getattr(ppo, f.name) for f in dataclasses.fields(PPOCfg) if f.name not in self.config.not_inherited
        }
        return self.config(**{**shared, **fields})


REGISTRY: dict[str, Algorithm] = {}
"""The algorithms a user chooses from: --help, --list and error messages name these."""
STUDIES: dict[str, Algorithm] = {}
"""Study variants for bench/ (switches measured worse than the defaults): `--algo NAME` runs them, nothing lists
them."""


def register(algorithm: Algorithm, study: bool = False) -> Algorithm:
    if algorithm.name in REGISTRY or algorithm.name in STUDIES:
        raise ValueError(f"algorithm {algorithm.name} registered twice")
    (STUDIES if study else REGISTRY)[algorithm.name] = algorithm
    return algorithm


def get_algorithm(name: str) -> Algorithm:
    if name in STUDIES:
        return STUDIES[name]
    if name not in REGISTRY:
        close = difflib.get_close_matches(name, REGISTRY, n=2, cutoff=0.5)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise UsageError(f"unknown algorithm '{name}'{hint}; choose from: {', '.join(REGISTRY)}")
    return REGISTRY[name]


def with_capability(capability: str) -> list[str]:
    """Names of the algorithms whose entry sets `capability` (e.g. "flow"), for messages."""
    return [name for name, algorithm in REGISTRY.items() if getattr(algorithm, capability)]


register(Algorithm("cppo", CPPOCfg, "flow policy trained by conditional PPO (the default)", "flow+residual",
                   flow=True, flow_only_deployment=True))  # fmt: skip
register(Algorithm("ppo", PPOCfg, "rsl_rl's Gaussian PPO", "gaussian mean", torch_compile=True))
register(Algorithm("dipole", DipoleCfg, "two flows (π⁺, π⁻) and a greediness ω", "guided flow",
                   flow=True, offline=True, live_inputs=("omega",)))  # fmt: skip
register(Algorithm("fpo", FPOCfg, "flow policy trained by FPO++ (flow-matching ratio, asymmetric trust region)",
                   "flow", flow=True))  # fmt: skip
register(Algorithm("cppo_study", CPPOStudyCfg, "CPPO with its study switches (docs/ablation.md; not for robots)",
                   "flow+residual", flow=True, flow_only_deployment=True), study=True)  # fmt: skip


def build_without_env(
    agent, obs_dim: int, num_actions: int, num_envs: int = 8, device: str = "cpu", run_left: float | None = 1.0
):
    """The algorithm (PPO, CPPO, DIPOLE, ...) an `AgentCfg` describes, built exactly as the runner builds it but
    for an env of these sizes that need not exist: for exports, benchmarks and unit tests. `run_left`: where in a run
    it starts (1: the first iteration; None: outside a run, as play.py loads a policy)."""
    import torch
    from rsl_rl.utils import resolve_callable
    from tensordict import TensorDict

    class EnvShape:  # the VecEnv attributes construct_algorithm reads
        def __init__(self):
            self.num_envs, self.num_actions, self.device = num_envs, num_actions, device

    cfg = agent.to_runner_dict(critic_group="policy")
    cfg["multi_gpu"] = None
    obs = TensorDict({"policy": torch.zeros(num_envs, obs_dim)}, batch_size=[num_envs])
    algorithm_class = resolve_callable(cfg["algorithm"]["class_name"])
    algorithm = algorithm_class.construct_algorithm(obs, EnvShape(), cfg, device)
    if run_left is not None:
        algorithm.run_left = run_left  # the runner's first word to the algorithm
    return algorithm

"""Typed training configs and `key=value` overrides.

An agent config holds what rsl_rl's OnPolicyRunner reads (`to_runner_dict()` builds its nested dict) plus
the run bookkeeping Isaac Lab's scripts keep next to it (seed, max_iterations, experiment name).
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from cppo.errors import UsageError

# rsl_rl's activations (rsl_rl.utils.resolve_nn_activation)
Activation = Literal[
    "elu", "selu", "relu", "crelu", "lrelu", "tanh", "sigmoid", "softplus", "gelu", "swish", "mish", "identity"
]


@dataclass
class PolicyCfg:
    """Actor and critic MLPs (rsl_rl's MLPModel)."""

    actor_hidden_dims: tuple[int, ...] = (256, 256, 256)
    critic_hidden_dims: tuple[int, ...] = (256, 256, 256)
    activation: Activation = "elu"
    obs_normalization: bool = True
    init_noise_std: float = 1.0

    limits: ClassVar[dict[str, str]] = {
        "actor_hidden_dims": ">= 1",
        "critic_hidden_dims": ">= 1",
        "init_noise_std": "> 0",
    }

    def network(self, hidden_dims: tuple[int, ...]) -> dict[str, Any]:
        """The fields every actor/critic network of the runner config shares."""
        return {
            "hidden_dims": list(hidden_dims),
            "activation": self.activation,
            "obs_normalization": self.obs_normalization,
        }


@dataclass
class PPOCfg:
    """rsl_rl PPO hyper-parameters (names and meaning as in rsl_rl.algorithms.PPO)."""

    num_learning_epochs: int = 5
    num_mini_batches: int = 4
    clip_param: float = 0.2
    gamma: float = 0.99
    lam: float = 0.95
    value_loss_coef: float = 1.0
    entropy_coef: float = 0.01
    learning_rate: float = 1e-3
    max_grad_norm: float = 1.0
    use_clipped_value_loss: bool = True
    schedule: Literal["adaptive", "fixed"] = "adaptive"
    desired_kl: float = 0.01
    max_learning_rate: float = 1e-2
    """Ceiling of the adaptive schedule (rsl_rl's rule raises the rate up to 1e-2; cppo/ppo.py)."""
    rate_change_per_iteration: float = 0.0
    """The adaptive schedule may change the rate by at most this factor within one iteration (0: no limit —
    rsl_rl's rule, 1.5× per mini-batch). cppo/ppo.py; measured in bench/RESULTS.md."""
    ceiling_decay: Literal["none", "linear"] = "none"
    """"linear": the adaptive schedule's ceiling falls from max_learning_rate at the first iteration to
    max_learning_rate / T at the last (T: the run's iterations; CleanRL's learning-rate annealing applied to the
    ceiling), which stops Gaussian PPO's late collapse on the dm_control tasks, their default (bench/RESULTS.md);
    "none": rsl_rl's fixed ceiling."""
    entropy_decay: Literal["none", "linear"] = "none"
    """"linear": the entropy bonus's coefficient falls from entropy_coef at the first iteration to entropy_coef / T
    at the last, as ceiling_decay's ceiling does, so σ is free to shrink once the policy has found what to do;
    "none": rsl_rl's constant coefficient."""

    class_name: ClassVar[str] = "cppo.ppo:PPO"
    not_inherited: ClassVar[tuple[str, ...]] = ()
    """PPO fields a flow algorithm's config keeps at its own default instead of the task's PPO value."""
    limits: ClassVar[dict[str, str]] = {
        "num_learning_epochs": ">= 1", "num_mini_batches": ">= 1", "clip_param": "> 0", "gamma": "[0, 1]",
        "lam": "[0, 1]", "value_loss_coef": ">= 0", "entropy_coef": ">= 0", "learning_rate": "> 0",
        "max_grad_norm": "> 0", "desired_kl": "> 0", "max_learning_rate": "> 0", "rate_change_per_iteration": ">= 0",
    }  # fmt: skip

    def invariants(self, prefix: str) -> Iterator[str]:
        change = self.rate_change_per_iteration
        if 0 < change < 1:
            yield f"bad value {prefix}rate_change_per_iteration={change}: must be 0 (off) or ≥ 1"
        if self.learning_rate > self.max_learning_rate:
            yield (
                f"bad value {prefix}learning_rate={self.learning_rate}: "
                f"must be ≤ max_learning_rate ({self.max_learning_rate})"
            )

    def actor_cfg(self, policy: PolicyCfg) -> dict[str, Any]:
        """rsl_rl's MLPModel with a Gaussian head."""
        return {
            "class_name": "rsl_rl.models:MLPModel",
            **policy.network(policy.actor_hidden_dims),
            "distribution_cfg": {
                "class_name": "rsl_rl.modules:GaussianDistribution",
                "init_std": policy.init_noise_std,
                "std_type": "scalar",
            },
        }

    def algorithm_cfg(self) -> dict[str, Any]:
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in self.actor_fields()}
        return {"class_name": self.class_name, **fields, "rnd_cfg": None, "symmetry_cfg": None}

    def actor_fields(self) -> tuple[str, ...]:
        """Fields that configure the actor network rather than the algorithm."""
        return ()

    def mini_batch_fields(self) -> dict[str, int]:
        """Fields that split one rollout (num_envs × num_steps_per_env samples) into mini-batches."""
        return {"num_mini_batches": self.num_mini_batches}


@dataclass
class FlowCfg(PPOCfg):
    """The actor fields every flow algorithm shares (cppo/flow.py's sampler, cppo/flow_actor.py), on top of
    PPO's rollout, critic and optimizer fields. Each flow algorithm's config subclasses it."""

    flow_steps: int = 8
    """K: integration steps from noise to action, at rollout and at deployment."""
    integrator: Literal["euler", "midpoint"] = "euler"
    action_limit: float = 1.0
    """Sampled actions are clipped to ±action_limit."""
    cuda_graphs: bool = True
    """Replay the rollout's K-step sampler from CUDA graphs on a GPU (no effect on a CPU)."""

    actor_class: ClassVar[str]
    """The actor's rsl_rl class path (`module:Class`); each flow algorithm's config sets it."""
    fixed_schedule_because: ClassVar[str] = ""
    """Why the algorithm's rate cannot adapt, said in the error a `schedule="adaptive"` gets ("": it can adapt)."""
    limits: ClassVar[dict[str, str]] = {**PPOCfg.limits, "flow_steps": ">= 1", "action_limit": "> 0"}

    def invariants(self, prefix: str) -> Iterator[str]:
        yield from super().invariants(prefix)
        if self.fixed_schedule_because and self.schedule != "fixed":
            yield f"bad value {prefix}schedule={self.schedule}: must be fixed ({self.fixed_schedule_because})"

    def actor_fields(self) -> tuple[str, ...]:
        return ("flow_steps", "integrator", "action_limit", "cuda_graphs")

    def actor_cfg(self, policy: PolicyCfg) -> dict[str, Any]:
        return {
            "class_name": self.actor_class,
            **policy.network(policy.actor_hidden_dims),
            **{name: getattr(self, name) for name in self.actor_fields()},
        }


@dataclass
class OfflineCfg:
    """Learning from a recorded dataset (cppo/offline.py): `train.py --pretrain FILE` (behaviour cloning of
    a cppo or dipole flow) and `train.py --algo dipole --dataset FILE` (offline DIPOLE, IQL critic)."""

    steps: int = 10000
    """Gradient steps of offline DIPOLE (~5 minutes on 2 CPU cores at the default sizes)."""
    pretrain_steps: int = 3000
    """Gradient steps of behaviour cloning."""
    batch_size: int = 1024
    expectile: float = 0.9
    """τ_e of V's expectile regression onto the target Q (0.5: the behaviour's mean value; → 1: its best)."""
    target_polyak: float = 0.05
    """Q̄ ← (1 − ρ)·Q̄ + ρ·Q after every step. IQL's 0.005 is for ~1M steps; in 4k–20k steps values must cross
    a ~100-step horizon (γ = 0.99), and with 0.005 V kept a third of the returns' spread (docs/dipole.md)."""
    q_hidden_dims: tuple[int, ...] = (256, 256)

    limits: ClassVar[dict[str, str]] = {
        "steps": ">= 1",
        "pretrain_steps": ">= 1",
        "batch_size": ">= 1",
        "expectile": "(0, 1)",
        "target_polyak": "(0, 1]",
        "q_hidden_dims": ">= 1",
    }


@dataclass
class AgentCfg:
    """One training run: runner settings, networks and the algorithm."""

    algorithm: PPOCfg = field(default_factory=PPOCfg)
    policy: PolicyCfg = field(default_factory=PolicyCfg)
    num_steps_per_env: int = 24
    max_iterations: int = 300
    """Total iterations of the run; a resumed run continues up to this same total."""
    save_interval: int = 50
    keep_checkpoints: int = 10
    """Newest model_<it>.pt files kept on disk (0: all); model_best.pt is kept besides."""
    seed: int = 42
    experiment_name: str = ""
    run_name: str = ""
    logger: Literal["tensorboard", "wandb"] = "tensorboard"
    init_at_random_ep_len: bool = True
    """Start envs at random points of their episodes, so time-outs do not all land on the same step."""
    offline: OfflineCfg = field(default_factory=OfflineCfg)
    torch_compile_mode: Literal["none", "default", "max-autotune-no-cudagraphs"] = "none"
    """rsl_rl's torch.compile of the actor and critic (its CUDA-graph modes are refused by rsl_rl itself). Only
    for the algorithms whose registry entry allows it: the flow algorithms call their networks through methods
    that torch.compile's wrapper does not compile, and replay their sampler from CUDA graphs instead."""

    limits: ClassVar[dict[str, str]] = {
        "num_steps_per_env": ">= 1",
        "max_iterations": ">= 0",
        "save_interval": ">= 1",
        "keep_checkpoints": ">= 0",
        "seed": "[0, 2147483647]",  # numpy's and JAX's seeds are 32-bit; rank r of a distributed run uses seed + r
    }

    def invariants(self, prefix: str) -> Iterator[str]:
        for name in ("experiment_name", "run_name"):
            if "/" in getattr(self, name) or "\\" in getattr(self, name):
                yield f"bad value {prefix}{name}={getattr(self, name)}: must be a folder name, without / or \\"

    def check_batch(self, num_envs: int) -> None:
        """Every mini-batch count must split the rollout into equal, non-empty parts."""
        batch = num_envs * self.num_steps_per_env
        for name, count in self.algorithm.mini_batch_fields().items():
            if batch % count:
                raise UsageError(
                    f"bad value agent.algorithm.{name}={count}: must divide the rollout of {batch} samples "
                    f"(num_envs {num_envs} × num_steps_per_env {self.num_steps_per_env})"
                )

    def to_runner_dict(self, critic_group: str) -> dict[str, Any]:
        """The nested dict rsl_rl's OnPolicyRunner expects."""
        policy = self.policy
        critic = {"class_name": "rsl_rl.models:MLPModel", **policy.network(policy.critic_hidden_dims)}
        return {
            "num_steps_per_env": self.num_steps_per_env,
            "save_interval": self.save_interval,
            "keep_checkpoints": self.keep_checkpoints,
            "obs_groups": {"actor": ["policy"], "critic": [critic_group]},
            "algorithm": self.algorithm.algorithm_cfg(),
            "actor": self.algorithm.actor_cfg(policy),
            "critic": critic,
            "logger": self.logger
            if self.logger != "wandb"
            else {"class_name": "WandbLogWriter", "project_name": self.experiment_name},
            "experiment_name": self.experiment_name,
            "run_name": self.run_name,
            "torch_compile_mode": None if self.torch_compile_mode == "none" else self.torch_compile_mode,
        }


# --- key=value overrides --------------------------------------------------------------------------


def field_paths(cfg: Any, prefix: str = "") -> dict[str, tuple[Any, dataclasses.Field]]:
    """Every leaf field of a nested dataclass, by dotted path → (owning object, field)."""
    paths = {}
    for f in dataclasses.fields(cfg):
        value = getattr(cfg, f.name)
        if dataclasses.is_dataclass(value):
            paths.update(field_paths(value, f"{prefix}{f.name}."))
        else:
            paths[f"{prefix}{f.name}"] = (cfg, f)
    return paths


def parse_value(text: str, kind: Any, key: str) -> Any:
    """Convert `text` to the field's annotated type, or raise a UsageError that names the key."""
    origin = typing.get_origin(kind)
    try:
        if kind is bool:
            lowered = text.lower()
            if lowered in ("true", "1", "yes", "on"):
                return True
            if lowered in ("false", "0", "no", "off"):
                return False
            raise ValueError
        if kind in (int, float, str):
            return kind(text)
        if origin is Literal:  # a choice: validation names the options
            return text
        if origin is tuple:
            item = typing.get_args(kind)[0]
            parts = [p for p in text.strip("()[] ").split(",") if p.strip()]
            return tuple(parse_value(p.strip(), item, key) for p in parts)
        if origin in (typing.Union, types.UnionType):
            for option in typing.get_args(kind):
                if option is type(None) and text.lower() in ("none", "null"):
                    return None
            return parse_value(text, next(o for o in typing.get_args(kind) if o is not type(None)), key)
    except (ValueError, StopIteration):
        pass
    name = getattr(kind, "__name__", str(kind))
    raise UsageError(f"bad value for {key}: '{text}' is not a valid {name}")


def config_paths(roots: dict[str, Any]) -> dict[str, tuple[Any, dataclasses.Field]]:
    paths = {}
    for section, cfg in roots.items():
        paths.update(field_paths(cfg, f"{section}."))
    return paths


def lookup(paths: dict[str, tuple[Any, dataclasses.Field]], key: str, sections) -> tuple[Any, dataclasses.Field]:
    if key not in paths:
        close = difflib.get_close_matches(key, paths, n=3, cutoff=0.6)
        hint = (
            f"; did you mean {', '.join(close)}?"
            if close
            else f"; valid keys start with {', '.join(s + '.' for s in sections)}"
        )
        raise UsageError(f"unknown config key '{key}'{hint}")
    return paths[key]


def apply_overrides(roots: dict[str, Any], overrides: list[str]) -> None:
    """Apply `section.path=value` strings (e.g. `agent.algorithm.learning_rate=3e-4`, `env.num_envs=64`)."""
    paths = config_paths(roots)
    for override in overrides:
        key, sep, text = override.partition("=")
        if not sep or not key:
            raise UsageError(f"bad override '{override}': expected key=value, e.g. agent.algorithm.learning_rate=3e-4")
        owner, f = lookup(paths, key, roots)
        hints = typing.get_type_hints(type(owner))
        setattr(owner, f.name, parse_value(text, hints[f.name], key))


def apply_values(roots: dict[str, Any], values: dict[str, Any]) -> None:
    """`apply_overrides` for values already typed (e.g. a task's CPU sizes)."""
    paths = config_paths(roots)
    for key, value in values.items():
        owner, f = lookup(paths, key, roots)
        setattr(owner, f.name, value)


# --- configs as plain data (YAML files, checkpoint records) ----------------------------------------


def to_plain(value: Any) -> Any:
    """A dataclass (or nested value) as dicts, lists and scalars, readable by yaml.safe_load and
    torch.load(weights_only=True) alike."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    return value


def update_from_plain(cfg: Any, data: dict) -> None:
    """Set a typed config's fields from `to_plain` output. Keys the config does not have (written by
    another cppo version) are skipped: the registry default stands for them."""
    for f in dataclasses.fields(cfg):
        if f.name not in data:
            continue
        current, value = getattr(cfg, f.name), data[f.name]
        if dataclasses.is_dataclass(current) and isinstance(value, dict):
            update_from_plain(current, value)
        elif isinstance(current, tuple) and isinstance(value, list):
            setattr(cfg, f.name, tuple(value))
        else:
            setattr(cfg, f.name, value)

"""Isaac Lab tasks: any Isaac Lab 3 gymnasium id starting with "Isaac-" passes through (`--task Isaac-Cartpole`).

The task's registered rsl_rl agent config (its `rsl_rl_cfg_entry_point`, an `RslRlOnPolicyRunnerCfg` with
`actor`/`critic` model configs) is translated into ours, so `--algo ppo` reproduces Isaac Lab's own baseline
and the flow algorithms start from the same sizes, rollout and optimizer. Reading it imports Isaac Lab's
task modules but starts no simulator.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from cppo.algorithms import get_algorithm
from cppo.config import AgentCfg, PolicyCfg, PPOCfg
from cppo.errors import CppoError
from envs.config import IsaacLabEnvCfg
from tasks import TaskSpec

# rsl_rl PPO fields Isaac Lab's RslRlPpoAlgorithmCfg shares with ours (same names, same meaning).
PPO_FIELDS = (
    "num_learning_epochs", "num_mini_batches", "clip_param", "gamma", "lam", "value_loss_coef", "entropy_coef",
    "learning_rate", "max_grad_norm", "use_clipped_value_loss", "schedule", "desired_kl",
)  # fmt: skip


def agent_cfg_from_isaaclab(registered: dict[str, Any], algo: str = "ppo") -> AgentCfg:
    """Our AgentCfg for `algo` from an Isaac Lab 3 RslRlOnPolicyRunnerCfg as a dict (`cfg.to_dict()`): its PPO
    settings, from which every registered algorithm derives its own (cppo.algorithms).

    Isaac Lab normalizes actor and critic inputs separately; ours share one switch, taken from the actor's.
    The run keeps our `<task>_<algo>` experiment name."""
    actor, critic, algorithm = registered["actor"], registered["critic"], registered["algorithm"]
    for role, model in (("actor", actor), ("critic", critic)):
        if model.get("class_name", "MLPModel") != "MLPModel":
            raise CppoError(f"cppo trains MLP networks; this task's {role} is a {model['class_name']}")
    distribution = actor.get("distribution_cfg") or {}
    return AgentCfg(
        algorithm=get_algorithm(algo).algorithm_cfg(PPOCfg(**{name: algorithm[name] for name in PPO_FIELDS})),
        policy=PolicyCfg(
            actor_hidden_dims=tuple(actor["hidden_dims"]),
            critic_hidden_dims=tuple(critic["hidden_dims"]),
            activation=actor["activation"],
            obs_normalization=bool(actor.get("obs_normalization")),
            init_noise_std=distribution.get("init_std", 1.0),
        ),
        num_steps_per_env=registered["num_steps_per_env"],
        max_iterations=registered["max_iterations"],
        save_interval=registered["save_interval"],
        seed=registered.get("seed", 42),
    )


def registered_agent(task: str) -> dict[str, Any]:
    from envs.isaaclab import registered_configs

    return registered_configs(task)[1].to_dict()


def env_cfg(task: str) -> IsaacLabEnvCfg:
    from envs.isaaclab import registered_configs

    registered_env, registered = registered_configs(task)
    clip = registered.to_dict().get("clip_actions") or 0.0
    return IsaacLabEnvCfg(task_id=task, num_envs=registered_env.scene.num_envs, clip_actions=clip)


def agent_cfg(task: str, algo: str = "ppo") -> AgentCfg:
    return agent_cfg_from_isaaclab(registered_agent(task), algo)


def isaaclab_task(name: str) -> TaskSpec:
    """The registry entry of an Isaac Lab task id (2.x `-v0` ids map to 3.0's); one line when Isaac Lab 3 is
    not installed or has no such task."""
    from envs.isaaclab import canonical_task_id, require_isaaclab

    require_isaaclab(name)
    name = canonical_task_id(name)
    return TaskSpec(name, "isaaclab", partial(env_cfg, name), partial(agent_cfg, name))

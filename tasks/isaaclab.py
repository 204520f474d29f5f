"""Isaac Lab tasks: any gymnasium id starting with "Isaac-" passes through (`--task Isaac-Ant-v0`).

The task's registered rsl_rl agent config (its `rsl_rl_cfg_entry_point`) is translated into ours, so
`--algo ppo` reproduces Isaac Lab's own baseline and `--algo cppo` starts from the same sizes. Reading the
registered configs needs Isaac Sim running: train.py / play.py launch it first (envs/isaaclab.py).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from cppo.algorithms import get_algorithm
from cppo.config import AgentCfg, PolicyCfg, PPOCfg
from envs.config import IsaacLabEnvCfg
from tasks import TaskSpec

# rsl_rl PPO fields Isaac Lab's RslRlPpoAlgorithmCfg shares with ours (same names, same meaning).
PPO_FIELDS = (
    "num_learning_epochs", "num_mini_batches", "clip_param", "gamma", "lam", "value_loss_coef", "entropy_coef",
    "learning_rate", "max_grad_norm", "use_clipped_value_loss", "schedule", "desired_kl",
)  # fmt: skip


def agent_cfg_from_isaaclab(registered: dict[str, Any], algo: str = "ppo") -> AgentCfg:
    """Our AgentCfg for `algo` from an Isaac Lab RslRlOnPolicyRunnerCfg as a dict (`cfg.to_dict()`): its PPO
    settings, from which every registered algorithm derives its own (cppo.algorithms).

    Isaac Lab normalizes actor and critic inputs separately; ours share one switch, taken from the actor's
    (older configs: `empirical_normalization`). The run keeps our `<task>_<algo>` experiment name."""
    policy, algorithm = registered["policy"], registered["algorithm"]
    normalization = policy.get("actor_obs_normalization")
    if normalization is None:
        normalization = bool(registered.get("empirical_normalization"))
    return AgentCfg(
        algorithm=get_algorithm(algo).algorithm_cfg(PPOCfg(**{name: algorithm[name] for name in PPO_FIELDS})),
        policy=PolicyCfg(
            actor_hidden_dims=tuple(policy["actor_hidden_dims"]),
            critic_hidden_dims=tuple(policy["critic_hidden_dims"]),
            activation=policy["activation"],
            obs_normalization=normalization,
            init_noise_std=policy["init_noise_std"],
        ),
        num_steps_per_env=registered["num_steps_per_env"],
        max_iterations=registered["max_iterations"],
        save_interval=registered["save_interval"],
        seed=registered.get("seed", 42),
    )


def registered_agent(task: str) -> dict[str, Any]:
    from envs.isaaclab import registered_cfg

    return registered_cfg(task, "rsl_rl_cfg_entry_point").to_dict()


def env_cfg(task: str) -> IsaacLabEnvCfg:
    from envs.isaaclab import registered_cfg

    clip = registered_agent(task).get("clip_actions") or 0.0
    return IsaacLabEnvCfg(
        task_id=task, num_envs=registered_cfg(task, "env_cfg_entry_point").scene.num_envs, clip_actions=clip
    )


def agent_cfg(task: str) -> AgentCfg:
    return agent_cfg_from_isaaclab(registered_agent(task))


def isaaclab_task(name: str) -> TaskSpec:
    """The registry entry of an Isaac Lab task id; a one-line error when Isaac Lab is not installed."""
    from envs.isaaclab import require_isaaclab

    require_isaaclab(name)
    return TaskSpec(name, "isaaclab", partial(env_cfg, name), partial(agent_cfg, name))

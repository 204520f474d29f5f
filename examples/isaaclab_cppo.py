"""CPPO (or any cppo algorithm) under Isaac Lab 3's own trainer, `isaaclab train`.

rsl_rl 5 builds the algorithm and the actor from the class names in its runner config ("module:Class"), so
Isaac Lab's trainer runs CPPO when a task's agent config names them. `register` (an `--external_callback`,
which Isaac Lab runs before it reads any task) adds that config to every Isaac task as a second rsl_rl entry
point, picked with `--agent`:

    PYTHONPATH=. isaaclab train --rl_library rsl_rl --task Isaac-Cartpole \\
        --external_callback examples.isaaclab_cppo.register --agent rsl_rl_cppo_cfg_entry_point

(CPU: add `--device cpu agent.device=cpu`.) The config keeps the task's registered sizes — networks, steps
per env, epochs, mini-batches, γ, λ, learning rate — and names CPPO ("cppo.cppo:CPPO") and its flow policy
("cppo.cppo:FlowPolicy"). `cppo_runner_cfg` gives the same config as a plain dict, for scripts that
build rsl_rl's OnPolicyRunner themselves. Isaac Lab's wrapper bootstraps time-outs from V(s_t), as rsl_rl's
PPO does; cppo's own train.py (`--task Isaac-...`) bootstraps from the env's true final observation.
"""

from __future__ import annotations

from typing import Any

from tasks.isaaclab import agent_cfg_from_isaaclab

ENTRY_POINT = "rsl_rl_cppo_cfg_entry_point"


def cppo_runner_cfg(isaaclab_agent: dict[str, Any], algo: str = "cppo", **switches: Any) -> dict[str, Any]:
    """rsl_rl 5 runner config for `algo` from an Isaac Lab agent config dict (`cfg.to_dict()`); `switches` set
    fields of the algorithm's config (e.g. flow_steps=4)."""
    agent = agent_cfg_from_isaaclab(isaaclab_agent, algo)
    for name, value in switches.items():
        if not hasattr(agent.algorithm, name):
            raise ValueError(f"{algo} has no setting '{name}' (see cppo/{algo}/config.py; ppo's: cppo/config.py)")
        setattr(agent.algorithm, name, value)
    critic_group = (isaaclab_agent.get("obs_groups") or {}).get("critic", ["policy"])[0]
    runner = agent.to_runner_dict(critic_group)
    runner["experiment_name"] = f"{isaaclab_agent.get('experiment_name', 'isaaclab')}_{algo}"
    return runner


def as_configclass(name: str, values: dict[str, Any]) -> Any:
    """An Isaac Lab configclass instance holding `values` (nested dicts become nested configclasses)."""
    from isaaclab.utils import configclass

    fields = {key: as_configclass(key, value) if isinstance(value, dict) else value for key, value in values.items()}
    return configclass(type(name, (), {"__annotations__": dict.fromkeys(fields, Any), **fields}))()


def isaaclab_agent_cfg(task: str, algo: str = "cppo") -> Any:
    """The task's registered rsl_rl runner config with `algo`'s actor, critic and algorithm in place of PPO's."""
    from isaaclab_tasks.utils.parse_cfg import load_cfg_from_registry

    cfg = load_cfg_from_registry(task, "rsl_rl_cfg_entry_point")
    ours = cppo_runner_cfg(cfg.to_dict(), algo)
    # Isaac Lab's config migration reads (and then deletes) these on every model config.
    for model in ("actor", "critic"):
        ours[model] = {**ours[model], "distribution_cfg": ours[model].get("distribution_cfg"), "stochastic": False}
    for key in ("actor", "critic", "algorithm"):
        setattr(cfg, key, as_configclass(f"{algo}_{key}", ours[key]))
    cfg.experiment_name = ours["experiment_name"]
    return cfg


def register() -> None:
    """Isaac Lab `--external_callback`: add ENTRY_POINT (CPPO's agent config) to every registered Isaac task."""
    import gymnasium as gym
    import isaaclab_tasks  # noqa: F401  (registers the tasks)

    for task_id, spec in gym.registry.items():
        if task_id.startswith("Isaac-") and "rsl_rl_cfg_entry_point" in spec.kwargs:

            def cfg(task: str = task_id) -> Any:
                return isaaclab_agent_cfg(task)

            spec.kwargs[ENTRY_POINT] = cfg

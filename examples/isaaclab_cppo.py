"""CPPO from Isaac Lab's own rsl_rl scripts.

rsl_rl 5 builds the algorithm and the actor from the class names in its runner config ("module:Class"),
so CPPO runs inside Isaac Lab's `scripts/reinforcement_learning/rsl_rl/train.py` (with cppo installed in
Isaac Lab's Python) when that script hands the runner a config naming them. Change one line there:

    from examples.isaaclab_cppo import cppo_runner_cfg      # or copy this file next to the script
    runner = OnPolicyRunner(env, cppo_runner_cfg(agent_cfg.to_dict()), log_dir=log_dir, device=agent_cfg.device)

`cppo_runner_cfg` keeps the task's registered sizes (networks, steps per env, epochs, mini-batches, γ, λ,
learning rate, ...) and names CPPO ("cppo.cppo:CPPO") and its flow policy ("cppo.flow_policy:FlowPolicy").
`ANYMAL_D_FLAT` is the result for Isaac-Velocity-Flat-Anymal-D-v0 written out: an agent config to start from.

Isaac Lab's own wrapper reports time-outs only for infinite-horizon tasks and passes the env's final
observations as extras["final_obs"]; CPPO then bootstraps time-outs from V(s_t) as rsl_rl's PPO does.
cppo's own train.py (`--task Isaac-...`) uses the true final observation where the env provides it.
Not run against Isaac Sim (none here); tests/test_isaaclab.py runs the returned config through rsl_rl's
OnPolicyRunner on a stand-in env.
"""

from __future__ import annotations

from typing import Any

from tasks.isaaclab import agent_cfg_from_isaaclab


def cppo_runner_cfg(isaaclab_agent: dict[str, Any], **switches: Any) -> dict[str, Any]:
    """rsl_rl 5 runner config for CPPO from an Isaac Lab agent config dict; `switches` set CPPOCfg fields
    (e.g. flow_steps=4)."""
    agent = agent_cfg_from_isaaclab(isaaclab_agent, "cppo")
    for name, value in switches.items():
        if not hasattr(agent.algorithm, name):
            raise ValueError(f"CPPO has no setting '{name}' (see cppo/config.py CPPOCfg)")
        setattr(agent.algorithm, name, value)
    critic_group = (isaaclab_agent.get("obs_groups") or {}).get("critic", ["policy"])[0]
    runner = agent.to_runner_dict(critic_group)
    runner["experiment_name"] = f"{isaaclab_agent.get('experiment_name', 'isaaclab')}_cppo"
    return runner


# Isaac-Velocity-Flat-Anymal-D-v0's registered AnymalDFlatPPORunnerCfg (Isaac Lab 2.3.2), as `to_dict()` gives it.
ANYMAL_D_FLAT_ISAACLAB = {
    "seed": 42, "num_steps_per_env": 24, "max_iterations": 300, "save_interval": 50, "experiment_name": "anymal_d_flat",
    "obs_groups": {"policy": ["policy"], "critic": ["policy"]}, "clip_actions": None,
    "policy": {"init_noise_std": 1.0, "actor_obs_normalization": False, "critic_obs_normalization": False,
               "actor_hidden_dims": [128, 128, 128], "critic_hidden_dims": [128, 128, 128], "activation": "elu"},
    "algorithm": {"value_loss_coef": 1.0, "use_clipped_value_loss": True, "clip_param": 0.2, "entropy_coef": 0.005,
                  "num_learning_epochs": 5, "num_mini_batches": 4, "learning_rate": 1.0e-3, "schedule": "adaptive",
                  "gamma": 0.99, "lam": 0.95, "desired_kl": 0.01, "max_grad_norm": 1.0},
}  # fmt: skip
ANYMAL_D_FLAT = cppo_runner_cfg(ANYMAL_D_FLAT_ISAACLAB)

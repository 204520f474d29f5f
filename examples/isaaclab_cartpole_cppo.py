"""A user's own Isaac Lab agent config for CPPO, trained and played by Isaac Lab's unchanged scripts.

docs/rsl_rl.md quotes the class below. Isaac Lab finds a task's agent config through an entry point of its gym
registration; this module's `register` (an `--external_callback`) adds the config to Isaac-Cartpole as
`rsl_rl_cppo_cfg_entry_point`, so the stock commands pick it with `--agent`:

    PYTHONPATH=. isaaclab train --rl_library rsl_rl --task Isaac-Cartpole --device cpu agent.device=cpu \\
        --external_callback examples.isaaclab_cartpole_cppo.register --agent rsl_rl_cppo_cfg_entry_point
    PYTHONPATH=. isaaclab play --rl_library rsl_rl --task Isaac-Cartpole --device cpu agent.device=cpu \\
        --external_callback examples.isaaclab_cartpole_cppo.register --agent rsl_rl_cppo_cfg_entry_point

In your own task package, name the class in the task's `gym.register(..., kwargs={"rsl_rl_cfg_entry_point":
...})` instead.
"""

from __future__ import annotations

from isaaclab.utils import configclass
from isaaclab_rl.rsl_rl import RslRlMLPModelCfg, RslRlOnPolicyRunnerCfg

from envs.isaaclab_cfg import CppoAlgorithmCfg, FlowPolicyCfg


@configclass
class CartpoleCppoRunnerCfg(RslRlOnPolicyRunnerCfg):
    num_steps_per_env = 16
    max_iterations = 150
    save_interval = 50
    experiment_name = "cartpole_cppo"
    obs_groups = {"actor": ["policy"], "critic": ["policy"]}  # noqa: RUF012
    actor = FlowPolicyCfg(hidden_dims=[32, 32], kernel_hidden_dims=[128, 128], init_std=1.0, obs_normalization=False)
    critic = RslRlMLPModelCfg(hidden_dims=[32, 32], activation="elu", obs_normalization=False)
    algorithm = CppoAlgorithmCfg(entropy_coef=0.005)


ENTRY_POINT = "rsl_rl_cppo_cfg_entry_point"


def register() -> None:
    """Isaac Lab `--external_callback`: Isaac-Cartpole gets CartpoleCppoRunnerCfg as ENTRY_POINT."""
    import gymnasium as gym
    import isaaclab_tasks  # noqa: F401  (registers the tasks)

    gym.registry["Isaac-Cartpole"].kwargs[ENTRY_POINT] = f"{__name__}:CartpoleCppoRunnerCfg"

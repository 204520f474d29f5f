"""Isaac Lab 3 agent-config classes for CPPO's algorithm and flow policy (docs/rsl_rl.md "Isaac Lab 3").

They extend Isaac Lab's own `isaaclab_rl.rsl_rl` classes, so a task's `RslRlOnPolicyRunnerCfg` takes them as its
`algorithm` and `actor`, and Isaac Lab's train and play scripts (`handle_deprecated_rsl_rl_cfg`,
`create_rsl_rl_runner` → rsl_rl's `OnPolicyRunner(env, agent_cfg.to_dict(), ...)`) build CPPO from their
`class_name`. Each field is the constructor argument of the same name (cppo/cppo/update.py, cppo/cppo/actor.py);
defaults are CPPOCfg's where it has the field, else the constructor's. Needs Isaac Lab (bash envs/install_isaaclab.sh).
"""

from __future__ import annotations

from isaaclab.utils import configclass
from isaaclab_rl.rsl_rl import RslRlMLPModelCfg, RslRlPpoAlgorithmCfg

from cppo.cppo.config import CPPOCfg

_CPPO = CPPOCfg()  # the one place CPPO's defaults live


@configclass
class CppoAlgorithmCfg(RslRlPpoAlgorithmCfg):
    """CPPO (cppo.cppo:CPPO): rsl_rl's PPO settings for the conditional kernel, plus the flow's distillation.
    Defaults are CPPOCfg's (cppo/cppo/config.py, where each is documented); Isaac Lab's class leaves PPO's to
    the task."""

    class_name: str = "cppo.cppo:CPPO"
    num_learning_epochs: int = _CPPO.num_learning_epochs
    num_mini_batches: int = _CPPO.num_mini_batches
    learning_rate: float = _CPPO.learning_rate
    schedule: str = _CPPO.schedule
    gamma: float = _CPPO.gamma
    lam: float = _CPPO.lam
    entropy_coef: float = _CPPO.entropy_coef
    desired_kl: float = _CPPO.desired_kl
    max_grad_norm: float = _CPPO.max_grad_norm
    value_loss_coef: float = _CPPO.value_loss_coef
    use_clipped_value_loss: bool = _CPPO.use_clipped_value_loss
    clip_param: float = _CPPO.clip_param
    max_learning_rate: float = _CPPO.max_learning_rate
    rate_change_per_iteration: float = _CPPO.rate_change_per_iteration
    reset_kernel: bool = _CPPO.reset_kernel
    distill_epochs: int = _CPPO.distill_epochs
    distill_mini_batches: int = _CPPO.distill_mini_batches
    flow_learning_rate: float = _CPPO.flow_learning_rate
    critic_learning_rate: float = _CPPO.critic_learning_rate
    reset_moments: bool = _CPPO.reset_moments
    fit_error_samples: int = _CPPO.fit_error_samples


@configclass
class FlowPolicyCfg(RslRlMLPModelCfg):
    """CPPO's actor (cppo.cppo:FlowPolicy): the flow φ, its reference, and the Gaussian kernel.

    A flow policy has no `distribution_cfg` (None) and none of the legacy Gaussian keys Isaac Lab's script
    deletes — `state_dependent_std` among them, so the kernel's σ stays a learned vector here."""

    class_name: str = "cppo.cppo:FlowPolicy"
    hidden_dims: list[int] = [256, 256, 256]  # noqa: RUF012  (configclass copies mutable defaults)
    """The flow's velocity network."""
    activation: str = "elu"
    obs_normalization: bool = True
    stochastic: bool = False
    init_noise_std: float = 0.0
    kernel_hidden_dims: list[int] = [256, 256]  # noqa: RUF012
    """The kernel's residual network Δ."""
    init_std: float = 0.5
    """The kernel's initial σ."""
    min_std: float = _CPPO.min_std
    max_std: float = _CPPO.max_std
    flow_steps: int = _CPPO.flow_steps
    """Steps of the ODE sampler (the exported policy unrolls them)."""
    integrator: str = _CPPO.integrator
    action_limit: float = _CPPO.action_limit
    cuda_graphs: bool = _CPPO.cuda_graphs

"""Isaac Lab 3 agent-config classes for CPPO's algorithm and flow policy (docs/rsl_rl.md "Isaac Lab 3").

They extend Isaac Lab's own `isaaclab_rl.rsl_rl` classes, so a task's `RslRlOnPolicyRunnerCfg` takes them as its
`algorithm` and `actor`, and Isaac Lab's train and play scripts (`handle_deprecated_rsl_rl_cfg`,
`create_rsl_rl_runner` → rsl_rl's `OnPolicyRunner(env, agent_cfg.to_dict(), ...)`) build CPPO from their
`class_name`. Each field is the constructor argument of the same name (cppo/cppo.py, cppo/flow_policy.py);
defaults are those of the constructors. Needs Isaac Lab (bash envs/install_isaaclab.sh).
"""

from __future__ import annotations

from isaaclab.utils import configclass
from isaaclab_rl.rsl_rl import RslRlMLPModelCfg, RslRlPpoAlgorithmCfg


@configclass
class CppoAlgorithmCfg(RslRlPpoAlgorithmCfg):
    """CPPO (cppo.cppo:CPPO): rsl_rl's PPO settings for the conditional kernel, plus the flow's distillation."""

    class_name: str = "cppo.cppo:CPPO"
    # rsl_rl's PPO settings, at its constructor's defaults (Isaac Lab's class leaves them to the task)
    num_learning_epochs: int = 5
    num_mini_batches: int = 4
    learning_rate: float = 1e-3
    schedule: str = "adaptive"
    gamma: float = 0.99
    lam: float = 0.95
    entropy_coef: float = 0.01
    desired_kl: float = 0.01
    max_grad_norm: float = 1.0
    value_loss_coef: float = 1.0
    use_clipped_value_loss: bool = True
    clip_param: float = 0.2
    # CPPO's own
    max_learning_rate: float = 1e-2
    """Ceiling of the adaptive rate (rsl_rl's own bound)."""
    rate_change_per_iteration: float = 0.0
    """> 0: the rate moves at most this factor per iteration."""
    reset_kernel: bool = True
    """Δ ← 0 after each distillation: the kernel restarts from the flow it was distilled into."""
    distill_epochs: int = 5
    distill_mini_batches: int = 4
    flow_learning_rate: float = 1e-3
    """The flow's own Adam (distillation)."""
    critic_learning_rate: float = 0.0
    """> 0: the critic gets its own Adam at this rate; 0: it shares the kernel's."""
    reset_moments: bool = False
    fit_error_samples: int = 512


@configclass
class FlowPolicyCfg(RslRlMLPModelCfg):
    """CPPO's actor (cppo.flow_policy:FlowPolicy): the flow φ, its reference, and the Gaussian kernel.

    A flow policy has no `distribution_cfg` (None) and none of the legacy Gaussian keys Isaac Lab's script
    deletes — `state_dependent_std` among them, so the kernel's σ stays a learned vector here."""

    class_name: str = "cppo.flow_policy:FlowPolicy"
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
    min_std: float = 0.02
    max_std: float = 2.0
    flow_steps: int = 8
    """Steps of the ODE sampler (the exported policy unrolls them)."""
    integrator: str = "euler"
    action_limit: float = 1.0
    cuda_graphs: bool = True

"""FPO++'s settings: `agent.algorithm` of `--algo fpo`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from cppo.config import FlowCfg


@dataclass
class FPOCfg(FlowCfg):
    """FPO++ (Yi, Choi et al. 2026; docs/fpo.md): PPO's rollout, critic and optimizer fields, a flow policy
    whose likelihood ratio is estimated from flow-matching losses. There is no entropy term (entropy_coef is
    unused) and no KL to adapt the rate on (the schedule is fixed); clip_param is the trust region's ε."""

    schedule: Literal["adaptive", "fixed"] = "fixed"
    clip_param: float = 0.2
    """ε of the trust region on each ratio, the task's PPO clip. FPO and FPO++ use 0.05 on their budgets
    (16–32 epochs, millions of samples per iteration); on ours (5 epochs, 8192 samples) 0.05 held
    CartpoleBalance at 464 after 100 iterations, 0.2 reached 856 (docs/fpo.md)."""
    use_clipped_value_loss: bool = False
    """FPO++ fits the critic with a plain squared error."""
    samples_per_action: int = 16
    """N (τ, ε) draws per stored action; each gives its own ratio (FPO++: 16 on Go2, 32 on H1/G1)."""
    ratio: Literal["per_sample", "averaged"] = "per_sample"
    """per_sample: one ratio per (τ, ε) draw (FPO++); averaged: one per action from the mean loss (FPO)."""
    trust_region: Literal["aspo", "ppo"] = "aspo"
    """aspo: PPO clipping for positive advantages, SPO's penalty for negative ones (FPO++); ppo: clipping for
    both (FPO). The original FPO objective is ratio=averaged, trust_region=ppo."""
    loss_clamp: float = 20.0
    """Clamp each flow-matching loss from above before the difference (0: off)."""
    log_ratio_clamp: float = 10.0
    """Upper bound on each log-ratio in the forward pass (gradient passes straight through)."""
    action_noise_std: float = 0.02
    """Gaussian noise added to the sampled action at rollout; the noisy action is what is stored and fitted."""

    class_name: ClassVar[str] = "cppo.fpo:FPO"
    actor_class: ClassVar[str] = "cppo.fpo:FPOPolicy"
    fixed_schedule_because: ClassVar[str] = "FPO has no KL to adapt the rate on"
    not_inherited: ClassVar[tuple[str, ...]] = ("schedule", "use_clipped_value_loss")
    limits: ClassVar[dict[str, str]] = {
        **FlowCfg.limits, "samples_per_action": ">= 1", "loss_clamp": ">= 0", "log_ratio_clamp": "> 0",
        "action_noise_std": ">= 0",
    }  # fmt: skip

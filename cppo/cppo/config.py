"""CPPO's settings: `agent.algorithm` of `--algo cppo` (and of the study variant bench/ablation runs)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from cppo.config import FlowCfg, PolicyCfg


@dataclass
class CPPOCfg(FlowCfg):
    """CPPO: PPO's fields (applied to the Gaussian kernel) plus the switches of cppo.md.

    Defaults follow cppo.md's corrected loop (reset Δ, distill the kernel mean on the stored ε, hard-copy
    reference); docs/algorithm.md explains each choice.
    """

    # actor network (actor.py)
    kernel_hidden_dims: tuple[int, ...] = (128, 128)
    min_std: float = 0.02
    """Floor of the kernel's σ. The dm_control tasks raise it to 0.2 (tasks/dm_control.py): there σ fell to ~0.08 and
    CPPO lost solutions it had found (CartpoleSwingup 847 → 386); with the floor it kept them (bench/RESULTS.md)."""
    max_std: float = 2.0
    state_dependent_std: bool = False
    # algorithm (update.py)
    reset_kernel: bool = True
    distill_epochs: int = 5
    distill_mini_batches: int = 4
    flow_learning_rate: float = 1e-3
    """Distillation's Adam step size; with ceiling_decay="linear" it anneals with the run as the kernel's ceiling."""
    critic_learning_rate: float = 0.0
    """0: the critic shares the kernel's Adam and its adaptive rate (rsl_rl's one optimizer); > 0: the critic has
    its own Adam at this rate (annealed with ceiling_decay="linear"), so the kernel's conditional KL does not set
    the critic's step."""
    reset_moments: bool = False
    """Also zero Adam's moments of Δ's output layer when Δ is reset (else the next step re-applies the last
    direction to the freshly zeroed layer)."""
    fit_error_samples: int = 512

    max_learning_rate: float = 1e-2
    """rsl_rl's ceiling, kept for CPPO whatever the task's PPO uses. The dm_control tasks lower it to 3e-3
    (tasks/dm_control.py): the conditional KL stays under the target there, so the rate sat at this ceiling all run
    long and runs decayed late; 3e-3 was CPPO's best of eleven tuning configurations (bench/RESULTS.md)."""
    ceiling_decay: Literal["none", "linear"] = "none"
    """Kept at rsl_rl's fixed ceiling for CPPO, whatever the task's PPO uses (16 of 16 runs ≥ 900 as it is). "linear"
    also anneals the flow's rate (and a separate critic's): on CartpoleSwingup + ReacherHard it tied the σ floor
    (0.711 vs 0.713 mean normalized return, bench/RESULTS.md) and did not add to it."""

    class_name: ClassVar[str] = "cppo.cppo:CPPO"
    actor_class: ClassVar[str] = "cppo.cppo:FlowPolicy"
    not_inherited: ClassVar[tuple[str, ...]] = ("max_learning_rate", "ceiling_decay")
    limits: ClassVar[dict[str, str]] = {
        **FlowCfg.limits, "kernel_hidden_dims": ">= 1", "min_std": "> 0", "distill_epochs": ">= 1",
        "distill_mini_batches": ">= 1", "flow_learning_rate": "> 0",
        "critic_learning_rate": ">= 0", "fit_error_samples": ">= 2",
    }  # fmt: skip

    def invariants(self, prefix: str) -> Iterator[str]:
        yield from super().invariants(prefix)
        if not self.max_std > self.min_std:
            yield f"bad value {prefix}max_std={self.max_std}: must be > min_std ({self.min_std})"

    def actor_fields(self) -> tuple[str, ...]:
        return (*super().actor_fields(), "kernel_hidden_dims", "min_std", "max_std", "state_dependent_std")

    def mini_batch_fields(self) -> dict[str, int]:
        return {**super().mini_batch_fields(), "distill_mini_batches": self.distill_mini_batches}

    def actor_cfg(self, policy: PolicyCfg) -> dict[str, Any]:
        return {**super().actor_cfg(policy), "init_std": policy.init_noise_std}


@dataclass
class CPPOStudyCfg(CPPOCfg):
    """CPPO plus the study switches measured worse than its defaults (study.py, docs/ablation.md)."""

    reference_ema: float = 0.0
    """φ_ref ← ema·φ_ref + (1 − ema)·φ instead of a hard copy (0)."""
    distill_target: Literal["mean", "sample"] = "mean"
    distill_noise: Literal["coupled", "independent"] = "coupled"
    score_coef: float = 0.0
    """Weight of the Langevin anchor ‖μ − (1 − σ²/2)·a0‖² on the kernel."""
    score_form: Literal["langevin", "sigma_invariant"] = "langevin"
    marginal_entropy_coef: float = 0.0
    """Bonus on a lower bound of the marginal policy's entropy (the multimodality sweep of docs/algorithm.md)."""
    marginal_entropy_samples: int = 8
    zero_noise_share: float = 0.0
    """Share of the envs that act from ε = 0 during rollouts, with the kernel's noise on top: training the deployed
    policy's own episodes (the FingerTurnEasy deployment-gap experiment, bench/RESULTS.md)."""
    squash: Literal["clip", "tanh"] = "clip"
    """"tanh": the flow and kernel act in an unbounded space (the flow's box is ±action_limit there) and the env gets
    tanh of the action — a state-dependent box: the kernel's noise vanishes where the policy saturates, yet every
    action keeps a gradient (the ±3 box's flat region between 1 and 3 has none). The FingerTurnEasy experiment,
    bench/RESULTS.md."""

    widen_box_at: float = 0.0
    """> 0: the flow's box is the env's ±1 until this share of the run is behind, then ±action_limit — the wide box's
    hiding of the kernel's noise where the policy saturates, without its slow start (the FingerTurnEasy experiment,
    bench/RESULTS.md). Needs cppo's runner (it knows the run's length)."""
    late_max_std: float = 0.0
    """> 0: σ's ceiling falls from max_std at half the run to this at its end (log σ linearly), so the kernel's
    noise shrinks late where σ has not fallen on its own; the first half is the default's. The FingerTurnEasy
    experiment (0.2: ε = 0 unchanged, the training return 19 % lower; bench/RESULTS.md). Needs cppo's runner."""

    class_name: ClassVar[str] = "cppo.cppo.study:CPPOStudy"
    limits: ClassVar[dict[str, str]] = {
        **CPPOCfg.limits, "reference_ema": "[0, 1)", "score_coef": ">= 0", "marginal_entropy_coef": ">= 0",
        "marginal_entropy_samples": ">= 2", "zero_noise_share": "[0, 1]", "widen_box_at": "[0, 1)",
        "late_max_std": ">= 0",
    }  # fmt: skip

    def invariants(self, prefix: str) -> Iterator[str]:
        yield from super().invariants(prefix)
        if self.late_max_std > 0 and not self.min_std <= self.late_max_std < self.max_std:
            yield (
                f"bad value {prefix}late_max_std={self.late_max_std}: must be 0 (off) or in [min_std, max_std) "
                f"= [{self.min_std}, {self.max_std})"
            )

    def actor_fields(self) -> tuple[str, ...]:
        return (*super().actor_fields(), "squash")

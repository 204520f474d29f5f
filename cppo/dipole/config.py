"""DIPOLE's settings: `agent.algorithm` of `--algo dipole`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from cppo.config import FlowCfg


@dataclass
class DipoleCfg(FlowCfg):
    """DIPOLE (dipole.md): PPO's rollout, critic and optimizer fields (the learning rate steps the flows and
    the critic alike), plus the weighting and the greediness ω. There is no ratio, entropy or KL: clip_param
    only clips the value loss, entropy_coef is unused, and the schedule is fixed."""

    schedule: Literal["adaptive", "fixed"] = "fixed"
    # actor network (actor.py)
    integrator: Literal["euler", "midpoint"] = "midpoint"
    """Midpoint: Euler (K = 8) shrinks the spread of a fitted flow by ~15% every iteration; K = 8, not 4:
    midpoint with K = 4 overshoots under strong guidance (ω ≥ 2). docs/dipole.md."""
    shared_network: bool = False
    """One velocity network with a ±1 sign input for π⁺ and π⁻ instead of two networks."""
    omega: float = 2.0
    """Greediness ω of the rollout sampler v = (1 + ω)·v⁺ − ω·v⁻ (play.py --omega changes it at run time)."""
    # algorithm (update.py)
    beta: float = 2.0
    """Weight temperature: w = σ(β·G + k) on z-scored advantages G."""
    weight_shift: float = 0.0
    """k in w = σ(β·G + k)."""
    explore_std: float = 0.3
    """Gaussian noise added to the rollout's actions (the flows fit the executed actions): without it the
    on-policy fit narrows the policy until it stops exploring (docs/dipole.md)."""

    class_name: ClassVar[str] = "cppo.dipole:DIPOLE"
    actor_class: ClassVar[str] = "cppo.dipole:DipolePolicy"
    fixed_schedule_because: ClassVar[str] = "DIPOLE has no likelihood to measure a KL with"
    not_inherited: ClassVar[tuple[str, ...]] = ("schedule",)
    limits: ClassVar[dict[str, str]] = {
        **FlowCfg.limits,
        "omega": ">= 0",
        "beta": "> 0",
        "explore_std": ">= 0",
    }

    def actor_fields(self) -> tuple[str, ...]:
        return (*super().actor_fields(), "shared_network", "omega")

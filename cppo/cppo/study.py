"""CPPO's study variants: the switches cppo.md asked to settle by measurement, and later ones, all measured worse
than the defaults (docs/ablation.md, docs/algorithm.md). They live here, out of the default algorithm, so
`bench/ablation.py`, `bench/multigoal_modes.py` and `bench/tune.py` can still reproduce those results:

    python train.py --algo cppo_study agent.algorithm.distill_target=sample agent.algorithm.score_coef=1

With every switch at its default, CPPOStudy computes exactly what CPPO does.
"""

from __future__ import annotations

import math

import torch

from cppo.cppo.kernel import gaussian_log_prob
from cppo.cppo.update import CPPO
from cppo.errors import UsageError


class CPPOStudy(CPPO):
    _run_left: float | None = None
    widen_box_at = late_max_std = 0.0

    def __init__(
        self,
        *args,
        reference_ema: float = 0.0,
        distill_target: str = "mean",
        distill_noise: str = "coupled",
        score_coef: float = 0.0,
        score_form: str = "langevin",
        marginal_entropy_coef: float = 0.0,
        marginal_entropy_samples: int = 8,
        zero_noise_share: float = 0.0,
        widen_box_at: float = 0.0,
        late_max_std: float = 0.0,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.reference_ema = reference_ema
        self.distill_target, self.distill_noise = distill_target, distill_noise
        self.score_coef, self.score_form = score_coef, score_form
        self.marginal_entropy_coef, self.marginal_entropy_samples = marginal_entropy_coef, marginal_entropy_samples
        self.zero_noise_share = zero_noise_share
        # The flow's box the run ends in (action_limit): a policy loaded to play or export acts in it; while a run
        # is before `widen_box_at` of its length, the box is the env's own ±1.
        self.widen_box_at, self.wide_action_limit = widen_box_at, self.actor.action_limit
        # σ's ceiling the run ends with (late_max_std) is likewise the one a policy outside a run samples with.
        self.late_max_std, self.configured_log_std_range = late_max_std, self.actor.kernel.log_std_range
        if late_max_std > 0:
            self.lower_std_ceiling(1.0)

    @property
    def run_left(self) -> float | None:
        return self._run_left

    @run_left.setter
    def run_left(self, value: float | None) -> None:
        """The runner tells the share of the run ahead (at the start and after every iteration): before
        `widen_box_at` of the run, the box is ±1; σ's ceiling follows `late_max_std`'s schedule."""
        self._run_left = value
        if value is not None and 1 - value < self.widen_box_at:
            self.set_action_limit(min(1.0, self.wide_action_limit))
        if value is not None and self.late_max_std > 0:
            self.lower_std_ceiling(min(max(2 * (1 - value) - 1, 0.0), 1.0))

    def lower_std_ceiling(self, share: float) -> None:
        """σ's ceiling, geometrically from max_std (at half the run: share 0) to late_max_std (at its end: share
        1). Set before each rollout, so the rollout and its update clamp σ alike (the stored σ_old is the rollout's)."""
        low, high = self.configured_log_std_range
        self.actor.kernel.log_std_range = (low, high + share * (math.log(self.late_max_std) - high))

    def optimize(self) -> dict[str, float]:
        """Widen the box once `widen_box_at` of the run is behind: this update's distillation targets already
        may leave ±1, and so may the next rollout's flow samples. (σ's late ceiling is set with run_left.)"""
        run_left = self.run_left
        scheduled = [name for name in ("widen_box_at", "late_max_std") if getattr(self, name) > 0]
        if scheduled and run_left is None:
            raise UsageError(
                f"{scheduled[0]} follows the share of the run behind, whose length rsl_rl's OnPolicyRunner does not "
                "tell the algorithm: train with cppo.runner:Runner (an OnPolicyRunner, same arguments) or set 0"
            )
        if self.widen_box_at > 0 and run_left is not None and 1 - run_left >= self.widen_box_at:
            self.set_action_limit(self.wide_action_limit)
        return super().optimize()

    def set_action_limit(self, limit: float) -> None:
        if limit == self.actor.action_limit:
            return
        self.actor.action_limit = limit
        # A captured CUDA graph holds the old limit as a constant: capture the rollout's sampler anew.
        self.actor.rollout_reference = self.actor.rollout(self.actor.sample_reference)

    def rollout_noise(self, s: torch.Tensor) -> torch.Tensor:
        """The first share of the envs act from ε = 0 (the deployed flow sample, plus the kernel's noise) for the
        whole run: their episodes are the deterministic policy's own, and so are their distillation pairs."""
        noise = super().rollout_noise(s)
        noise[: round(self.zero_noise_share * s.shape[0])] = 0.0
        return noise

    def kernel_regularizer(self, s, mean, std, a0):
        score = self.score_loss(mean, std, a0)
        loss, logged = self.score_coef * score, {"score": score}
        if self.marginal_entropy_coef > 0:
            marginal = self.marginal_entropy(s)
            loss, logged["marginal_entropy"] = loss - self.marginal_entropy_coef * marginal, marginal
        return loss, logged

    def score_loss(self, mean: torch.Tensor, std: torch.Tensor, a0: torch.Tensor) -> torch.Tensor:
        """Langevin anchor: one step of size σ² toward N(0, I) is N((1 − σ²/2)·a0, σ²) (σ stop-gradient)."""
        variance = std.detach().pow(2)
        squared = (mean - (1 - variance / 2) * a0).pow(2)
        if self.score_form == "sigma_invariant":
            squared = squared / (2 * variance)
        return squared.sum(-1).mean()

    def marginal_entropy(self, s: torch.Tensor, num_states: int = 64) -> torch.Tensor:
        """A lower bound on the entropy of the *marginal* policy π(a|s) = E_a0 N(a; μ_θ(s, a0), σ²), which the
        Gaussian entropy term ignores: M fresh a0 per state, H ≥ −E_i log (1/M) Σ_j N(μ_i; μ_j, 2σ²)
        (Kolchinsky & Tracey 2017). Its gradient pushes the kernel means of one state apart."""
        m = self.marginal_entropy_samples
        s = s[:num_states].repeat(m, 1)
        with torch.no_grad():
            a0 = self.actor.sample_reference(s, torch.randn(s.shape[0], self.actor.num_actions, device=s.device))
        mean, std = self.actor.kernel(s, a0)
        mean, std = mean.view(m, -1, mean.shape[-1]).transpose(0, 1), std.view(m, -1, std.shape[-1]).transpose(0, 1)
        pair = gaussian_log_prob(mean.unsqueeze(2), mean.unsqueeze(1), (2**0.5) * std.unsqueeze(2))  # [states, i, j]
        return -(torch.logsumexp(pair, dim=-1) - math.log(m)).mean()

    def distillation_target(self, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
        return mean if self.distill_target == "mean" else mean + std * torch.randn_like(mean)

    def distillation_noise(self, noise: torch.Tensor) -> torch.Tensor:
        return noise if self.distill_noise == "coupled" else torch.randn_like(noise)

    def update_reference(self) -> None:
        self.actor.update_reference(self.reference_ema)

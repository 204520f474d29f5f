"""Conditional PPO (Liu, Yang, Chen 2026), as specified in docs/specs/cppo.md ("One iteration").

Per iteration:
 1. rollout   a0 = ODE-solve φ_ref from ε (K steps); a ~ N(μ_θ(s, a0), σ_θ²)             → act()
 2. returns   GAE; time-outs bootstrap from V(true final obs)         → PPO.process_env_step/compute_returns
 3. PPO on the kernel θ and critic ψ with the *conditional* ratio
              r = N(a; μ_θ(s,a0), σ_θ²) / p_old(a | s, a0)                                → optimize()
 4. distill   flow matching of φ onto a* = clip(μ_θ(s, a0)) paired with the stored ε      → distill()
 5. reference φ_ref ← τ_ema·φ_ref + (1 − τ_ema)·φ, and Δ ← 0                              → optimize()

It subclasses our PPO (itself rsl_rl's PPO), so the runner, storage, GAE, time-out bootstrapping,
normalization and multi-GPU plumbing are rsl_rl's. The rollout storage keeps the kernel's conditional
distribution in its `distribution_params` slot: (μ_old, σ_old, a0, ε).
"""

from __future__ import annotations

from itertools import chain
from typing import NamedTuple

import torch
import torch.nn as nn
from rsl_rl.storage import RolloutStorage
from tensordict import TensorDict

from cppo.cppo.actor import FlowPolicy
from cppo.cppo.kernel import gaussian_entropy, gaussian_kl, gaussian_log_prob
from cppo.flow import action_spread, energy_distance, flow_matching_loss
from cppo.ppo import PPO, adam, construct_flow_algorithm


class Conditioning(NamedTuple):
    """What the rollout stores per step in rsl_rl's `distribution_params` slot: the kernel's conditional
    distribution N(mean, std²) and what it was conditioned on — the flow sample a0 and the ε that produced it."""

    mean: torch.Tensor
    std: torch.Tensor
    a0: torch.Tensor
    noise: torch.Tensor


def stored(params: tuple[torch.Tensor, ...] | None) -> Conditioning:
    """The conditioning as rsl_rl's storage hands it back (a plain tuple, None before the first rollout)."""
    assert params is not None, "no rollout stored yet"
    return Conditioning(*params)


class CPPO(PPO):
    actor: FlowPolicy

    def __init__(
        self,
        actor: FlowPolicy,
        critic: nn.Module,
        storage: RolloutStorage,
        *,
        reset_kernel: bool = True,
        distill_epochs: int = 5,
        distill_mini_batches: int = 4,
        flow_learning_rate: float = 1e-3,
        critic_learning_rate: float = 0.0,
        reset_moments: bool = False,
        fit_error_samples: int = 512,
        **ppo_kwargs,
    ):
        super().__init__(actor, critic, storage, **ppo_kwargs)
        self.reset_kernel = reset_kernel
        self.distill_epochs, self.distill_mini_batches = distill_epochs, distill_mini_batches
        self.fit_error_samples, self.reset_moments = fit_error_samples, reset_moments
        # PPO steps the kernel θ (adaptive rate) and the critic ψ (the same Adam, or its own at a set rate);
        # distillation steps the flow φ with its own Adam.
        self.critic_learning_rate, self.flow_learning_rate = critic_learning_rate, flow_learning_rate
        shared = (
            actor.kernel.parameters()
            if critic_learning_rate > 0
            else chain(actor.kernel.parameters(), critic.parameters())
        )
        self.optimizer = adam(shared, self.learning_rate)
        self.critic_optimizer = adam(critic.parameters(), critic_learning_rate) if critic_learning_rate > 0 else None
        self.flow_optimizer = adam(actor.flow.parameters(), flow_learning_rate)

    # --- 1. rollout ----------------------------------------------------------------------------------

    def act(self, obs: TensorDict) -> torch.Tensor:
        s = self.actor.observation(obs)
        noise = self.rollout_noise(s)
        a0 = self.actor.rollout_reference(s, noise)
        mean, std = self.actor.kernel(s, a0)
        actions = mean + std * torch.randn_like(mean)
        # The storage keeps the kernel's sample (the ratio's density is over it); the env gets it squashed if the
        # actor squashes (the squash=tanh study switch).
        stored = self.record(obs, actions, gaussian_log_prob(actions, mean, std), Conditioning(mean, std, a0, noise))
        return self.actor.to_env(stored)

    # --- 3. conditional PPO, 4. distillation, 5. reference update -------------------------------------

    def optimize(self) -> dict[str, float]:
        self.anneal_fixed_rates()
        self.diagnostics.update(self.exploration())
        losses = self.mean_over_mini_batches(self.ppo_step)
        losses.update(self.distill())
        if self.reset_kernel:
            # Adam's moments are kept by default: the improvement direction persists across iterations, and
            # restarting all of them made CPPO learn CartpoleBalance about twice as slowly (docs/algorithm.md).
            self.actor.kernel.reset_residual()
            if self.reset_moments:
                self.forget_output_moments()
        self.update_reference()

        observations = self.storage.observations.flatten(0, 1)
        self.actor.update_normalization(observations)
        self.critic.update_normalization(observations)
        self.actor.kernel.a0_normalizer.update(stored(self.storage.distribution_params).a0.flatten(0, 1))
        self.storage.clear()
        return losses

    def ppo_step(self, batch: RolloutStorage.Batch) -> dict[str, torch.Tensor]:
        assert batch.actions is not None and batch.advantages is not None and batch.old_actions_log_prob is not None
        mean_old, std_old, a0, _ = stored(batch.old_distribution_params)
        s = self.actor.observation(batch.observations)
        mean, std = self.actor.kernel(s, a0)
        log_prob = gaussian_log_prob(batch.actions, mean, std)
        entropy = gaussian_entropy(std).mean()
        kl = gaussian_kl(mean_old, std_old, mean, std).mean()  # conditional KL: an upper bound of the true one
        self.adapt_learning_rate(kl.detach())

        # Conditional clipped surrogate: the ratio of the kernel densities given the stored a0.
        advantages = batch.advantages.squeeze(-1)
        ratio = torch.exp(log_prob - batch.old_actions_log_prob.squeeze(-1))
        surrogate = -torch.min(
            ratio * advantages, ratio.clamp(1 - self.clip_param, 1 + self.clip_param) * advantages
        ).mean()

        value_loss = self.value_loss(batch)
        loss = surrogate + self.value_loss_coef * value_loss - self.entropy_coef * entropy
        regularizer, logged = self.kernel_regularizer(s, mean, std, a0)
        if regularizer is not None:
            loss = loss + regularizer
        if self.critic_optimizer is None:
            self.gradient_step(self.optimizer, loss, self.actor.kernel, self.critic)
        else:  # the critic's loss has no kernel parameter in it and vice versa: one backward serves both
            self.critic_optimizer.zero_grad()
            self.gradient_step(self.optimizer, loss, self.actor.kernel, self.critic)
            self.critic_optimizer.step()
        losses = {"surrogate": surrogate, "value": value_loss, "entropy": entropy, "conditional_kl": kl, **logged}
        losses["residual_norm"] = (mean - a0).norm(dim=-1).mean()
        return {key: value.detach() for key, value in losses.items()}

    def distill(self) -> dict[str, float]:
        """Flow matching of φ onto the updated composite policy, on the stored (s, ε, a0)."""
        s = self.actor.observation(self.storage.observations.flatten(0, 1))
        _, _, a0, noise = (p.flatten(0, 1) for p in stored(self.storage.distribution_params))
        with torch.no_grad():
            mean, std = self.actor.kernel(s, a0)
            target = self.actor.clip(self.distillation_target(mean, std))
            noise = self.distillation_noise(noise)

        total, count = torch.zeros((), device=s.device), 0
        batch_size = s.shape[0] // self.distill_mini_batches
        for _ in range(self.distill_epochs):
            order = torch.randperm(s.shape[0], device=s.device)
            for i in range(self.distill_mini_batches):
                idx = order[i * batch_size : (i + 1) * batch_size]
                loss = flow_matching_loss(self.actor.flow, s[idx], noise[idx], target[idx])
                self.gradient_step(self.flow_optimizer, loss, self.actor.flow)
                total, count = total + loss.detach(), count + 1
        return {"flow_matching": total.item() / max(count, 1), **self.fit_error(s)}

    def anneal_fixed_rates(self) -> None:
        """The flow's and a separate critic's rates follow the kernel's ceiling (× run_left when it anneals)."""
        share = self.rate_ceiling / self.max_learning_rate
        for optimizer, rate in (
            (self.flow_optimizer, self.flow_learning_rate),
            (self.critic_optimizer, self.critic_learning_rate),
        ):
            for group in optimizer.param_groups if optimizer is not None else ():
                group["lr"] = rate * share

    def forget_output_moments(self) -> None:
        """Zero Adam's moments of Δ's output layer (the one reset_residual zeroes)."""
        last = self.actor.kernel.output_layer
        for parameter in (last.weight, last.bias):
            for moment in self.optimizer.state.get(parameter, {}).values():
                if moment.dim() > 0:  # exp_avg, exp_avg_sq; the step count is left as it is
                    moment[: self.actor.num_actions].zero_()

    @torch.no_grad()
    def exploration(self) -> dict[str, float]:
        """Where the rollout's exploration came from: the reference flow's own spread of a0 over ε at fixed
        states, the kernel's σ the rollout sampled with (rsl_rl's Policy/mean_std is its state-independent part
        only), and the flow's step size."""
        observations = self.storage.observations.flatten(0, 1)
        states = torch.randperm(observations.batch_size[0], device=self.device)[: self.fit_error_samples]
        s = self.actor.observation(observations[states])  # normalize only the states measured, not the buffer
        spread = action_spread(self.actor.sample_reference, s, self.actor.num_actions, s.shape[0])
        rates = {"Loss/flow_learning_rate": self.flow_optimizer.param_groups[0]["lr"]}
        if self.critic_optimizer is not None:
            rates["Loss/critic_learning_rate"] = self.critic_optimizer.param_groups[0]["lr"]
        rollout_std = stored(self.storage.distribution_params).std.mean().item()
        return {"Policy/flow_spread": spread.mean().item(), "Policy/rollout_std": rollout_std, **rates}

    @torch.no_grad()
    def fit_error(self, s: torch.Tensor) -> dict[str, float]:
        """Energy distance between flow samples and composite (target) samples on the same states, next to
        the floor: the distance between two independent target samples. The FM loss is not a fit error."""
        idx = torch.randperm(s.shape[0], device=s.device)[: self.fit_error_samples]
        s = s[idx]

        def composite() -> torch.Tensor:
            a0 = self.actor.sample_reference(s, torch.randn(s.shape[0], self.actor.num_actions, device=s.device))
            mean, std = self.actor.kernel(s, a0)
            return self.actor.clip(self.distillation_target(mean, std))

        flow = self.actor.sample_flow(s, torch.randn(s.shape[0], self.actor.num_actions, device=s.device))
        first = composite()
        return {
            "flow_fit_error": energy_distance(flow, first).item(),
            "flow_fit_floor": energy_distance(composite(), first).item(),
        }

    # --- what the study variants change (cppo/cppo/study.py); the defaults are cppo.md's corrected loop ---

    def rollout_noise(self, s: torch.Tensor) -> torch.Tensor:
        """The ε each env acts from: a fresh ε ~ N(0, I) per env and step."""
        return torch.randn(s.shape[0], self.actor.num_actions, device=s.device)

    def kernel_regularizer(self, s, mean, std, a0) -> tuple[torch.Tensor | None, dict[str, torch.Tensor]]:
        """An extra kernel loss and what to log of it: none (with the mean target the kernel needs no anchor)."""
        return None, {}

    def distillation_target(self, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
        """a* = μ_θ(s, a0): the kernel mean (a sample would add σ² of blur every iteration)."""
        return mean

    def distillation_noise(self, noise: torch.Tensor) -> torch.Tensor:
        """The stored ε that produced a0 (coupled pairs)."""
        return noise

    def update_reference(self) -> None:
        """φ_ref ← φ (a hard copy)."""
        self.actor.update_reference(0.0)

    # --- checkpoints -----------------------------------------------------------------------------------

    def save(self) -> dict:
        saved = super().save()
        saved["flow_optimizer_state_dict"] = self.flow_optimizer.state_dict()
        if self.critic_optimizer is not None:
            saved["critic_optimizer_state_dict"] = self.critic_optimizer.state_dict()
        return saved

    def load(self, loaded_dict: dict, load_cfg: dict | None, strict: bool) -> bool:
        resumed = super().load(loaded_dict, load_cfg, strict)
        if (load_cfg is None or load_cfg.get("optimizer")) and "flow_optimizer_state_dict" in loaded_dict:
            self.flow_optimizer.load_state_dict(loaded_dict["flow_optimizer_state_dict"])
            if self.critic_optimizer is not None and "critic_optimizer_state_dict" in loaded_dict:
                self.critic_optimizer.load_state_dict(loaded_dict["critic_optimizer_state_dict"])
        return resumed

    construct_algorithm = staticmethod(construct_flow_algorithm)

"""FPO++ (Yi, Choi et al. 2026, arXiv 2602.02481) on Flow Policy Optimization (McAllister et al. 2025,
arXiv 2507.21053), as docs/fpo.md states it.

Per iteration:
 1. rollout  a = K-step flow sample from ε ~ N(0, I), plus N(0, σ²) noise; N draws (τ_i, ε_i) per action and
             their flow-matching losses ℓ_i(φ_old) = ‖v_φ(s, x_τ, τ) − (a − ε_i)‖² / √D are stored  → act()
 2. returns  GAE, advantages normalized over the rollout (rsl_rl); time-outs bootstrap from V(true final obs)
 3. update   per draw, r_i = exp(ℓ_i(φ_old) − ℓ_i(φ)) (an estimate of π_φ(a|s) / π_old(a|s): the loss is a
             bound on −log π up to a constant); the asymmetric trust region: PPO's clipped objective where
             A > 0, SPO's penalty A·r − |A|/(2ε)·(r − 1)² where A ≤ 0; the critic by squared error   → step()

The ratio needs no likelihood and no sampler: the rollout's K steps only draw the action. It subclasses our
PPO for rsl_rl's runner, storage, GAE, time-out bootstrapping and the NaN guard, and shares the flow network
and sampler of every flow algorithm here.
"""

from __future__ import annotations

import math
from typing import Literal, NamedTuple

import torch
import torch.nn as nn
from rsl_rl.storage import RolloutStorage
from tensordict import TensorDict

from cppo.flow import Velocity, flow_matching_error
from cppo.fpo.actor import FPOPolicy
from cppo.ppo import PPO, construct_flow_algorithm

TAU_RANGE = (0.005, 0.995)
"""τ ~ U(TAU_RANGE) (FPO++): the ends of the path carry no information about the action (τ = 0) or a loss
that ignores the noise (τ = 1)."""


class Draws(NamedTuple):
    """What the rollout stores per action in rsl_rl's `distribution_params` slot: the N (ε, τ) draws and their
    flow-matching losses under the rollout's parameters."""

    noise: torch.Tensor  # [batch, N, actions]
    tau: torch.Tensor  # [batch, N, 1]
    loss: torch.Tensor  # [batch, N]


def flow_losses(velocity: Velocity, obs: torch.Tensor, actions: torch.Tensor, noise, tau) -> torch.Tensor:
    """ℓ_i = ‖v(s, x_τi, τ_i) − (a − ε_i)‖² / √D per draw, [batch, N] (FPO++'s scale: the sum over the D action
    dimensions divided by √D, so the ratio's sensitivity grows with √D rather than D)."""
    return flow_matching_error(velocity, obs, noise, actions, tau) / math.sqrt(actions.shape[-1])


def clamp_forward(x: torch.Tensor, max: float) -> torch.Tensor:
    """min(x, max) in the forward pass, the identity's gradient in the backward pass (straight through)."""
    return x + (x.clamp(max=max) - x).detach()


def fpo_surrogate(
    loss_old: torch.Tensor,
    loss_new: torch.Tensor,
    advantages: torch.Tensor,
    clip: float,
    ratio: Literal["per_sample", "averaged"] = "per_sample",
    trust_region: Literal["aspo", "ppo"] = "aspo",
    loss_clamp: float = 20.0,
    log_ratio_clamp: float = 10.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """FPO's policy loss (to minimize) and its ratios, from the per-draw losses [batch, N] and advantages [batch].

    ratio="per_sample": r_i = exp(ℓ_i,old − ℓ_i) for each draw (FPO++); "averaged": one r per action from the
    mean losses (FPO). trust_region="aspo": −min(rA, clip(r, 1±ε)A) where A > 0 and −(rA − |A|/(2ε)(r − 1)²)
    where A ≤ 0 (FPO++); "ppo": the clipped objective for both signs (FPO). A pure function."""
    if loss_clamp > 0:  # a loss far above the clamp is an outlier draw, not information about the action
        loss_old, loss_new = loss_old.clamp(max=loss_clamp), loss_new.clamp(max=loss_clamp)
    if ratio == "averaged":
        log_ratio = (loss_old.mean(-1) - loss_new.mean(-1)).unsqueeze(-1)
    else:
        log_ratio = loss_old - loss_new
    r = torch.exp(clamp_forward(log_ratio, log_ratio_clamp))
    a = advantages.unsqueeze(-1)
    clipped = torch.max(-a * r, -a * r.clamp(1 - clip, 1 + clip))
    if trust_region == "ppo":
        return clipped.mean(), r
    # SPO: a quadratic penalty whose gradient vanishes at r = 1 − ε, pulling the ratio back smoothly where
    # clipping would only stop the gradient (and let r fall further on the next mini-batch).
    spo = -(a * r - a.abs() / (2 * clip) * (r - 1).pow(2))
    return torch.where(a > 0, clipped, spo).mean(), r


class FPO(PPO):
    actor: FPOPolicy

    def __init__(
        self,
        actor: FPOPolicy,
        critic: nn.Module,
        storage: RolloutStorage,
        *,
        samples_per_action: int = 16,
        ratio: Literal["per_sample", "averaged"] = "per_sample",
        trust_region: Literal["aspo", "ppo"] = "aspo",
        loss_clamp: float = 20.0,
        log_ratio_clamp: float = 10.0,
        action_noise_std: float = 0.02,
        spread_samples: int = 256,
        **ppo_kwargs,
    ):
        super().__init__(actor, critic, storage, **ppo_kwargs)  # its Adam steps the flow and the critic
        self.samples_per_action = samples_per_action
        self.ratio: Literal["per_sample", "averaged"] = ratio
        self.trust_region: Literal["aspo", "ppo"] = trust_region
        self.loss_clamp, self.log_ratio_clamp = loss_clamp, log_ratio_clamp
        self.action_noise_std, self.spread_samples = action_noise_std, spread_samples

    # --- 1. rollout ----------------------------------------------------------------------------------

    def act(self, obs: TensorDict) -> torch.Tensor:
        s = self.actor.observation(obs)
        num_envs, num_actions = s.shape[0], self.actor.num_actions
        actions = self.actor.rollout_sample(s, torch.randn(num_envs, num_actions, device=s.device))
        if self.action_noise_std > 0:
            actions = self.actor.clip(actions + self.action_noise_std * torch.randn_like(actions))
        noise = torch.randn(num_envs, self.samples_per_action, num_actions, device=s.device)
        low, high = TAU_RANGE
        tau = low + (high - low) * torch.rand(num_envs, self.samples_per_action, 1, device=s.device)
        return self.record(obs, actions, params=Draws(noise, tau, flow_losses(self.actor.flow, s, actions, noise, tau)))

    # --- 3. the update ---------------------------------------------------------------------------------

    def optimize(self) -> dict[str, float]:
        # The stored flow losses were computed under the old normalization (so r = 1 at φ_old): it moves after.
        return self.likelihood_free_update(self.step, self.spread_samples)

    def step(self, batch: RolloutStorage.Batch) -> dict[str, torch.Tensor]:
        actions, advantages, stored = batch.actions, batch.advantages, batch.old_distribution_params
        assert actions is not None and advantages is not None and stored is not None, "no rollout stored yet"
        draws = Draws(*stored)
        s = self.actor.observation(batch.observations)
        loss_new = flow_losses(self.actor.flow, s, actions, draws.noise, draws.tau)
        surrogate, ratio = fpo_surrogate(
            draws.loss, loss_new, advantages.squeeze(-1), self.clip_param,
            self.ratio, self.trust_region, self.loss_clamp, self.log_ratio_clamp,
        )  # fmt: skip
        value_loss = self.value_loss(batch)
        self.gradient_step(self.optimizer, surrogate + self.value_loss_coef * value_loss, self.actor, self.critic)
        return {
            "surrogate": surrogate.detach(),
            "value": value_loss.detach(),
            "flow_matching": loss_new.detach().mean(),
            "ratio_outside_clip": ((ratio.detach() - 1).abs() > self.clip_param).float().mean(),
        }

    construct_algorithm = staticmethod(construct_flow_algorithm)

"""DIPOLE, on-policy (Liang, Zheng et al. 2026), as stated in docs/specs/dipole.md.

Per iteration:
 1. rollout  a = guided K-step sample from ε ~ N(0, I) with v = (1 + ω)·v⁺ − ω·v⁻          → act()
 2. returns  GAE advantages G, z-scored over the rollout (rsl_rl); time-outs bootstrap from
             V(true final obs)                                     → PPO.process_env_step/compute_returns
 3. weights  w = σ(β·G + k) ∈ (0, 1), a constant per sample                              → weights()
 4. fit      π⁺ by flow matching weighted by w, π⁻ weighted by 1 − w, on the same (ε, τ) draw;
             the critic by rsl_rl's value loss                                            → optimize()

No likelihood and no ratio: the update is two bounded weighted regressions, so there is no KL to adapt
the learning rate on (schedule must be "fixed"). It subclasses our PPO for rsl_rl's runner, storage,
GAE, time-out bootstrapping and the NaN guard, and shares CPPO's flow network and sampler.
"""

from __future__ import annotations

import torch
import torch.nn as nn
from rsl_rl.storage import RolloutStorage
from tensordict import TensorDict

from cppo.dipole.actor import DipolePolicy
from cppo.flow import flow_matching_loss
from cppo.ppo import PPO, construct_flow_algorithm


def dipole_weights(advantages: torch.Tensor, beta: float, shift: float) -> torch.Tensor:
    """w = σ(β·G + k): π⁺'s weight of each sample (π⁻'s is 1 − w).

    Kept strictly inside (0, 1): in float32 σ rounds to exactly 1 beyond β·G + k ≈ 17, which would drop the
    sample from π⁻'s fit altogether; the bounded weights are what the decomposition relies on."""
    eps = torch.finfo(advantages.dtype).eps
    return torch.sigmoid(beta * advantages + shift).clamp(eps, 1 - eps)


class DIPOLE(PPO):
    actor: DipolePolicy

    def __init__(
        self,
        actor: DipolePolicy,
        critic: nn.Module,
        storage: RolloutStorage,
        *,
        beta: float = 2.0,
        weight_shift: float = 0.0,
        explore_std: float = 0.3,
        spread_samples: int = 256,
        **ppo_kwargs,
    ):
        super().__init__(actor, critic, storage, **ppo_kwargs)  # its Adam steps the flows and the critic
        self.beta, self.weight_shift, self.spread_samples = beta, weight_shift, spread_samples
        self.explore_std = explore_std

    # --- 1. rollout ----------------------------------------------------------------------------------

    def act(self, obs: TensorDict) -> torch.Tensor:
        s = self.actor.observation(obs)
        noise = torch.randn(s.shape[0], self.actor.num_actions, device=s.device)
        actions = self.actor.rollout_sample(s, noise, omega=self.actor.omega)
        if self.explore_std > 0:
            actions = self.actor.clip(actions + self.explore_std * torch.randn_like(actions))
        return self.record(obs, actions)  # no likelihood to store

    # --- 3. weights, 4. the two weighted flow fits and the critic -------------------------------------

    def optimize(self) -> dict[str, float]:
        return self.likelihood_free_update(self.step, self.spread_samples)

    def step(self, batch: RolloutStorage.Batch) -> dict[str, torch.Tensor]:
        assert batch.actions is not None and batch.advantages is not None  # rsl_rl types every field optional
        s = self.actor.observation(batch.observations)
        weights = dipole_weights(batch.advantages.squeeze(-1), self.beta, self.weight_shift)
        noise, tau = torch.randn_like(batch.actions), torch.rand_like(batch.actions[..., :1])  # one draw for both
        positive, negative = self.actor.flows()
        positive_loss = flow_matching_loss(positive, s, noise, batch.actions, tau, weights)
        negative_loss = flow_matching_loss(negative, s, noise, batch.actions, tau, 1 - weights)
        value_loss = self.value_loss(batch)

        loss = positive_loss + negative_loss + self.value_loss_coef * value_loss
        self.gradient_step(self.optimizer, loss, self.actor, self.critic)
        return {
            "flow_positive": positive_loss.detach(),
            "flow_negative": negative_loss.detach(),
            "value": value_loss.detach(),
            "weight_mean": weights.mean(),
            "weight_above_half": (weights > 0.5).float().mean(),
        }

    construct_algorithm = staticmethod(construct_flow_algorithm)

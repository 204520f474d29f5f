"""Learning from a recorded dataset (cppo/dataset.py) before online training. dipole.md, "Offline".

- `pretrain`: behaviour cloning of a flow policy — flow matching onto the dataset's actions — for CPPO
  (φ, then φ_ref ← φ) and DIPOLE (π⁺ and π⁻ alike, so every ω samples the behaviour). `train.py --pretrain`.
- `train_offline`: DIPOLE from the dataset alone (`train.py --algo dipole --dataset`), with an IQL critic:
      V(s)      expectile regression (τ_e = 0.9) onto min(Q̄1, Q̄2)(s, a)     Q̄: Polyak-averaged target nets
      Q1, Q2    regression onto r + γ·(1 − terminal)·V(s')                 s': true final obs at time-outs
      A         min(Q̄1, Q̄2)(s, a) − V(s), z-scored per batch; w = σ(β·A + k) as online
  V is the algorithm's own critic, so online DIPOLE continues from it; the Q networks are dropped after.
Both first fit the observation normalizers to the dataset (they then keep updating online as usual).
"""

from __future__ import annotations

import copy
from typing import cast

import torch
import torch.nn as nn

from cppo import rsl_rl_api
from cppo.dataset import Transitions
from cppo.dipole.update import DIPOLE, dipole_weights
from cppo.flow import flow_matching_loss, last_layer, mlp
from cppo.ppo import adam


def fit_normalizers(alg, dataset: Transitions, chunk: int = 65536) -> None:
    for start in range(0, len(dataset), chunk):
        obs = dataset.obs(torch.arange(start, min(start + chunk, len(dataset)), device=dataset.actions.device))
        alg.actor.update_normalization(obs)
        alg.critic.update_normalization(obs)
        alg.actor.update_action_normalization(dataset.actions[start : start + chunk])


def batches(dataset: Transitions, steps: int, batch_size: int):
    for _ in range(steps):
        yield torch.randint(len(dataset), (min(batch_size, len(dataset)),), device=dataset.actions.device)


def pretrain(alg, dataset: Transitions, steps: int, batch_size: int, learning_rate: float = 1e-3) -> float:
    """Behaviour cloning of the actor's flow(s); returns the last flow-matching loss."""
    fit_normalizers(alg, dataset)
    flows = alg.actor.flows()
    optimizer = adam(alg.actor.parameters(), learning_rate)
    for index in batches(dataset, steps, batch_size):
        s, actions = alg.actor.observation(dataset.obs(index)), dataset.actions[index]
        noise = torch.randn_like(actions)
        loss = cast(torch.Tensor, sum(flow_matching_loss(flow, s, noise, alg.actor.clip(actions)) for flow in flows))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    alg.actor.cloned()
    return loss.item() / len(flows)


class TwinQ(nn.Module):
    def __init__(self, obs_dim: int, num_actions: int, hidden_dims, activation: str):
        super().__init__()
        self.q1 = mlp(obs_dim + num_actions, hidden_dims, 1, activation)
        self.q2 = mlp(obs_dim + num_actions, hidden_dims, 1, activation)

    def forward(self, s: torch.Tensor, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.cat([s, actions], dim=-1)
        return self.q1(x).squeeze(-1), self.q2(x).squeeze(-1)


def expectile_loss(diff: torch.Tensor, expectile: float) -> torch.Tensor:
    """Asymmetric squared error |τ_e − 1(diff < 0)|·diff²: τ_e > 0.5 fits an upper expectile of diff."""
    return (torch.where(diff > 0, expectile, 1 - expectile) * diff.pow(2)).mean()


def train_offline(alg: DIPOLE, dataset: Transitions, cfg, hidden_dims, activation: str, log=None) -> dict[str, float]:
    """Offline DIPOLE with an IQL critic for cfg.steps gradient steps; `log(step, losses)` every 100."""
    fit_normalizers(alg, dataset)
    # Adam moves a weight by ~lr per step, so growing a value of ~r̄/(1 − γ) (≈ 60 on CartpoleBalance) from
    # zero takes tens of thousands of steps: start V and Q there, and learn the differences.
    value_level = dataset.rewards.mean() / (1 - alg.gamma)
    q = TwinQ(alg.critic.obs_dim, alg.actor.num_actions, hidden_dims, activation).to(dataset.actions.device)
    with torch.no_grad():
        for head in (last_layer(q.q1), last_layer(q.q2), rsl_rl_api.output_layer(alg.critic)):
            head.bias.fill_(value_level)
    q_target = copy.deepcopy(q).requires_grad_(False)
    q_optimizer = adam(q.parameters(), alg.learning_rate)
    positive, negative = alg.actor.flows()
    for step, index in enumerate(batches(dataset, cfg.steps, cfg.batch_size)):
        obs, actions = dataset.obs(index), alg.actor.clip(dataset.actions[index])  # gathered once per step
        s_critic = alg.critic.get_latent(obs)
        with torch.no_grad():
            q_min = torch.min(*q_target(s_critic, actions))
            next_value = alg.critic(dataset.obs(index, next=True)).squeeze(-1)
            target = dataset.rewards[index] + alg.gamma * (1 - dataset.terminals[index]) * next_value
        value = alg.critic(obs).squeeze(-1)
        value_loss = expectile_loss(q_min - value, cfg.expectile)
        q1, q2 = q(s_critic, actions)
        q_loss = (q1 - target).pow(2).mean() + (q2 - target).pow(2).mean()

        advantage = q_min - value.detach()
        weights = dipole_weights((advantage - advantage.mean()) / (advantage.std() + 1e-8), alg.beta, alg.weight_shift)
        s = alg.actor.observation(obs)
        noise, tau = torch.randn_like(actions), torch.rand_like(actions[..., :1])
        positive_loss = flow_matching_loss(positive, s, noise, actions, tau, weights)
        negative_loss = flow_matching_loss(negative, s, noise, actions, tau, 1 - weights)

        for optimizer, loss in ((alg.optimizer, positive_loss + negative_loss + value_loss), (q_optimizer, q_loss)):
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        with torch.no_grad():
            for target_p, p in zip(q_target.parameters(), q.parameters(), strict=True):
                target_p.lerp_(p, cfg.target_polyak)
        losses = {
            "q": q_loss, "value": value_loss, "flow_positive": positive_loss, "flow_negative": negative_loss,
            "weight_mean": weights.mean(), "weight_above_half": (weights > 0.5).float().mean(),
        }  # fmt: skip
        if log is not None and (step % 100 == 0 or step == cfg.steps - 1):
            log(step, {k: v.item() for k, v in losses.items()})
    return {k: v.item() for k, v in losses.items()}

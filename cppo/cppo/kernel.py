"""The Gaussian kernel of CPPO: a ~ N(μ_θ(s, a0), diag σ_θ²) with μ_θ = a0 + Δ_θ(s, a0), and the closed
forms PPO needs (log-density, entropy, KL). cppo.md, "Networks" and "One iteration", step 3."""

from __future__ import annotations

import math
from typing import cast

import torch
import torch.nn as nn
from rsl_rl.modules import EmpiricalNormalization

from cppo.flow import mlp, zero_output_layer

LOG_2PI = math.log(2 * math.pi)


def gaussian_log_prob(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """log N(x; mean, diag std²), summed over the last dimension."""
    return (-0.5 * ((x - mean) / std).pow(2) - std.log() - 0.5 * LOG_2PI).sum(-1)


def gaussian_entropy(std: torch.Tensor) -> torch.Tensor:
    """H = Σ_i (½ log(2πe) + log σ_i), summed over the last dimension."""
    return (0.5 * (LOG_2PI + 1) + std.log()).sum(-1)


def gaussian_kl(mean_p: torch.Tensor, std_p: torch.Tensor, mean_q: torch.Tensor, std_q: torch.Tensor) -> torch.Tensor:
    """KL(N_p ‖ N_q) for diagonal Gaussians, summed over the last dimension."""
    return (torch.log(std_q / std_p) + (std_p.pow(2) + (mean_p - mean_q).pow(2)) / (2 * std_q.pow(2)) - 0.5).sum(-1)


class GaussianKernel(nn.Module):
    """μ_θ(s, a0) = a0 + Δ_θ(s, â0) and σ_θ: a learnable per-dimension vector, or a state-dependent head.

    â0 is a0 through a running normalizer (raw a0 as input made the KL explode in the prototype). Δ's
    output layer starts at zero, so a fresh kernel is the identity in the mean: μ = a0.
    """

    __jit_unused_properties__ = ["output_layer"]  # training only: TorchScript (rsl_rl's policy.pt) skips it

    def __init__(
        self,
        obs_dim: int,
        action_dim: int,
        hidden_dims,
        activation: str = "elu",
        init_std: float = 0.5,
        min_std: float = 0.02,
        max_std: float = 2.0,
        state_dependent_std: bool = False,
    ):
        super().__init__()
        self.action_dim = action_dim
        self.state_dependent_std = state_dependent_std
        self.log_std_range = (math.log(min_std), math.log(max_std))
        self.a0_normalizer = EmpiricalNormalization(action_dim)
        self.net = mlp(obs_dim + action_dim, hidden_dims, action_dim * (2 if state_dependent_std else 1), activation)
        zero_output_layer(self.net)
        # With a state-dependent head this is the head's bias-free offset; either way σ starts at init_std.
        self.log_std = nn.Parameter(torch.full((action_dim,), math.log(init_std)))

    def forward(self, obs: torch.Tensor, a0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(μ, σ), each [batch, action_dim]."""
        out = self.net(torch.cat([obs, self.a0_normalizer(a0)], dim=-1))
        log_std = self.log_std
        if self.state_dependent_std:
            out, log_std_offset = out.split(self.action_dim, dim=-1)
            log_std = log_std + log_std_offset
        std = log_std.clamp(*self.log_std_range).exp().expand_as(out)
        return a0 + out, std

    @property
    def std(self) -> torch.Tensor:
        """The state-independent part of σ (what the runner logs as Policy/mean_std)."""
        return self.log_std.clamp(*self.log_std_range).exp()

    @property
    def output_layer(self) -> nn.Linear:
        """Δ's (and a state-dependent σ head's) output layer."""
        return cast(nn.Linear, self.net[-1])

    def reset_residual(self) -> None:
        """Δ ← 0: the next policy iteration starts from the (re-distilled) reference again."""
        last = self.output_layer
        with torch.no_grad():
            last.weight[: self.action_dim].zero_()
            last.bias[: self.action_dim].zero_()

"""DIPOLE's actor: two flows, π⁺ (leans toward high-advantage actions) and π⁻ (toward low-advantage ones),
and the guided sampler that combines them with the greediness ω chosen at run time (dipole.md, "Acting"):

    v = (1 + ω)·v⁺ − ω·v⁻     then the same K-step ODE as CPPO's flow (cppo/flow.py)

ω = 0 samples π⁺ alone (conservative); a larger ω is greedier. Two networks as in the paper, or one network
whose observation input carries a ±1 sign (`shared_network`, half the parameters).
"""

from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn as nn
from tensordict import TensorDict

from cppo.errors import UsageError
from cppo.flow import FlowVelocity, Velocity, sample_flow
from cppo.flow_actor import LikelihoodFreeActor, traced_at_zero_noise


class SignedVelocity:
    """One side (sign +1 or −1) of a shared velocity network: the sign is one more observation input."""

    def __init__(self, shared: FlowVelocity, sign: float):
        self.shared, self.sign = shared, sign

    def encode(self, obs: torch.Tensor) -> torch.Tensor:
        return self.shared.encode(torch.cat([obs, torch.full_like(obs[..., :1], self.sign)], dim=-1))

    def __call__(self, obs_code: torch.Tensor, x: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
        return self.shared(obs_code, x, tau)


class GuidedVelocity:
    """v = (1 + ω)·v⁺ − ω·v⁻, written v⁺ + ω·(v⁺ − v⁻) so that ω = 0 gives v⁺ exactly."""

    def __init__(self, positive, negative, omega: float | torch.Tensor):
        self.positive, self.negative, self.omega = positive, negative, omega

    def encode(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.positive.encode(obs), self.negative.encode(obs)

    def __call__(self, obs_code, x: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
        v_positive = self.positive(obs_code[0], x, tau)
        return v_positive + self.omega * (v_positive - self.negative(obs_code[1], x, tau))


def check_omega(omega: float, name: str = "agent.algorithm.omega") -> float:
    if not omega >= 0:  # also refuses NaN
        raise UsageError(f"{name} (greediness ω) must be ≥ 0, got {omega}")
    return omega


class FlowPair(nn.Module):
    """The velocity networks of π⁺ and π⁻: two networks, or one shared network with a sign input."""

    def __init__(self, obs_dim: int, num_actions: int, hidden_dims, activation: str, shared: bool):
        super().__init__()
        if shared:
            self.shared = FlowVelocity(obs_dim + 1, num_actions, hidden_dims, activation)
        else:
            self.positive = FlowVelocity(obs_dim, num_actions, hidden_dims, activation)
            self.negative = FlowVelocity(obs_dim, num_actions, hidden_dims, activation)

    def flows(self) -> tuple[Velocity, Velocity]:
        """(π⁺'s velocity, π⁻'s velocity), each usable by sample_flow and flow_matching_loss."""
        if hasattr(self, "shared"):
            return SignedVelocity(self.shared, 1.0), SignedVelocity(self.shared, -1.0)
        return self.positive, self.negative

    def sample(self, obs: torch.Tensor, noise: torch.Tensor, omega, steps: int, integrator: str) -> torch.Tensor:
        return sample_flow(GuidedVelocity(*self.flows(), omega), obs, noise, steps, integrator)


class DipolePolicy(LikelihoodFreeActor):
    def __init__(
        self,
        obs: TensorDict,
        obs_groups: dict[str, list[str]],
        num_actions: int,
        shared_network: bool = False,
        omega: float = 1.0,
        **shared: Any,
    ):
        """`shared`: FlowActor's options (flow networks, normalization, sampler, action box)."""
        super().__init__(obs, obs_groups, num_actions, **shared)
        self.omega = omega
        self.flow_pair = FlowPair(self.obs_dim, num_actions, self.hidden_dims, self.activation, shared_network)
        self.rollout_sample = self.rollout(self.sample)

    def flows(self) -> tuple[Velocity, Velocity]:
        return self.flow_pair.flows()

    def sample(self, obs: torch.Tensor, noise: torch.Tensor, omega: float | torch.Tensor | None = None) -> torch.Tensor:
        """Guided K-step sample from normalized observations; ω defaults to the training value."""
        omega = self.omega if omega is None else omega
        return self.clip(self.flow_pair.sample(obs, noise, omega, self.flow_steps, self.integrator))

    def forward(self, obs: TensorDict, noise: torch.Tensor | None = None, omega: float | None = None) -> torch.Tensor:
        s = self.observation(obs)
        noise = torch.zeros(s.shape[0], self.num_actions, device=s.device) if noise is None else noise
        return self.sample(s, noise, omega)

    def as_onnx(self, verbose: bool = False) -> nn.Module:
        return DeployedDipolePolicy(self)

    def as_jit(self) -> nn.Module:
        return traced_at_zero_noise(DeployedDipolePolicy(self))


class DeployedDipolePolicy(nn.Module):
    """obs, noise, omega → actions: normalization → the guided K-step sampler (unrolled) → clip.

    Inputs "obs" [batch, obs_dim], "noise" [batch, action_dim] (the initial ε; zeros for the deterministic
    policy) and "omega" (a scalar: the greediness, tunable on the robot without retraining)."""

    def __init__(self, policy: DipolePolicy):
        super().__init__()
        self.obs_normalizer = copy.deepcopy(policy.obs_normalizer)
        self.flow_pair = copy.deepcopy(policy.flow_pair)
        self.flow_steps, self.integrator, self.action_limit = policy.flow_steps, policy.integrator, policy.action_limit
        self.obs_dim, self.num_actions, self.omega = policy.obs_dim, policy.num_actions, policy.omega

    def forward(self, obs: torch.Tensor, noise: torch.Tensor, omega: torch.Tensor | None = None) -> torch.Tensor:
        """`omega` None: the greediness the policy was trained (or last set) with."""
        omega = torch.tensor(self.omega, device=obs.device) if omega is None else omega
        actions = self.flow_pair.sample(self.obs_normalizer(obs), noise, omega, self.flow_steps, self.integrator)
        return actions.clamp(-self.action_limit, self.action_limit)

    def get_dummy_inputs(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return torch.zeros(1, self.obs_dim), torch.zeros(1, self.num_actions), torch.tensor(self.omega)

    @property
    def input_names(self) -> list[str]:
        return ["obs", "noise", "omega"]

    @property
    def output_names(self) -> list[str]:
        return ["actions"]

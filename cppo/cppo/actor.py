"""CPPO's actor: the flow φ, its reference φ_ref and the Gaussian kernel θ (docs/specs/cppo.md, "Networks")."""

from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn as nn
from tensordict import TensorDict

from cppo.cppo.kernel import GaussianKernel
from cppo.flow import FlowVelocity, sample_flow
from cppo.flow_actor import SQUASHES, DeployedFlowPolicy, FlowActor, traced_at_zero_noise


class FlowPolicy(FlowActor):
    """CPPO's actor: the flow φ, its reference φ_ref and the Gaussian kernel θ."""

    def __init__(
        self,
        obs: TensorDict,
        obs_groups: dict[str, list[str]],
        num_actions: int,
        kernel_hidden_dims=(256, 256),
        init_std: float = 0.5,
        min_std: float = 0.02,
        max_std: float = 2.0,
        state_dependent_std: bool = False,
        squash: str = "clip",
        **shared: Any,
    ):
        """`shared`: FlowActor's options (flow network, normalization, sampler, action box). `squash="tanh"`: the
        flow and kernel act in an unbounded space and the env gets tanh of the action (brax's squashed policy)."""
        super().__init__(obs, obs_groups, num_actions, **shared)
        if squash not in SQUASHES:
            raise ValueError(f"bad squash {squash!r}: must be one of {', '.join(SQUASHES)}")
        self.squash = squash
        self.flow = FlowVelocity(self.obs_dim, num_actions, self.hidden_dims, self.activation)
        self.reference = copy.deepcopy(self.flow).requires_grad_(False)
        self.rollout_reference = self.rollout(self.sample_reference)
        self.kernel = GaussianKernel(
            self.obs_dim, num_actions, kernel_hidden_dims, self.activation, init_std, min_std, max_std,
            state_dependent_std,
        )  # fmt: skip

    def sample_reference(self, obs: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        return self.clip(sample_flow(self.reference, obs, noise, self.flow_steps, self.integrator))

    def sample_flow(self, obs: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        return self.clip(sample_flow(self.flow, obs, noise, self.flow_steps, self.integrator))

    def flows(self) -> tuple[nn.Module, ...]:
        return (self.flow,)

    def update_action_normalization(self, actions: torch.Tensor) -> None:
        self.kernel.a0_normalizer.update(actions)  # the kernel's a0 input is the behaviour action after cloning

    def cloned(self) -> None:
        self.update_reference(0.0)  # the rollout samples φ_ref: make it the cloned flow

    def update_reference(self, ema: float) -> None:
        """φ_ref ← ema·φ_ref + (1 − ema)·φ (ema = 0: hard copy)."""
        with torch.no_grad():
            for ref, new in zip(self.reference.parameters(), self.flow.parameters(), strict=True):
                ref.lerp_(new, 1.0 - ema)

    @property
    def output_std(self) -> torch.Tensor:
        return self.kernel.std

    def forward(self, obs: TensorDict, noise: torch.Tensor | None = None) -> torch.Tensor:
        """The deployed action: flow sample (ε = 0 unless noise is given) through the kernel mean."""
        s = self.observation(obs)
        noise = torch.zeros(s.shape[0], self.num_actions, device=s.device) if noise is None else noise
        return DeployedFlowPolicy.act(self, s, noise)

    def as_onnx(self, verbose: bool = False, residual: bool = True) -> nn.Module:
        return DeployedFlowPolicy(self, residual)

    def as_jit(self) -> nn.Module:
        return traced_at_zero_noise(DeployedFlowPolicy(self))

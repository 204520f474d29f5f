"""FPO's actor: one flow v_φ(s, x, τ) and its K-step sampler, nothing else (no kernel, no second flow).

At deployment the sampler starts from ε = 0 ("zero-sampling", FPO++): the exported graph takes ε as an input,
zeros for the deterministic policy, as for every flow algorithm here.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn
from tensordict import TensorDict

from cppo.flow import FlowVelocity, sample_flow
from cppo.flow_actor import DeployedFlowPolicy, LikelihoodFreeActor, traced_at_zero_noise


class FPOPolicy(LikelihoodFreeActor):
    def __init__(self, obs: TensorDict, obs_groups: dict[str, list[str]], num_actions: int, **shared: Any):
        """`shared`: FlowActor's options (flow network, normalization, sampler, action box)."""
        super().__init__(obs, obs_groups, num_actions, **shared)
        self.flow = FlowVelocity(self.obs_dim, num_actions, self.hidden_dims, self.activation)
        self.rollout_sample = self.rollout(self.sample)

    def sample(self, obs: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """K-step sample from normalized observations, clipped to the action box."""
        return self.clip(sample_flow(self.flow, obs, noise, self.flow_steps, self.integrator))

    def flows(self) -> tuple[nn.Module, ...]:
        return (self.flow,)

    def forward(self, obs: TensorDict, noise: torch.Tensor | None = None) -> torch.Tensor:
        """The deployed action: the flow sample from ε = 0 unless noise is given."""
        s = self.observation(obs)
        noise = torch.zeros(s.shape[0], self.num_actions, device=s.device) if noise is None else noise
        return self.sample(s, noise)

    def as_onnx(self, verbose: bool = False) -> nn.Module:
        return DeployedFlowPolicy(self, residual=False)

    def as_jit(self) -> nn.Module:
        return traced_at_zero_noise(DeployedFlowPolicy(self, residual=False))

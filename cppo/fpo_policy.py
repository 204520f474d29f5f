"""FPO's actor: one flow v_φ(s, x, τ) and its K-step sampler, nothing else (no kernel, no second flow).

At deployment the sampler starts from ε = 0 ("zero-sampling", FPO++): the exported graph takes ε as an input,
zeros for the deterministic policy, as for every flow algorithm here.
"""

from __future__ import annotations

import torch
import torch.nn as nn
from tensordict import TensorDict

from cppo.flow import FlowVelocity, sample_flow
from cppo.flow_policy import DeployedFlowPolicy, FlowActor, traced_at_zero_noise


class FPOPolicy(FlowActor):
    spread: torch.Tensor

    def __init__(
        self,
        obs: TensorDict,
        obs_groups: dict[str, list[str]],
        num_actions: int,
        hidden_dims=(256, 256, 256),
        activation: str = "elu",
        obs_normalization: bool = True,
        flow_steps: int = 8,
        integrator: str = "euler",
        action_limit: float = 1.0,
        cuda_graphs: bool = True,
    ):
        super().__init__(
            obs, obs_groups, num_actions, obs_normalization, flow_steps, integrator, action_limit, cuda_graphs
        )
        self.flow = FlowVelocity(self.obs_dim, num_actions, hidden_dims, activation)
        self.rollout_sample = self.rollout(self.sample)
        # Spread of the policy's actions at fixed states (what rsl_rl logs as Policy/mean_std); set by FPO.
        self.register_buffer("spread", torch.ones(num_actions), persistent=False)

    def sample(self, obs: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """K-step sample from normalized observations, clipped to the action box."""
        return self.clip(sample_flow(self.flow, obs, noise, self.flow_steps, self.integrator))

    def flows(self) -> tuple[nn.Module, ...]:
        return (self.flow,)

    @property
    def output_std(self) -> torch.Tensor:
        return self.spread

    def forward(self, obs: TensorDict, noise: torch.Tensor | None = None) -> torch.Tensor:
        """The deployed action: the flow sample from ε = 0 unless noise is given."""
        s = self.observation(obs)
        noise = torch.zeros(s.shape[0], self.num_actions, device=s.device) if noise is None else noise
        return self.sample(s, noise)

    def as_onnx(self, verbose: bool = False) -> nn.Module:
        return DeployedFlowPolicy(self, residual=False)

    def as_jit(self) -> nn.Module:
        return traced_at_zero_noise(DeployedFlowPolicy(self, residual=False))

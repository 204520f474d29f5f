"""What every flow-policy actor shares (CPPO's, FPO++'s, DIPOLE's): observation groups and normalizer, the ODE
sampler's settings and the action box, the measured action spread of the likelihood-free ones, and the deployable
(exported) flow policy: obs, noise → actions."""

from __future__ import annotations

import copy
import warnings
from typing import Any, cast

import torch
import torch.nn as nn
from rsl_rl.modules import EmpiricalNormalization
from tensordict import TensorDict

from cppo.flow import CudaGraphed, action_spread, sample_flow

SQUASHES = ("clip", "tanh")


def squashed(actions: torch.Tensor, squash: str) -> torch.Tensor:
    """The env's action for a policy-space action: itself ("clip": the env clips it) or its tanh ("tanh")."""
    return torch.tanh(actions) if squash == "tanh" else actions


class FlowActor(nn.Module):
    """What every flow-policy actor shares: its observation groups and normalizer, the ODE sampler's
    settings and the action box. CPPO's FlowPolicy and DIPOLE's DipolePolicy build on it."""

    is_recurrent = False
    squash = "clip"
    """"clip": the policy's actions are the env's (it clips them to ±1); "tanh": the env gets their tanh (CPPO's
    FlowPolicy may set it)."""

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
        super().__init__()
        self.hidden_dims, self.activation = tuple(hidden_dims), activation  # the flow networks' (each actor's own)
        self.obs_groups = list(obs_groups["actor"])
        self.obs_dim = sum(obs[group].shape[-1] for group in self.obs_groups)
        self.num_actions = num_actions
        self.flow_steps, self.integrator, self.action_limit = flow_steps, integrator, action_limit
        self.obs_normalizer = EmpiricalNormalization(self.obs_dim) if obs_normalization else nn.Identity()
        self.cuda_graphs = cuda_graphs

    def rollout(self, sample):
        """`sample` as the rollout calls it: replayed from CUDA graphs on a GPU when cuda_graphs is set."""
        return CudaGraphed(sample) if self.cuda_graphs else sample

    def observation(self, obs: TensorDict) -> torch.Tensor:
        """The actor's observation groups, concatenated and normalized."""
        return self.obs_normalizer(torch.cat([obs[group] for group in self.obs_groups], dim=-1))

    def clip(self, actions: torch.Tensor) -> torch.Tensor:
        """Action mass outside the box gets no gradient from the env: keep samples and targets inside."""
        return actions.clamp(-self.action_limit, self.action_limit)

    def to_env(self, actions: torch.Tensor) -> torch.Tensor:
        """The env's action for a policy-space action (the identity unless the policy is squashed)."""
        return squashed(actions, self.squash)

    def update_normalization(self, obs: TensorDict) -> None:
        if isinstance(self.obs_normalizer, EmpiricalNormalization):
            self.obs_normalizer.update(torch.cat([obs[group] for group in self.obs_groups], dim=-1))

    def reset(self, dones: torch.Tensor | None = None, hidden_state=None) -> None:
        """Not recurrent: nothing to reset (rsl_rl calls this after every step)."""

    # --- behaviour cloning (cppo/offline.py) -----------------------------------------------------------

    def flows(self) -> tuple[nn.Module, ...]:
        """The velocity networks that sample the policy: what behaviour cloning fits to a dataset's actions."""
        raise NotImplementedError

    def update_action_normalization(self, actions: torch.Tensor) -> None:
        """Fit any normalizer of action-valued inputs to a dataset's actions (none by default)."""

    def cloned(self) -> None:
        """Called once behaviour cloning has fitted `flows()`."""


class LikelihoodFreeActor(FlowActor):
    """A flow actor whose actions have no closed-form density (FPO++, DIPOLE): where rsl_rl logs a Gaussian's σ
    (Policy/mean_std) it logs the measured spread of the actions at fixed states."""

    spread: torch.Tensor

    def __init__(self, obs: TensorDict, obs_groups: dict[str, list[str]], num_actions: int, **shared: Any):
        """`shared`: FlowActor's options (flow network, normalization, sampler, action box)."""
        super().__init__(obs, obs_groups, num_actions, **shared)
        self.register_buffer("spread", torch.ones(num_actions), persistent=False)

    def sample(self, obs: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """The policy's K-step sample from normalized observations, inside the action box."""
        raise NotImplementedError

    @property
    def output_std(self) -> torch.Tensor:
        return self.spread

    def after_update(self, observations: TensorDict, spread_samples: int) -> None:
        """Measure the spread under the normalization the update used, then update the normalization (the stored
        rollout quantities were computed under the old one)."""
        self.spread = action_spread(self.sample, self.observation(observations), self.num_actions, spread_samples)
        self.update_normalization(observations)


class DeployedFlowPolicy(nn.Module):
    """obs, noise → actions: normalization → the K-step flow sampler (unrolled) → the kernel mean → clip (→ tanh for a
    squashed policy).

    Inputs "obs" and "noise" (the initial ε; zeros for the deterministic policy), output "actions".
    `residual=False` deploys the distilled flow alone (a0); under the default loop (Δ reset to zero after
    each distillation) both are the same function.
    """

    def __init__(self, policy: FlowActor, residual: bool = True):
        super().__init__()
        self.obs_normalizer = copy.deepcopy(policy.obs_normalizer)
        self.flow = copy.deepcopy(policy.flow)
        self.kernel = copy.deepcopy(policy.kernel) if residual else None
        self.flow_steps, self.integrator, self.action_limit = policy.flow_steps, policy.integrator, policy.action_limit
        self.obs_dim, self.num_actions, self.squash = policy.obs_dim, policy.num_actions, policy.squash

    @staticmethod
    def act(policy, obs: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        a0 = sample_flow(policy.flow, obs, noise, policy.flow_steps, policy.integrator)
        actions = a0.clamp(-policy.action_limit, policy.action_limit)
        if policy.kernel is not None:
            mean, _ = policy.kernel(obs, actions)
            actions = mean.clamp(-policy.action_limit, policy.action_limit)
        return squashed(actions, policy.squash)

    def forward(self, obs: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        return self.act(self, self.obs_normalizer(obs), noise)

    def get_dummy_inputs(self) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.zeros(1, self.obs_dim), torch.zeros(1, self.num_actions)

    @property
    def input_names(self) -> list[str]:
        return ["obs", "noise"]

    @property
    def output_names(self) -> list[str]:
        return ["actions"]


def traced_at_zero_noise(deployed: DeployedFlowPolicy | nn.Module) -> nn.Module:
    """rsl_rl's TorchScript policy (obs → actions, and `reset()`), which its play script (and Isaac Lab's) saves as
    policy.pt: the deterministic policy, ε = 0. Traced, as the ONNX export is (the K-step sampler unrolled): rsl_rl's
    `torch.jit.script` keeps a traced module as it is. The ONNX export keeps the noise input."""
    at_zero = AtZeroNoise(deployed.to("cpu").eval())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)  # pyright: ignore[reportPrivateImportUsage]
        return cast(nn.Module, torch.jit.trace(at_zero, torch.zeros(2, at_zero.obs_dim)))


class AtZeroNoise(nn.Module):
    def __init__(self, deployed: nn.Module):
        super().__init__()
        self.deployed = deployed
        self.obs_dim, self.num_actions = int(cast(int, deployed.obs_dim)), int(cast(int, deployed.num_actions))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.deployed(x, x.new_zeros(x.shape[0], self.num_actions))

    @torch.jit.export
    def reset(self) -> None:
        pass

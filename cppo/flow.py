"""The flow policy: a velocity field v_φ(s, x, τ) and the K-step ODE sampler that turns noise into actions.

Shared by every flow algorithm (CPPO, DIPOLE). cppo.md, "Networks": an MLP on [normalized obs, x,
embedding of τ ∈ [0, 1]], output layer initialized to zero, so the first policy is a0 = ε ~ N(0, I).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import cast

import torch
import torch.nn as nn
from rsl_rl.utils import resolve_nn_activation

Velocity = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
"""v(obs, x, τ) → dx/dτ: a FlowVelocity network, or a combination of them (DIPOLE's guided and signed velocities)."""


def time_features(tau: torch.Tensor, num_frequencies: int = 4) -> torch.Tensor:
    """[τ, sin(2^k π τ), cos(2^k π τ)] for k < num_frequencies; tau has shape [..., 1]."""
    freqs = math.pi * 2.0 ** torch.arange(num_frequencies, device=tau.device, dtype=tau.dtype)
    angles = tau * freqs
    return torch.cat([tau, torch.sin(angles), torch.cos(angles)], dim=-1)


def mlp(in_dim: int, hidden_dims: tuple[int, ...] | list[int], out_dim: int, activation: str) -> nn.Sequential:
    layers: list[nn.Module] = []
    for width in hidden_dims:
        layers += [nn.Linear(in_dim, width), resolve_nn_activation(activation)]
        in_dim = width
    layers.append(nn.Linear(in_dim, out_dim))
    return nn.Sequential(*layers)


def last_layer(net: nn.Sequential) -> nn.Linear:
    """The output layer of an `mlp`."""
    return cast(nn.Linear, net[-1])


def zero_output_layer(net: nn.Sequential) -> None:
    nn.init.zeros_(last_layer(net).weight)
    nn.init.zeros_(last_layer(net).bias)


class FlowVelocity(nn.Module):
    """v_φ(s, x, τ). The first layer is split so the observation part is computed once per sample, not once
    per ODE step: W·[s, x, τ] = W_s·s + W_x·x + W_τ·τ."""

    def __init__(self, obs_dim: int, action_dim: int, hidden_dims, activation: str = "elu", num_frequencies: int = 4):
        super().__init__()
        self.num_frequencies = num_frequencies
        width = hidden_dims[0]
        self.obs_in = nn.Linear(obs_dim, width)
        self.x_in = nn.Linear(action_dim, width, bias=False)
        self.tau_in = nn.Linear(1 + 2 * num_frequencies, width, bias=False)
        head = mlp(width, hidden_dims[1:], action_dim, activation)
        self.body = nn.Sequential(resolve_nn_activation(activation), head)
        zero_output_layer(head)

    def encode(self, obs: torch.Tensor) -> torch.Tensor:
        """The observation's share of the first layer (reused across the K steps)."""
        return self.obs_in(obs)

    def forward(self, obs_code: torch.Tensor, x: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
        return self.body(obs_code + self.x_in(x) + self.tau_in(time_features(tau, self.num_frequencies)))


def sample_flow(
    velocity: Velocity, obs: torch.Tensor, noise: torch.Tensor, steps: int, integrator: str = "euler"
) -> torch.Tensor:
    """Integrate dx/dτ = v(s, x, τ) from x(0) = noise to τ = 1 in `steps` equal steps (Euler or midpoint).

    A plain Python loop over the K steps (K is small and fixed); everything inside is batched on the device.
    """
    code = velocity.encode(obs)
    x, h = noise, 1.0 / steps
    tau = torch.zeros_like(noise[..., :1])
    for _ in range(steps):
        if integrator == "euler":
            x = x + h * velocity(code, x, tau)
        else:  # midpoint
            x_mid = x + 0.5 * h * velocity(code, x, tau)
            x = x + h * velocity(code, x_mid, tau + 0.5 * h)
        tau = tau + h
    return x


class CudaGraphed:
    """Calls `fn(*tensors, **constants)` by replaying a CUDA graph captured on first use of each input shape.

    A K-step sample is K × (layers) small kernels; at thousands of envs the GPU finishes each one before
    Python has launched the next, so launch overhead, not arithmetic, sets the sampler's pace. A graph
    launches them all at once. Used only where it is safe: CUDA inputs and no autograd (the rollout);
    anything else calls `fn` directly. Parameters are read at replay, so in-place updates (optimizer steps,
    `lerp_`, `load_state_dict`) are seen; `constants` (e.g. ω) are part of the cache key.
    """

    def __init__(self, fn):
        self.fn = fn
        self.graphs: dict[tuple, tuple[torch.cuda.CUDAGraph, list[torch.Tensor], torch.Tensor]] = {}

    def __call__(self, *inputs: torch.Tensor, **constants) -> torch.Tensor:
        if torch.is_grad_enabled() or not inputs[0].is_cuda:
            return self.fn(*inputs, **constants)
        key = (
            *((x.shape, x.dtype, x.device) for x in inputs),
            *sorted(constants.items()),
            torch.is_inference_mode_enabled(),
        )
        if key not in self.graphs:
            self.graphs[key] = self.capture(inputs, constants)
        graph, static_inputs, static_output = self.graphs[key]
        for static, x in zip(static_inputs, inputs, strict=True):
            static.copy_(x)
        graph.replay()
        return static_output.clone()  # the next replay overwrites static_output

    def capture(self, inputs, constants):
        static_inputs = [x.clone() for x in inputs]
        side = torch.cuda.Stream()  # warm-up (cuBLAS handles, allocator) off the default stream, as capture requires
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(3):
                self.fn(*static_inputs, **constants)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            static_output = self.fn(*static_inputs, **constants)
        return graph, static_inputs, static_output


def flow_matching_error(
    velocity: Velocity, obs: torch.Tensor, noise: torch.Tensor, target: torch.Tensor, tau: torch.Tensor
) -> torch.Tensor:
    """Per-sample conditional flow-matching error ‖v(s, x_τ, τ) − (a* − ε)‖², x_τ = (1−τ)ε + τa* (summed over
    action dimensions). noise [B, ..., A] and tau [B, ..., 1] may hold several draws per state between the
    batch and the action dimension (FPO's (τ, ε) samples); obs [B, obs_dim] and target [B, A] broadcast over
    them, and the observation's share of the first layer is computed once per state."""
    code = velocity.encode(obs)
    extra = noise.dim() - target.dim()
    if extra:
        code = code.view(code.shape[0], *([1] * extra), code.shape[-1])
        target = target.view(target.shape[0], *([1] * extra), target.shape[-1])
    x_tau = (1 - tau) * noise + tau * target
    return (velocity(code, x_tau, tau) - (target - noise)).pow(2).sum(-1)


def flow_matching_loss(
    velocity: Velocity,
    obs: torch.Tensor,
    noise: torch.Tensor,
    target: torch.Tensor,
    tau: torch.Tensor | None = None,
    weights: torch.Tensor | None = None,
) -> torch.Tensor:
    """Conditional flow matching on pairs (noise ε, target a*): the mean of `flow_matching_error`.

    τ ~ U[0, 1] unless given (DIPOLE draws one τ for both of its flows); `weights` [batch] weigh each
    sample's squared error (a constant: no gradient flows into them)."""
    tau = torch.rand_like(noise[..., :1]) if tau is None else tau
    error = flow_matching_error(velocity, obs, noise, target, tau)
    return error.mean() if weights is None else (weights.detach() * error).mean()


def energy_distance(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Energy distance 2E‖X−Y‖ − E‖X−X'‖ − E‖Y−Y'‖ between two samples (rows): 0 iff same distribution."""
    return 2 * torch.cdist(x, y).mean() - torch.cdist(x, x).mean() - torch.cdist(y, y).mean()


@torch.no_grad()
def action_spread(
    sample: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    obs: torch.Tensor,
    num_actions: int,
    states: int = 256,
    draws: int = 8,
) -> torch.Tensor:
    """Per-dimension std of a flow policy's actions at fixed states, averaged over up to `states` of `obs`
    (what rsl_rl logs as the policy's action std). `sample(obs, noise)` draws actions from normalized obs."""
    obs = obs[torch.randperm(obs.shape[0], device=obs.device)[:states]].repeat(draws, 1)
    actions = sample(obs, torch.randn(obs.shape[0], num_actions, device=obs.device))
    return actions.view(draws, -1, num_actions).std(0).mean(0)

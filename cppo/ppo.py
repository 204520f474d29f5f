"""rsl_rl's PPO, unchanged except for one thing: time-outs bootstrap from the *true final* observation.

rsl_rl adds γ·V(s_t) to the reward of a truncated step, because auto-reset has already replaced the final
observation. Our envs return it in extras["final_observations"], so the right target γ·V(s_final) is
available; with no such entry the behaviour is rsl_rl's own.
"""

from __future__ import annotations

import torch
from rsl_rl.algorithms import PPO as RslRlPPO
from tensordict import TensorDict


def time_out_bootstrap(critic: torch.nn.Module, gamma: float, extras: dict, fallback_values: torch.Tensor) -> torch.Tensor:
    """γ·V(s_final) on truncated steps, 0 elsewhere; shape [num_envs].

    Falls back to the value of the observation the action was taken in (rsl_rl's approximation) when the
    env does not provide final observations. Computed for all envs (no boolean indexing → no host sync).
    """
    time_outs = extras["time_outs"].to(fallback_values.device).float()
    final_obs: TensorDict | None = extras.get("final_observations")
    values = critic(final_obs.to(fallback_values.device)) if final_obs is not None else fallback_values
    return gamma * values.squeeze(-1) * time_outs


class PPO(RslRlPPO):
    """rsl_rl PPO with time-out bootstrapping on the true final observation."""

    def process_env_step(self, obs: TensorDict, rewards: torch.Tensor, dones: torch.Tensor, extras: dict) -> None:
        if "time_outs" in extras:
            rewards = rewards + time_out_bootstrap(self.critic, self.gamma, extras, self.transition.values)
            # Hide time-outs from the parent so it does not add its own γ·V(s_t) on top.
            extras = {key: value for key, value in extras.items() if key != "time_outs"}
        super().process_env_step(obs, rewards, dones, extras)

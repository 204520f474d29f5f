"""rsl_rl's PPO with three additions, inherited by every algorithm of cppo:

- time-outs bootstrap from the *true final* observation. rsl_rl adds γ·V(s_t) to the reward of a
  truncated step, because auto-reset has already replaced the final observation. Our envs return it in
  extras["final_observations"], so the right target γ·V(s_final) is available; with no such entry the
  behaviour is rsl_rl's own.
- a NaN/inf guard around every update: the rollout (observations, rewards) before, the losses and the
  parameters after — one host sync per iteration, where rsl_rl's per-step NaN check costs several per
  step. A non-finite value stops training before the next checkpoint is written.
- its optimizer runs on torch's fused kernel (`fused`): the same update rule, ~3× faster on a CPU.
"""

from __future__ import annotations

import difflib
import inspect
import math
from collections.abc import Callable
from itertools import chain
from typing import TYPE_CHECKING, Any, cast

import torch
import torch.nn as nn
from rsl_rl.algorithms import PPO as RslRlPPO
from rsl_rl.env import VecEnv
from rsl_rl.storage import RolloutStorage
from rsl_rl.utils import reduce_gradients_in_buckets, resolve_class, resolve_obs_groups
from tensordict import TensorDict

from cppo.errors import CppoError, UsageError

if TYPE_CHECKING:
    from cppo.flow_actor import LikelihoodFreeActor


def fused(optimizer: torch.optim.Optimizer) -> torch.optim.Optimizer:
    """`optimizer` rebuilt on torch's fused kernel where its class has one (Adam, AdamW, SGD): one kernel for all
    parameters instead of a loop of small per-parameter ops, ~3× faster on a CPU, the same update rule
    (bench/RESULTS.md). Called before the first step, so there is no state to carry over."""
    if "fused" not in optimizer.defaults or optimizer.state:
        return optimizer
    accepted = inspect.signature(type(optimizer)).parameters  # `defaults` may hold more (AdamW's)
    defaults = {key: value for key, value in optimizer.defaults.items() if key in accepted}
    defaults.update(fused=True, foreach=None)
    return type(optimizer)([{"params": group["params"]} for group in optimizer.param_groups], **defaults)


def adam(parameters, lr: float) -> torch.optim.Adam:
    """Adam on torch's fused kernel (see `fused`)."""
    return torch.optim.Adam(parameters, lr=lr, fused=True)


class NonFiniteError(CppoError):
    """NaN or inf in the rollout, a loss or a parameter (the runner adds the iteration)."""


def non_finite(tensors: dict[str, torch.Tensor]) -> list[str]:
    """Names of the tensors holding NaN or inf, at the cost of one host sync."""
    names = list(tensors)
    finite = torch.stack([tensors[name].isfinite().all() for name in names]).cpu()
    return [name for name, ok in zip(names, finite.tolist(), strict=True) if not ok]


def time_out_bootstrap(
    critic: Callable[[TensorDict], torch.Tensor], gamma: float, extras: dict, fallback_values: torch.Tensor
) -> torch.Tensor:
    """γ·V(s_final) on truncated steps, 0 elsewhere; shape [num_envs].

    Falls back to the value of the observation the action was taken in (rsl_rl's approximation) when the
    env does not provide final observations. On a GPU computed for all envs every step (no boolean indexing,
    no host sync); on a CPU, where reading a flag back costs nothing, the critic pass is skipped on the steps
    where no env timed out (most of them: one in `max_episode_length` per env).
    """
    time_outs = extras["time_outs"].to(fallback_values.device).float()
    final_obs: TensorDict | None = extras.get("final_observations")
    if final_obs is None:
        values = fallback_values
    elif time_outs.device.type == "cpu" and not bool(time_outs.any()):
        return torch.zeros_like(time_outs)
    else:
        values = critic(final_obs.to(fallback_values.device))
    return gamma * values.squeeze(-1) * time_outs


class PPO(RslRlPPO):
    """rsl_rl PPO with time-out bootstrapping on the true final observation, a NaN/inf guard and a ceiling on
    the adaptive learning rate."""

    num_updates: int = 0
    """Updates that passed the guard (the runner names the failing iteration from it)."""

    run_left: float | None = None
    """The share of the run still ahead, 1 at the first iteration → 1/T at the last; set by cppo's runner (rsl_rl's
    own runner never tells the algorithm the run's length: there `ceiling_decay="linear"` stops at the first update
    with one line)."""

    diagnostics: dict[str, float]
    """What the last update measured beside its losses, by TensorBoard tag (`Policy/...`, `Loss/...`); the
    runner writes them next to rsl_rl's own tags each iteration."""

    def __init__(
        self,
        *args,
        max_learning_rate: float = 1e-2,
        rate_change_per_iteration: float = 0.0,
        ceiling_decay: str = "none",
        entropy_decay: str = "none",
        **kwargs,
    ):
        self.max_learning_rate, self.rate_change_per_iteration = max_learning_rate, rate_change_per_iteration
        self.ceiling_decay, self.entropy_decay = ceiling_decay, entropy_decay
        self._rate_at_iteration_start: float | None = None
        self.diagnostics = {}
        super().__init__(*args, **kwargs)
        self.optimizer = fused(self.optimizer)

    # rsl_rl's adaptive rule multiplies or divides the rate by 1.5 after *every mini-batch* (up to 1.5^20 ≈ 3300×
    # per iteration at 5 epochs × 4 mini-batches), between 1e-5 and 1e-2: the rate jumps between its bounds, and
    # a jump to 1e-2 once the policy has converged can break it (bench/RESULTS.md). Every write of the rate
    # (rsl_rl's rule, CPPO's, a resume) goes through this setter, which keeps it under the ceiling —
    # `max_learning_rate`, times `run_left` with `ceiling_decay="linear"` (CleanRL's learning-rate annealing,
    # applied to the rule's ceiling: full steps early, none late) — and, with `rate_change_per_iteration` = c > 0,
    # within [r/c, r·c] of the rate r the iteration started with.
    @property
    def learning_rate(self) -> float:
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        value = min(float(value), self.rate_ceiling)
        start, change = self._rate_at_iteration_start, self.rate_change_per_iteration
        if start is not None and change > 0:
            value = min(max(value, start / change), start * change)
        self._learning_rate = value

    def _share_left(self, decay: str) -> float:
        """The factor a `"linear"` schedule applies now (the share of the run ahead); 1 with `"none"`."""
        return self.run_left if decay == "linear" and self.run_left is not None else 1.0

    @property
    def rate_ceiling(self) -> float:
        return self.max_learning_rate * self._share_left(self.ceiling_decay)

    # The entropy bonus that holds σ up while the policy explores also holds it up at the end, where the deployed
    # (noise-free) policy is scored: with `entropy_decay="linear"` the coefficient rsl_rl's loss reads falls with
    # the run as the rate's ceiling does (bench/RESULTS.md, issue 31).
    @property
    def entropy_coef(self) -> float:
        return self._entropy_coef * self._share_left(self.entropy_decay)

    @entropy_coef.setter
    def entropy_coef(self, value: float) -> None:
        self._entropy_coef = float(value)

    def adapt_learning_rate(self, kl: torch.Tensor) -> None:
        """rsl_rl's adaptive rule (÷1.5 above 2·desired_kl, ×1.5 below desired_kl/2, never under 1e-5), written out
        for the algorithms whose KL rsl_rl's update cannot compute (CPPO's conditional KL); the ceiling applies
        through the `learning_rate` setter. rsl_rl's own PPO applies the same rule inside its update."""
        if self.desired_kl is None or self.schedule != "adaptive":
            return
        if self.is_multi_gpu:
            torch.distributed.all_reduce(kl, op=torch.distributed.ReduceOp.SUM)
            kl = kl / self.gpu_world_size
        kl_value = kl.item()
        if kl_value > self.desired_kl * 2.0:
            self.learning_rate = max(1e-5, self.learning_rate / 1.5)
        elif 0.0 < kl_value < self.desired_kl / 2.0:
            self.learning_rate = self.learning_rate * 1.5
        for group in self.optimizer.param_groups:
            group["lr"] = self.learning_rate

    def update(self) -> dict[str, float]:
        annealed = [name for name in ("ceiling_decay", "entropy_decay") if getattr(self, name) == "linear"]
        if annealed and self.run_left is None:
            raise UsageError(
                f"{annealed[0]}=\"linear\" anneals over the run's length, which rsl_rl's OnPolicyRunner does not tell "
                'the algorithm: train with cppo.runner:Runner (an OnPolicyRunner, same arguments) or set "none"'
            )
        observations = {f"observations '{k}'": cast(torch.Tensor, v) for k, v in self.storage.observations.items()}
        bad = non_finite(observations | {"rewards": self.storage.rewards})
        if bad:
            raise NonFiniteError(f"the env returned non-finite {' and '.join(bad)}")
        self._rate_at_iteration_start = self.learning_rate
        # Actions the env clips (Playground and MultiGoal clip to ±1): mass there gets no gradient from the env.
        at_limit = (self.storage.actions.abs() >= 1.0).float().mean()
        self.diagnostics = {"Policy/actions_at_limit": at_limit.item()}
        try:
            losses = self.optimize()
        finally:
            self._rate_at_iteration_start = None
        bad = [f"loss '{name}'" for name, value in losses.items() if not math.isfinite(value)]
        bad += non_finite({f"parameter '{name}'": p for name, p in self.named_trainable_parameters()})
        if bad:
            raise NonFiniteError(f"the update produced non-finite {', '.join(bad[:3])}{' ...' if len(bad) > 3 else ''}")
        self.num_updates += 1
        return losses

    def optimize(self) -> dict[str, float]:
        """One update on the stored rollout: rsl_rl's PPO update (CPPO overrides it)."""
        return super().update()

    # --- what the flow algorithms' own updates share ---------------------------------------------------

    def record(
        self, obs: TensorDict, actions: torch.Tensor, log_prob: torch.Tensor | None = None, params: Any = ()
    ) -> torch.Tensor:
        """What rsl_rl's storage keeps of this rollout step: the action, its log-density (zeros for the flow
        methods without one), the algorithm's conditioning (`params`), the critic's value. Returns the action."""
        self.transition.actions = actions
        self.transition.actions_log_prob = (
            torch.zeros(len(actions), device=actions.device) if log_prob is None else log_prob
        )
        self.transition.distribution_params = params
        self.transition.values = self.critic(obs)
        self.transition.observations = obs
        return actions

    def likelihood_free_update(
        self, step: Callable[[RolloutStorage.Batch], dict[str, torch.Tensor]], spread_samples: int
    ) -> dict[str, float]:
        """The update of the flow methods without a likelihood (FPO++, DIPOLE): `step` on every mini-batch; then
        the actor's action spread and both normalizers are refreshed — after the update, because the stored
        rollout quantities were computed under the old normalization — and the rollout is cleared."""
        losses = self.mean_over_mini_batches(step)
        observations = self.storage.observations.flatten(0, 1)
        cast("LikelihoodFreeActor", self.actor).after_update(observations, spread_samples)
        self.critic.update_normalization(observations)
        self.storage.clear()
        return losses

    def mean_over_mini_batches(
        self, step: Callable[[RolloutStorage.Batch], dict[str, torch.Tensor]]
    ) -> dict[str, float]:
        """Run `step` on every mini-batch of every epoch of the stored rollout; the mean of each loss it returns,
        read back with one host sync per loss."""
        totals: dict[str, torch.Tensor] = {}
        for batch in self.storage.mini_batch_generator(self.num_mini_batches, self.num_learning_epochs):
            for key, value in step(batch).items():
                totals[key] = totals.get(key, 0.0) + value
        num_updates = self.num_learning_epochs * self.num_mini_batches
        return {key: value.item() / num_updates for key, value in totals.items()}

    def gradient_step(self, optimizer: torch.optim.Optimizer, loss: torch.Tensor, *modules: nn.Module) -> None:
        """rsl_rl's step: gradients averaged across ranks (torchrun), each module's norm clipped on its own."""
        optimizer.zero_grad()
        loss.backward()
        if self.is_multi_gpu:
            parameters = chain.from_iterable(module.parameters() for module in modules)
            reduce_gradients_in_buckets(parameters, self.gpu_world_size, self.grad_reduce_bucket_mb)
        for module in modules:
            nn.utils.clip_grad_norm_(module.parameters(), self.max_grad_norm)
        optimizer.step()

    def value_loss(self, batch: RolloutStorage.Batch) -> torch.Tensor:
        """rsl_rl's critic loss (clipped around the rollout's values if use_clipped_value_loss), for the flow
        algorithms that write their own update (rsl_rl states it inline in PPO.update)."""
        values = self.critic(batch.observations)
        if not self.use_clipped_value_loss:
            return (values - batch.returns).pow(2).mean()
        clipped = batch.values + (values - batch.values).clamp(-self.clip_param, self.clip_param)
        return torch.max((values - batch.returns).pow(2), (clipped - batch.returns).pow(2)).mean()

    def named_trainable_parameters(self):
        for prefix, module in (("actor", self.actor), ("critic", self.critic)):
            for name, parameter in module.named_parameters():
                yield f"{prefix}.{name}", parameter

    def process_env_step(self, obs: TensorDict, rewards: torch.Tensor, dones: torch.Tensor, extras: dict) -> None:
        if "time_outs" in extras:
            assert self.transition.values is not None  # act() stored them
            rewards = rewards + time_out_bootstrap(self.critic, self.gamma, extras, self.transition.values)
            # Hide time-outs from the parent so it does not add its own γ·V(s_t) on top.
            extras = {key: value for key, value in extras.items() if key != "time_outs"}
        super().process_env_step(obs, rewards, dones, extras)


def settings_of(cls: type) -> set[str]:
    """The settings (keyword arguments with a default) `cls(...)` takes, through the `**kwargs` its `__init__`
    passes on to its bases' (CPPO → PPO → rsl_rl's PPO): the keys an rsl_rl runner config may give it."""
    names: set[str] = set()
    for klass in cls.__mro__:
        if "__init__" not in klass.__dict__:
            continue
        params = inspect.signature(klass.__dict__["__init__"]).parameters.values()
        names |= {p.name for p in params if p.default is not inspect.Parameter.empty and p.kind is not p.VAR_KEYWORD}
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    return names - {"device", "multi_gpu_cfg"}  # set by the runner, not by the config


def check_settings(section: str, cls: type, given: dict, other: tuple[str, type]) -> None:
    """One line for a key `cls` does not take, naming the close matches in this section and in `other` (a flow
    setting under "algorithm" that belongs under "actor", say)."""
    known, (other_section, other_cls) = settings_of(cls), other
    for key in given:
        if key in known:
            continue
        here = [f"{section}.{k}" for k in difflib.get_close_matches(key, known, n=1, cutoff=0.6)]
        there = [f"{other_section}.{k}" for k in difflib.get_close_matches(key, settings_of(other_cls), 1, 0.6)]
        hint = f" (did you mean {' or '.join(here + there)}?)" if here + there else ""
        raise UsageError(f"{section}.{key} is not a setting of {cls.__name__}{hint}; every setting: docs/rsl_rl.md")


MOVED = {
    "cppo.flow_policy:FlowPolicy": "cppo.cppo:FlowPolicy",
    "cppo.fpo_policy:FPOPolicy": "cppo.fpo:FPOPolicy",
    "cppo.dipole_policy:DipolePolicy": "cppo.dipole:DipolePolicy",
}
"""Actor class names of earlier versions (before each algorithm became one package): configs written with them
still resolve."""


def resolve_named(cfg: dict, section: str) -> tuple[type, dict]:
    """rsl_rl's `resolve_class`, with one line naming the section when its class_name does not resolve."""
    name = cfg[section].get("class_name")
    if isinstance(name, str) and name in MOVED:
        cfg[section] = {**cfg[section], "class_name": MOVED[name]}
    try:
        named, settings = resolve_class(cfg[section])
    except (ImportError, AttributeError, ValueError) as error:
        raise UsageError(f"{section}.class_name {cfg[section].get('class_name')!r} does not resolve: {error}") from None
    return cast(type, named), settings


ISAACLAB_LEGACY_MODEL_KEYS = ("stochastic", "init_noise_std", "noise_std_type")
"""Keys of Isaac Lab's RslRlMLPModelCfg that its train script deletes (`handle_deprecated_rsl_rl_cfg`) and a plain
`agent_cfg.to_dict()` keeps."""


def construct_flow_algorithm(obs: TensorDict, env: VecEnv, cfg: dict, device: str) -> PPO:
    """rsl_rl's `construct_algorithm` for the flow algorithms (CPPO, FPO++, DIPOLE): their actors take no output
    name and no distribution config; rsl_rl's storage, critic and runner plumbing are unchanged. Unknown keys in
    the algorithm's or the actor's section stop here with one line (rsl_rl would raise a bare TypeError)."""
    alg_class, alg_cfg = resolve_named(cfg, "algorithm")  # (rsl_rl's runner resolved it once already)
    actor_class, actor_cfg = resolve_named(cfg, "actor")
    if actor_cfg.pop("distribution_cfg", None) is not None:  # Isaac Lab's configs carry None for "no head"
        raise UsageError(f"{actor_class.__name__} samples a flow: it takes no actor.distribution_cfg")
    critic_class, critic_cfg = resolve_named(cfg, "critic")
    cfg["obs_groups"] = resolve_obs_groups(obs, cfg["obs_groups"], ["actor", "critic"])
    for unused in ("rnd_cfg", "symmetry_cfg", "share_cnn_encoders"):  # rsl_rl's PPO extras (Isaac Lab sends them)
        if alg_cfg.pop(unused, None):
            raise UsageError(f"{alg_class.__name__} does not support algorithm.{unused}")
    for legacy in ISAACLAB_LEGACY_MODEL_KEYS:  # Isaac Lab's pre-5.0 Gaussian keys, off for a flow policy
        if actor_cfg.pop(legacy, None) is True:
            raise UsageError(f"{actor_class.__name__} samples a flow: actor.{legacy} must be False or absent")
    check_settings("algorithm", alg_class, alg_cfg, ("actor", actor_class))
    check_settings("actor", actor_class, actor_cfg, ("algorithm", alg_class))
    actor = actor_class(obs, cfg["obs_groups"], env.num_actions, **actor_cfg).to(device)
    critic = critic_class(obs, cfg["obs_groups"], "critic", 1, **critic_cfg).to(device)
    storage = RolloutStorage("rl", env.num_envs, cfg["num_steps_per_env"], obs, [env.num_actions], device)
    return alg_class(actor, critic, storage, device=device, multi_gpu_cfg=cfg["multi_gpu"], **alg_cfg)

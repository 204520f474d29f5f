"""Transition datasets for offline training: written by `play.py --record FILE`, read by
`train.py --dataset FILE` (DIPOLE offline-to-online) and `train.py --pretrain FILE` (behaviour cloning).

A dataset is one torch file holding flat [N, ...] tensors: every observation group of the env, the
actions, rewards, `dones`, `time_outs` and the next observations (the true final observation where an
episode ended), plus a record of where it came from. Writing is atomic: a killed recording leaves no file.
"""

from __future__ import annotations

import pickle
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tensordict import TensorDict

from cppo.checkpoint import atomic_torch_save
from cppo.errors import UsageError

FORMAT = "cppo-transitions-v1"


@dataclass
class Transitions:
    observations: dict[str, torch.Tensor]
    actions: torch.Tensor
    rewards: torch.Tensor
    dones: torch.Tensor
    time_outs: torch.Tensor
    next_observations: dict[str, torch.Tensor]
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return self.actions.shape[0]

    @property
    def terminals(self) -> torch.Tensor:
        """Episode ends that are not time-outs: the only steps whose next value is zero."""
        return self.dones * (1 - self.time_outs)

    def obs(self, index: torch.Tensor, next: bool = False) -> TensorDict:
        groups = self.next_observations if next else self.observations
        return TensorDict(
            {k: v[index] for k, v in groups.items()}, batch_size=[index.shape[0]], device=self.actions.device
        )

    def to(self, device: str | torch.device) -> Transitions:
        move = lambda groups: {k: v.to(device) for k, v in groups.items()}  # noqa: E731
        return Transitions(
            move(self.observations),
            self.actions.to(device),
            self.rewards.to(device),
            self.dones.to(device),
            self.time_outs.to(device),
            move(self.next_observations),
            self.meta,
        )

    def save(self, path: str | Path) -> None:
        data = {k: v for k, v in vars(self).items() if k != "meta"}
        atomic_torch_save({"format": FORMAT, "meta": self.meta, **data}, str(path))


class TransitionRecorder:
    """Collects the steps of a rollout (batched over envs) and flattens them into Transitions."""

    def __init__(self):
        self.steps: list[dict] = []

    def add(self, obs: TensorDict, actions, rewards, dones, extras: dict, next_obs: TensorDict) -> None:
        final = extras.get("final_observations", next_obs)  # differs from next_obs only where an episode ended
        time_outs = extras.get("time_outs", torch.zeros_like(dones))
        self.steps.append({
            "observations": {k: v.clone() for k, v in obs.items()},
            "actions": actions.clone(), "rewards": rewards.clone(), "dones": dones.float().clone(),
            "time_outs": time_outs.float().clone(), "next_observations": {k: final[k].clone() for k in obs.keys()},
        })  # fmt: skip

    def transitions(self, meta: dict) -> Transitions:
        if not self.steps:
            raise UsageError("no steps were recorded")

        def cat(key: str) -> torch.Tensor:
            return torch.cat([s[key] for s in self.steps]).cpu()

        def cat_groups(key: str) -> dict[str, torch.Tensor]:
            return {g: torch.cat([s[key][g] for s in self.steps]).cpu() for g in self.steps[0][key]}

        return Transitions(
            cat_groups("observations"),
            cat("actions"),
            cat("rewards"),
            cat("dones"),
            cat("time_outs"),
            cat_groups("next_observations"),
            meta=meta,
        )


def read_transitions(path: str | Path) -> Transitions:
    """Read a dataset recorded by play.py --record (on the CPU); one clear line for any other file."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(
            f"dataset '{path}' not found (record one with: python play.py --task ... --record {path.name})"
        )
    not_ours = f"'{path}' is not a dataset recorded by play.py --record"
    try:
        with warnings.catch_warnings():  # torch warns about foreign pickle protocols before refusing them
            warnings.simplefilter("ignore")
            data = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:  # torch's own message advises unsafe loading: never pass that on
        raise UsageError(
            f"{not_ours}: it holds pickled Python objects, which cppo never loads (they could run code)"
        ) from None
    except Exception as err:
        raise UsageError(f"{not_ours}: it cannot be read as a torch file ({type(err).__name__})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise UsageError(f"{not_ours}: it holds no transitions")
    data.pop("format")
    return Transitions(**data)


def fit_to_env(
    dataset: Transitions, path: str | Path, device, obs_groups: dict[str, int], num_actions: int
) -> Transitions:
    """The dataset on `device`, once checked against the env: the same observation groups and widths, actions."""
    widths = {k: v.shape[-1] for k, v in dataset.observations.items()}
    if widths != obs_groups or dataset.actions.shape[-1] != num_actions:
        raise UsageError(
            f"dataset '{path}' (recorded on {dataset.meta.get('task', '?')}: observations {widths}, "
            f"{dataset.actions.shape[-1]} actions) does not fit this env (observations {obs_groups}, {num_actions} "
            "actions)"
        )
    return dataset.to(device)

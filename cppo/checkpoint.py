"""Checkpoints that are safe to write, safe to read, and say what they hold.

- write: a temporary file in the same directory, fsync, then rename — a crash mid-write never leaves a
  truncated model_<it>.pt behind.
- read: `torch.load(weights_only=True)`, so a checkpoint cannot run code; every failure is one clear line.
- describe: each checkpoint carries a "meta" dict (task, algorithm, observation/action sizes, the full
  configs, package versions), so play.py can rebuild the exact policy and refuse a checkpoint that does
  not fit the task it is asked to run.
"""

from __future__ import annotations

import io
import pickle
import warnings
import zipfile
from importlib import metadata
from pathlib import Path

import torch

from cppo.errors import CppoError, UsageError
from cppo.files import atomic_write_bytes


def atomic_torch_save(obj: dict, path: str) -> None:
    # Serialize in memory first: torch.save's zip writer turns a failed write (full disk) into an opaque
    # RuntimeError, a plain file write raises the OSError that says what happened.
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    atomic_write_bytes(buffer.getbuffer(), path)


def load_checkpoint(path: str, map_location: str | torch.device | None = None) -> dict:
    """Load a checkpoint without unpickling code; one clear error for anything else."""
    if Path(path).is_file() and not starts_like_a_zip(path):
        raise UsageError(f"{path} is not a checkpoint: torch.save writes a zip archive, and this file is not one")
    try:
        with warnings.catch_warnings():  # torch warns about foreign pickle protocols before refusing them
            warnings.simplefilter("ignore")
            checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise CppoError(f"checkpoint {path} does not exist") from None
    except IsADirectoryError:
        raise CppoError(f"checkpoint {path} is a directory; pass a model_<iteration>.pt file") from None
    except pickle.UnpicklingError as err:
        if "Unsupported global" in str(err):
            raise CppoError(f"refused to load {path}: it contains pickled code, which could run on load") from None
        raise CppoError(f"checkpoint {path} is corrupt ({first_line(err)})") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError) as err:
        raise CppoError(f"checkpoint {path} is corrupt or truncated ({first_line(err)})") from None
    if not isinstance(checkpoint, dict) or "actor_state_dict" not in checkpoint:
        raise CppoError(f"{path} is not a cppo/rsl_rl checkpoint (no actor_state_dict)")
    return checkpoint


def starts_like_a_zip(path: str) -> bool:
    """torch.save writes a zip archive; a truncated one still starts with the zip magic (and is "corrupt")."""
    with open(path, "rb") as file:
        return file.read(4) == b"PK\x03\x04"


def first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def package_versions() -> dict[str, str]:
    versions = {}
    for package in ("cppo", "torch", "rsl-rl-lib", "jax", "playground", "mujoco"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return versions


def run_meta(task: str, algo: str, env, env_cfg: dict, agent_cfg: dict) -> dict:
    """What a checkpoint records about the run that wrote it (plain Python values only)."""
    obs = env.get_observations()
    return {
        "task": task,
        "algo": algo,
        "obs_dims": {group: int(obs[group].shape[-1]) for group in obs.keys()},
        "num_actions": int(env.num_actions),
        "env_cfg": env_cfg,
        "agent_cfg": agent_cfg,
        "versions": package_versions(),
    }


def check_algorithm(saved: dict | None, algo: str, path: str) -> None:
    if saved and saved["algo"] != algo:
        raise CppoError(
            f"checkpoint {path} was trained with --algo {saved['algo']}, not {algo}; pass --algo {saved['algo']}"
        )


def check_compatible(saved: dict | None, current: dict, path: str, same_task: bool = True) -> None:
    """Refuse a checkpoint of another algorithm, observation/action size or (if `same_task`) task."""
    if not saved:
        return  # a plain rsl_rl checkpoint: the state-dict shapes are checked on load instead
    check_algorithm(saved, current["algo"], path)
    where = f"checkpoint {path} was trained"
    for group, size in current["obs_dims"].items():
        if group in saved["obs_dims"] and saved["obs_dims"][group] != size:
            raise CppoError(
                f"{where} on {saved['task']} with '{group}' observations of size {saved['obs_dims'][group]}, "
                f"but {current['task']} has size {size}"
            )
    if saved["num_actions"] != current["num_actions"]:
        raise CppoError(
            f"{where} on {saved['task']} with {saved['num_actions']} actions, but {current['task']} has "
            f"{current['num_actions']}"
        )
    if same_task and saved["task"] != current["task"]:
        raise CppoError(f"{where} on task {saved['task']}, not {current['task']}; pass --task {saved['task']}")

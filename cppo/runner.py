"""rsl_rl's OnPolicyRunner with checkpoints that are safe to write and safe to read.

- save: write to a temporary file in the same directory, fsync, then rename — a crash mid-write never
  leaves a truncated model_<it>.pt behind.
- load: `torch.load(weights_only=True)`, so a checkpoint cannot run code; the iteration counter resumes
  *after* the saved iteration (rsl_rl would repeat it).
"""

from __future__ import annotations

import os
import pickle
import zipfile

import torch
from rsl_rl.runners import OnPolicyRunner

from cppo.errors import CppoError


def atomic_torch_save(obj: dict, path: str) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def load_checkpoint(path: str, map_location: str | torch.device | None = None) -> dict:
    """Load a checkpoint without unpickling code; one clear error for anything else."""
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise CppoError(f"checkpoint {path} does not exist") from None
    except pickle.UnpicklingError as err:
        if "weights_only" in str(err):
            raise CppoError(f"refused to load {path}: it contains pickled code, which could run on load") from None
        raise CppoError(f"checkpoint {path} is corrupt ({str(err).splitlines()[0]})") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError) as err:
        raise CppoError(f"checkpoint {path} is corrupt or truncated ({str(err).splitlines()[0]})") from None
    if not isinstance(checkpoint, dict) or "actor_state_dict" not in checkpoint:
        raise CppoError(f"{path} is not a cppo/rsl_rl checkpoint (no actor_state_dict)")
    return checkpoint


class Runner(OnPolicyRunner):
    def save(self, path: str, infos: dict | None = None) -> None:
        saved = self.alg.save()
        saved["iter"] = self.current_learning_iteration
        saved["infos"] = infos
        atomic_torch_save(saved, path)
        self.logger.save_model(path, self.current_learning_iteration)

    def load(self, path: str, load_cfg: dict | None = None, strict: bool = True, map_location: str | None = None) -> dict | None:
        checkpoint = load_checkpoint(path, map_location or self.device)
        try:
            resumed = self.alg.load(checkpoint, load_cfg, strict)
        except (RuntimeError, KeyError) as err:
            raise CppoError(f"checkpoint {path} does not fit this task/algorithm: {str(err).splitlines()[0]}") from None
        if resumed:
            self.current_learning_iteration = int(checkpoint["iter"]) + 1
        return checkpoint.get("infos")

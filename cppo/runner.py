"""rsl_rl's OnPolicyRunner with the checkpoints of cppo/checkpoint.py: atomic writes, safe reads, a "meta"
record of the run in every file, and a resume that continues *after* the saved iteration (rsl_rl would
repeat it)."""

from __future__ import annotations

from rsl_rl.runners import OnPolicyRunner

from cppo.checkpoint import atomic_torch_save, check_compatible, first_line, load_checkpoint
from cppo.errors import CppoError


class Runner(OnPolicyRunner):
    def __init__(self, env, train_cfg: dict, log_dir: str | None = None, device: str = "cpu", meta: dict | None = None):
        super().__init__(env, train_cfg, log_dir=log_dir, device=device)
        self.meta = meta

    def save(self, path: str, infos: dict | None = None) -> None:
        saved = self.alg.save()
        saved["iter"] = self.current_learning_iteration
        saved["infos"] = infos
        saved["meta"] = self.meta
        atomic_torch_save(saved, path)
        self.logger.save_model(path, self.current_learning_iteration)

    def load(
        self,
        path: str,
        load_cfg: dict | None = None,
        strict: bool = True,
        map_location: str | None = None,
        same_task: bool = True,
    ) -> dict | None:
        checkpoint = load_checkpoint(path, map_location or self.device)
        if self.meta is not None:
            check_compatible(checkpoint.get("meta"), self.meta, path, same_task)
        try:
            resumed = self.alg.load(checkpoint, load_cfg, strict)
        except (RuntimeError, KeyError) as err:
            raise CppoError(f"checkpoint {path} does not fit this task/algorithm: {first_line(err)}") from None
        if resumed:
            self.current_learning_iteration = int(checkpoint["iter"]) + 1
        return checkpoint.get("infos")

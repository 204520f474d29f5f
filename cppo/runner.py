"""rsl_rl's OnPolicyRunner, made so that a run is never lost:

- checkpoints are written atomically (cppo/checkpoint.py), the last `keep_checkpoints` are kept plus
  model_best.pt (highest mean episode return at a save), and each records the run ("meta"), the
  learning rate and every RNG stream (torch, CUDA, numpy, Python, the env's own key);
- a resume continues *after* the saved iteration (rsl_rl would repeat it) with the same learning rate
  and RNG streams;
- the NaN/inf guard of cppo/ppo.py stops the run with one line naming the iteration, before a bad
  checkpoint can be written;
- multi-process training (torchrun) runs on NCCL with GPUs and on gloo with CPUs.
"""

from __future__ import annotations

import os
import random
import signal
import statistics
import sys
import threading
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch
from rsl_rl.runners import OnPolicyRunner

from cppo import rsl_rl_api
from cppo.checkpoint import atomic_torch_save, check_compatible, first_line, load_checkpoint
from cppo.errors import CppoError
from cppo.ppo import PPO, NonFiniteError
from cppo.runs import checkpoints

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGUSR1)
"""Each lets the iteration in progress finish and saves it. SIGUSR1 is what SLURM sends before a job's time limit
with `#SBATCH --signal=USR1@90`."""
WHY: dict[int, str] = {signal.SIGUSR1.value: " (a cluster's time-limit warning)"}


class Interrupted(Exception):
    """Training stopped on SIGINT/SIGTERM after saving the iteration it had finished."""

    def __init__(self, signum: int, iteration: int, checkpoint: str | None):
        super().__init__(f"{signal.Signals(signum).name} after iteration {iteration}")
        self.signum, self.iteration, self.checkpoint = signum, iteration, checkpoint
        self.exit_code = 128 + signum  # 130 for Ctrl-C, 143 for SIGTERM, as shells report them


class Runner(OnPolicyRunner):
    alg: PPO  # cppo's algorithms all derive from cppo.ppo.PPO

    def __init__(self, env, train_cfg: dict, log_dir: str | None = None, device: str = "cpu", meta: dict | None = None):
        rsl_rl_api.check_version()
        train_cfg.setdefault("check_for_nan", False)  # replaced by the per-iteration guard (no per-step host sync)
        super().__init__(env, train_cfg, log_dir=log_dir, device=device)
        self.meta = meta
        self.keep_checkpoints = int(train_cfg.get("keep_checkpoints", 0))
        self.best_return = -float("inf")
        self.last_saved: str | None = None
        if log_dir is not None:
            for stale in Path(log_dir).glob("*.pt.tmp*"):  # left by a process killed mid-write
                stale.unlink()

    # --- the loop ------------------------------------------------------------------------------------

    def learn(self, num_learning_iterations: int, init_at_random_ep_len: bool = False) -> None:
        """rsl_rl's loop. SIGINT (Ctrl-C), SIGTERM (a preemption notice) or SIGUSR1 (SLURM's time-limit warning)
        lets the current iteration finish, saves it as model_<it>.pt and raises `Interrupted`; a second signal stops
        at once, unsaved."""
        start, updates = self.current_learning_iteration, self.alg.num_updates
        received: list[int] = []

        def on_signal(signum: int, _frame) -> None:
            if received:  # the second one: leave now, write nothing
                if signum == signal.SIGINT:
                    raise KeyboardInterrupt
                print(
                    "[cppo] SIGTERM again: quitting without saving; checkpoints written so far are intact",
                    file=sys.stderr,
                )
                raise SystemExit(128 + signum)
            received.append(signum)
            print(
                f"\n[cppo] {signal.Signals(signum).name}{WHY.get(signum, '')}: "
                "stopping after this iteration to save it "
                "(send it again to quit at once without saving)",
                file=sys.stderr,
                flush=True,
            )

        horizon, alg = start + num_learning_iterations, self.alg
        alg.run_left = 1 - start / horizon

        def after_iteration(iteration: int) -> None:
            alg.run_left = 1 - (iteration + 1) / horizon  # the next iteration's
            if self.logger.writer is not None:
                for tag, value in alg.diagnostics.items():
                    self.logger.writer.add_scalar(tag, value, iteration)
            if received:
                raise Interrupted(received[0], iteration, self.save_interrupted(iteration))

        handled = STOP_SIGNALS if threading.current_thread() is threading.main_thread() else ()
        previous = {signum: signal.signal(signum, on_signal) for signum in handled}
        try:
            with (
                rsl_rl_api.after_each_iteration(self.logger, after_iteration),
                rsl_rl_api.tensorboard_continues_at(self.logger, start),
            ):
                super().learn(num_learning_iterations, init_at_random_ep_len)
        except NonFiniteError as err:
            failed = start + self.alg.num_updates - updates
            kept = (
                f"the last checkpoint, {Path(self.last_saved).name}, is intact"
                if self.last_saved
                else "no checkpoint was written"
            )
            raise CppoError(f"iteration {failed}: {err}; training stopped, {kept}") from None
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def save_interrupted(self, iteration: int) -> str | None:
        """Save the iteration that just finished (rank 0) and close the log; returns the checkpoint's path."""
        if self.logger.writer is None:
            return None
        assert self.logger.log_dir is not None  # a writer logs to it
        path = os.path.join(self.logger.log_dir, f"model_{iteration}.pt")
        self.save(path)
        self.close_logs()
        return path

    def close_logs(self) -> None:
        """Write out and close the run's logs: TensorBoard keeps up to 10 s of scalars in memory, W&B its queue."""
        self.logger.stop_logging_writer()
        close = getattr(self.logger.writer, "close", None)  # rsl_rl's LogWriter declares none; SummaryWriter has one
        if close is not None:
            close()

    # --- checkpoints ---------------------------------------------------------------------------------

    def save(self, path: str, infos: dict | None = None) -> None:
        saved = self.alg.save()
        saved.update(
            iter=self.current_learning_iteration,
            infos=infos,
            meta=self.meta,
            learning_rate=float(self.alg.learning_rate),
            rng_state=rng_state(self.env),
        )
        returns = rsl_rl_api.episode_returns(self.logger)
        mean_return = statistics.mean(returns) if returns else None
        if mean_return is not None and mean_return > self.best_return:
            self.best_return = mean_return
        saved["best_return"] = self.best_return
        try:
            atomic_torch_save(saved, path)
            if mean_return is not None and mean_return == self.best_return:
                atomic_torch_save(saved, str(Path(path).with_name("model_best.pt")))
        except OSError as err:
            raise CppoError(
                f"cannot write checkpoint {path}: {err.strerror or err}; earlier checkpoints are intact"
            ) from None
        self.last_saved = path
        self.prune(Path(path).parent)
        self.logger.save_model(path, self.current_learning_iteration)

    def prune(self, run_dir: Path) -> None:
        """Keep the newest `keep_checkpoints` model_<it>.pt (0: keep all); model_best.pt is never pruned."""
        if self.keep_checkpoints > 0:
            for old in checkpoints(run_dir)[: -self.keep_checkpoints]:
                old.unlink()

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
            self.best_return = checkpoint.get("best_return", self.best_return)
            if "learning_rate" in checkpoint:
                self.alg.learning_rate = checkpoint["learning_rate"]
                for group in self.alg.optimizer.param_groups:
                    group["lr"] = self.alg.learning_rate
            if "rng_state" in checkpoint:
                set_rng_state(self.env, checkpoint["rng_state"])
        return checkpoint.get("infos")

    # --- multi-process ---------------------------------------------------------------------------------

    def _configure_multi_gpu(self) -> None:
        """rsl_rl's torchrun set-up, with gloo when the device is a CPU (so it also runs without GPUs), and the process
        group train.py may have started already (it shares rank 0's choice of checkpoint through it)."""
        started = torch.distributed.is_available() and torch.distributed.is_initialized()
        on_gpu = str(self.device).startswith("cuda")
        if int(os.getenv("WORLD_SIZE", "1")) == 1 or (on_gpu and not started):
            return super()._configure_multi_gpu()
        self.gpu_world_size = int(os.environ["WORLD_SIZE"])
        self.gpu_local_rank = int(os.getenv("LOCAL_RANK", "0"))
        self.gpu_global_rank = int(os.getenv("RANK", "0"))
        self.is_distributed = True
        self.cfg["multi_gpu"] = {
            "global_rank": self.gpu_global_rank,
            "local_rank": self.gpu_local_rank,
            "world_size": self.gpu_world_size,
        }
        if not started:
            torch.distributed.init_process_group(
                backend="gloo", rank=self.gpu_global_rank, world_size=self.gpu_world_size
            )

    def parameters_in_sync(self) -> bool:
        """True when every rank holds the same actor and critic parameters (elementwise max = min)."""
        flat = torch.cat([p.detach().flatten() for _, p in self.alg.named_trainable_parameters()]).double()
        high, low = flat.clone(), flat.clone()
        torch.distributed.all_reduce(high, op=torch.distributed.ReduceOp.MAX)
        torch.distributed.all_reduce(low, op=torch.distributed.ReduceOp.MIN)
        return bool(torch.equal(high, low))


@runtime_checkable
class KeepsRngState(Protocol):
    """An env with its own random stream (every cppo backend declares one, envs/vec_env.py; a stock rsl_rl VecEnv
    need not): checkpoints keep it, --resume restores it."""

    def rng_state(self) -> Any: ...

    def set_rng_state(self, state: Any) -> None: ...


def rng_state(env) -> dict:
    """Every random stream a run draws from, as plain values and tensors (weights_only-loadable)."""
    numpy_state = np.random.get_state(legacy=False)
    state = {
        "torch": torch.get_rng_state(),
        "python": random.getstate(),
        "numpy": {
            "key": torch.from_numpy(numpy_state["state"]["key"].astype(np.int64)),
            "pos": int(numpy_state["state"]["pos"]),
            "has_gauss": int(numpy_state["has_gauss"]),
            "gauss": float(numpy_state["gauss"]),
        },
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    if isinstance(env, KeepsRngState) and (env_state := env.rng_state()) is not None:
        state["env"] = env_state
    return state


def set_rng_state(env, state: dict) -> None:
    torch.set_rng_state(state["torch"].cpu())
    random.setstate(tuple(tuple(x) if isinstance(x, list) else x for x in state["python"]))
    numpy_state = state["numpy"]
    np.random.set_state(
        (
            "MT19937",
            numpy_state["key"].numpy().astype(np.uint32),
            numpy_state["pos"],
            numpy_state["has_gauss"],
            numpy_state["gauss"],
        )
    )
    if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])
    if "env" in state and isinstance(env, KeepsRngState):
        env.set_rng_state(state["env"])

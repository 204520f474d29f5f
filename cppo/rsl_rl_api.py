"""Every use of rsl_rl's private API, in one place, checked against the pinned version (rsl-rl-lib 5.5).

rsl_rl 5.5 has no public hook for five things cppo needs; each is a function here, with a test in
tests/test_private_apis.py. An rsl_rl upgrade fails here, in one line, instead of deep inside a run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import metadata
from typing import Any, cast

import torch.nn as nn
from rsl_rl.runners import OnPolicyRunner

from cppo.errors import CppoError

PINNED = "5.5."  # pyproject.toml pins rsl-rl-lib==5.5.*
MULTI_PROCESS_HOOK = "_configure_multi_gpu"
"""OnPolicyRunner's torchrun set-up, which cppo.runner.Runner overrides to use gloo on CPUs."""


def check_version() -> None:
    installed = metadata.version("rsl-rl-lib")
    if not installed.startswith(PINNED) or not hasattr(OnPolicyRunner, MULTI_PROCESS_HOOK):
        raise CppoError(
            f"rsl-rl-lib {installed} is installed, but cppo's private hooks (cppo/rsl_rl_api.py) are written for "
            f"{PINNED}x: pip install 'rsl-rl-lib=={PINNED}*'"
        )


def episode_returns(logger: Any) -> list[float]:
    """Returns of the last (up to 100) finished episodes, as rsl_rl's logger keeps them for Train/mean_reward."""
    return list(logger.rewbuffer)


@contextmanager
def after_each_iteration(logger: Any, callback: Callable[[int], None]) -> Iterator[None]:
    """Call `callback(iteration)` right after rsl_rl logs an iteration (its update done, before its periodic
    save): the learn loop has no hook, but it logs exactly once per iteration."""
    log = logger.log

    def log_then_call(**kwargs) -> None:
        log(**kwargs)
        callback(kwargs["it"])

    logger.log = log_then_call
    try:
        yield
    finally:
        logger.log = log


@contextmanager
def tensorboard_continues_at(logger: Any, step: int) -> Iterator[None]:
    """A continued run's TensorBoard curve picks up at `step` with no repeats: when rsl_rl's logger opens its
    writer, mark a restart there (SummaryWriter's `purge_step`, which rsl_rl does not pass), so TensorBoard drops
    the events at `step` or later that the previous launch wrote after its last checkpoint."""
    # protobuf-generated: the module makes these names at import time, where pyright cannot see them
    from tensorboard.compat.proto.event_pb2 import Event, SessionLog  # pyright: ignore[reportAttributeAccessIssue]

    init = logger.init_logging_writer

    def init_then_mark() -> None:
        init()
        file_writer = getattr(logger.writer, "file_writer", None)  # SummaryWriter and its W&B subclass
        if file_writer is not None:
            file_writer.add_event(Event(step=step, file_version="brain.Event:2"))
            file_writer.add_event(Event(step=step, session_log=SessionLog(status=SessionLog.START)))

    logger.init_logging_writer = init_then_mark
    try:
        yield
    finally:
        logger.init_logging_writer = init


def output_layer(model: nn.Module) -> nn.Linear:
    """The last linear layer of an rsl_rl MLPModel (e.g. the critic's value head)."""
    return cast(nn.Linear, cast(nn.Sequential, model.mlp)[-1])

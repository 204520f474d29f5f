"""Every use of MuJoCo Playground's private API, in one place, checked against the pinned version.

Playground 0.2.0 has no public hook for three things cppo needs; each is a function here, with a test in
tests/test_private_apis.py. An upgrade of Playground fails here, in one line, instead of deep inside a run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

from cppo.errors import CppoError

PINNED = "0.2.0"  # pyproject.toml pins the same


def check_version() -> None:
    installed = metadata.version("playground")
    if installed != PINNED:
        raise CppoError(
            f"playground {installed} is installed, but cppo's private hooks (envs/playground_api.py) are written "
            f"for {PINNED}: pip install playground=={PINNED}"
        )


def menagerie_path() -> Path:
    """Where Playground's robot loaders read mujoco_menagerie (a module attribute of `_src.mjx_env`)."""
    from mujoco_playground._src import mjx_env

    return Path(mjx_env.MENAGERIE_PATH)


def set_menagerie_path(path: Path) -> None:
    from mujoco_playground._src import mjx_env

    mjx_env.MENAGERIE_PATH = path


def env_config(env: Any) -> Any:
    """The env's config (episode_length, action_scale, ...): Playground keeps it in the private `_config`."""
    return env._config


@contextmanager
def model_swapped(raw_env: Any, model: Any) -> Iterator[None]:
    """Run the env's step/reset on another (per-env, randomized) MJX model: swap the private `_mjx_model`,
    exactly as Playground's own BraxDomainRandomizationVmapWrapper does."""
    original = raw_env._mjx_model
    raw_env._mjx_model = model
    try:
        yield
    finally:
        raw_env._mjx_model = original


def with_model(raw_env: Any, fn: Callable) -> Callable:
    """`fn(*args)` as `call(model, *args)`, run with `model` swapped in (traced once per jit)."""

    def call(model, *args):
        with model_swapped(raw_env, model):
            return fn(*args)

    return call

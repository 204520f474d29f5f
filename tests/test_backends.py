"""Every backend meets the written contract (envs/vec_env.py); tests/test_isaaclab.py holds Isaac Lab to the same
check in its own venv. And nothing outside envs/ asks an env whether it has an attribute."""

import re

import pytest

from envs import BACKENDS, make_env
from helpers import ROOT, check_backend_contract
from tasks import REGISTRY, get_task


@pytest.mark.parametrize("name", ["MultiGoal", "PointMass"])
def test_the_backend_meets_the_contract(name):
    task = get_task(name)
    env_cfg = task.env_cfg()
    env_cfg.num_envs = 4
    env = make_env(task, env_cfg, "cpu")
    try:
        check_backend_contract(env)
    finally:
        env.close()


def test_every_registered_task_names_a_registered_backend():
    assert {task.backend for task in REGISTRY.values()} <= set(BACKENDS)


def test_nothing_outside_envs_probes_an_env_for_attributes():
    probe = re.compile(r"(hasattr|getattr)\((self\.)?env\b")
    outside = [ROOT / "train.py", ROOT / "play.py", *(ROOT / "app").glob("*.py"), *(ROOT / "cppo").rglob("*.py"),
               *(ROOT / "bench").glob("*.py")]  # fmt: skip
    found = [f"{path.relative_to(ROOT)}:{i}" for path in outside
             for i, line in enumerate(path.read_text().splitlines(), 1) if probe.search(line)]  # fmt: skip
    assert not found, found

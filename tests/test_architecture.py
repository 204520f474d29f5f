"""One clear house: the layers point one way (app → tasks → envs / cppo), the task registry is cheap to import,
and adding an algorithm is one module + one registry entry: a toy algorithm defined in this file only trains,
plays and exports through the normal command line."""

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import onnxruntime as ort
import pytest

from cppo.algorithms import REGISTRY, Algorithm, register
from cppo.config import PPOCfg
from cppo.ppo import PPO
from helpers import ROOT


def modules_loaded_by(statement: str) -> set[str]:
    """Top-level package names in sys.modules after `statement`, in a fresh interpreter."""
    code = f"import sys; {statement}; print(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return set(result.stdout.split())


def library_modules(package: str, skip: tuple[str, ...] = ()) -> str:
    """Every module of `package`, sub-packages included, as import statements."""
    paths = sorted((ROOT / package).rglob("*.py"))
    names = [".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__") for p in paths]
    return "; ".join(f"import {name}" for name in names if name.rsplit(".", 1)[-1] not in skip)


def test_the_learning_library_imports_no_env_task_or_application_module():
    loaded = modules_loaded_by(library_modules("cppo"))
    assert not loaded & {"envs", "tasks", "app", "train", "play"}, loaded


def test_the_backends_import_no_task_or_application_module():
    # (envs.isaaclab_cfg extends Isaac Lab's config classes: importable only where Isaac Lab is, tests/test_isaaclab.py)
    loaded = modules_loaded_by(library_modules("envs", skip=("isaaclab", "isaaclab_cfg")) + "; import envs.isaaclab")
    assert not loaded & {"tasks", "app", "train", "play"}, loaded


def test_the_task_registry_imports_no_torch_jax_or_rsl_rl():
    loaded = modules_loaded_by("import tasks; tasks.get_task('Go1JoystickFlatTerrain').agent_cfg('cppo')")
    assert not loaded & {"torch", "jax", "jaxlib", "rsl_rl", "mujoco", "mujoco_playground", "numpy"}, loaded


# --- a toy algorithm, registered from this file alone ---------------------------------------------------


class ScaledRewardPPO(PPO):
    """PPO on rewards multiplied by `reward_scale`: a new algorithm with a setting of its own."""

    def __init__(self, *args, reward_scale: float = 1.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.reward_scale = reward_scale

    def process_env_step(self, obs, rewards, dones, extras):
        super().process_env_step(obs, rewards * self.reward_scale, dones, extras)


@dataclass
class ScaledRewardCfg(PPOCfg):
    reward_scale: float = 1.0

    class_name: ClassVar[str] = f"{__name__}:ScaledRewardPPO"
    limits: ClassVar[dict[str, str]] = {**PPOCfg.limits, "reward_scale": "> 0"}


@pytest.fixture
def toy_algorithm():
    register(Algorithm("toy", ScaledRewardCfg, "PPO on scaled rewards (a test)", "gaussian mean"))
    yield "toy"
    del REGISTRY["toy"]


def test_a_registered_toy_algorithm_trains_plays_and_exports_through_the_cli(toy_algorithm, tmp_path, capsys):
    import play
    import train

    common = ["--task", "MultiGoal", "--algo", toy_algorithm, "--log_root", str(tmp_path)]
    assert train.main([*common, "--max_iterations", "2", "agent.algorithm.reward_scale=0.5", "env.num_envs=32"]) == 0
    (run_dir,) = (tmp_path / "MultiGoal_toy").iterdir()
    assert (run_dir / "model_1.pt").is_file()
    assert "reward_scale: 0.5" in (run_dir / "params" / "agent.yaml").read_text()
    assert play.main([*common, "--headless", "--steps", "60", "--num_envs", "4"]) == 0
    assert "mean return over 4 episodes" in capsys.readouterr().out
    metadata = ort.InferenceSession(str(run_dir / "exported" / "policy.onnx")).get_modelmeta().custom_metadata_map
    assert metadata["algorithm"] == "toy" and json.loads(metadata["obs_dim"]) == 4


def test_a_toy_setting_is_validated_like_every_other(toy_algorithm, tmp_path):
    import train
    from cppo.errors import UsageError

    with pytest.raises(UsageError, match=r"agent.algorithm.reward_scale=-1.0: must be > 0"):
        train.main(
            [
                "--task",
                "MultiGoal",
                "--algo",
                toy_algorithm,
                "--log_root",
                str(tmp_path),
                "agent.algorithm.reward_scale=-1",
            ]
        )
    assert not any(Path(tmp_path).iterdir())


# --- readable in one sitting -----------------------------------------------------------------------------


def function_lengths(path: Path) -> dict[str, int]:
    import ast

    tree = ast.parse(path.read_text())
    nodes = (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef))
    return {f"{path.relative_to(ROOT)}:{n.name}": (n.end_lineno or n.lineno) - n.lineno + 1 for n in nodes}


def test_entry_points_are_thin_and_no_function_is_long():
    lengths: dict[str, int] = {}
    for folder in ("cppo", "envs", "tasks", "app", "bench", "examples"):
        for path in (ROOT / folder).rglob("*.py"):
            lengths |= function_lengths(path)
    for script in ("train.py", "play.py"):
        lengths |= function_lengths(ROOT / script)
    assert not {name: n for name, n in lengths.items() if n > 60}
    assert lengths["train.py:main"] <= 40 and lengths["play.py:main"] <= 40

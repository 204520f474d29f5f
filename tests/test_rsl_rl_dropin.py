"""CPPO under rsl_rl's stock OnPolicyRunner, built from `class_name` strings only (docs/rsl_rl.md's config, read
from the page itself): it learns, saves, resumes, plays and exports through rsl_rl's own calls."""

import ast
import copy
import re

import numpy as np
import pytest
import torch
from rsl_rl.runners import OnPolicyRunner

from cppo.errors import UsageError
from cppo.ppo import settings_of
from helpers import ROOT, scalars

DOC = ROOT / "docs" / "rsl_rl.md"


def documented_train_cfg() -> dict:
    """The `train_cfg = {...}` of docs/rsl_rl.md, as a user copies it."""
    block = re.search(r"```python\n(train_cfg = \{.*?\n\})\n", DOC.read_text(), re.S)
    assert block, "docs/rsl_rl.md lost its plain-rsl_rl train_cfg"
    return ast.literal_eval(block.group(1).removeprefix("train_cfg = "))


def cartpole(num_envs: int, seed: int):
    from envs.config import PlaygroundEnvCfg
    from envs.playground import PlaygroundVecEnv, configure_jax

    configure_jax()
    # 100-step episodes: returns every ~3 iterations (at 1000 steps the first one ends at iteration 31)
    cfg = PlaygroundEnvCfg(env_id="CartpoleBalance", num_envs=num_envs, seed=seed, episode_length=100)
    return PlaygroundVecEnv(cfg)


@pytest.fixture(scope="module")
def stock_run(tmp_path_factory):
    """60 iterations × 64 envs of the documented config under rsl_rl's OnPolicyRunner, seed 1 (~1 min)."""
    torch.manual_seed(1)
    env, log_dir = cartpole(64, seed=1), tmp_path_factory.mktemp("stock")
    runner = OnPolicyRunner(env, documented_train_cfg(), log_dir=str(log_dir), device="cpu")
    runner.learn(num_learning_iterations=60)
    return env, runner, log_dir


def test_the_stock_runner_trains_cppo_from_class_name_strings(stock_run):
    """rsl_rl's own tags: the pole stays up longer. Measured with seeds 1–4 on both floating-point paths
    (MKL_CBWR=COMPATIBLE): first return 72–74, last 95–98 (of 100)."""
    _, runner, log_dir = stock_run
    returns = [value for _, value in scalars(log_dir, "Train/mean_reward")]
    assert type(runner.alg).__name__ == "CPPO" and type(runner.alg.actor).__name__ == "FlowPolicy"
    assert returns[0] < 80 and returns[-1] >= 90, returns[::5]
    assert scalars(log_dir, "Loss/flow_matching")  # CPPO's distillation loss, through rsl_rl's logger


def test_the_stock_runner_resumes_and_exports_the_deployed_policy(stock_run, tmp_path):
    env, runner, log_dir = stock_run
    resumed = OnPolicyRunner(env, documented_train_cfg(), log_dir=str(tmp_path), device="cpu")
    resumed.load(str(log_dir / "model_59.pt"))
    assert resumed.current_learning_iteration == 59
    policy, obs = resumed.get_inference_policy(), env.get_observations()
    assert torch.equal(policy(obs), runner.get_inference_policy()(obs))  # the checkpoint is the run
    resumed.learn(num_learning_iterations=2)
    assert (tmp_path / "model_60.pt").is_file()  # rsl_rl's runner redoes the loaded iteration (59), then 60

    resumed.export_policy_to_jit(str(tmp_path / "exported"))  # what Isaac Lab's play script calls
    resumed.export_policy_to_onnx(str(tmp_path / "exported"))
    import onnxruntime as ort

    flat = obs["policy"]
    scripted = torch.jit.load(str(tmp_path / "exported" / "policy.pt"))
    session = ort.InferenceSession(str(tmp_path / "exported" / "policy.onnx"))
    expected = resumed.get_inference_policy()(obs).detach()
    assert torch.allclose(scripted(flat), expected, atol=1e-5)
    for row in range(8):  # rsl_rl exports the ONNX graph for a batch of one observation
        feed = {"obs": flat[row : row + 1].numpy(), "noise": np.zeros((1, 1), np.float32)}
        assert np.abs(session.run(None, feed)[0] - expected[row : row + 1].numpy()).max() <= 1e-5


@pytest.mark.parametrize(
    ("algorithm", "actor"),
    [("cppo.fpo:FPO", "cppo.fpo:FPOPolicy"), ("cppo.dipole:DIPOLE", "cppo.dipole:DipolePolicy")],
    ids=["fpo", "dipole"],
)
def test_fpo_and_dipole_plug_in_the_same_way(stock_run, tmp_path, algorithm, actor):
    env, _, _ = stock_run
    cfg = copy.deepcopy(documented_train_cfg())
    cfg["algorithm"] = {"class_name": algorithm, "learning_rate": 1e-3}
    cfg["actor"] = {"class_name": actor, "hidden_dims": [64, 64]}
    runner = OnPolicyRunner(env, cfg, log_dir=str(tmp_path), device="cpu")
    runner.learn(num_learning_iterations=2)
    assert type(runner.alg).__name__ == algorithm.split(":")[1]
    losses = [value for _, value in scalars(tmp_path, "Loss/value")]
    assert len(losses) == 2 and all(np.isfinite(losses)), losses


@pytest.mark.parametrize(
    ("section", "key", "value", "message"),
    [
        ("algorithm", "flow_stpes", 4, "algorithm.flow_stpes is not a setting of CPPO (did you mean actor.flow_step"),
        ("actor", "min_sdt", 0.2, "actor.min_sdt is not a setting of FlowPolicy (did you mean actor.min_std?)"),
        ("actor", "class_name", "cppo.cppo:FlowPolicyy", "actor.class_name 'cppo.cppo:FlowPolicyy'"),
    ],
)
def test_a_bad_key_or_class_name_is_one_line(stock_run, section, key, value, message):
    env, _, _ = stock_run
    cfg = copy.deepcopy(documented_train_cfg())
    cfg[section][key] = value
    with pytest.raises(UsageError) as error:
        OnPolicyRunner(env, cfg, log_dir=None, device="cpu")
    assert message in str(error.value) and "\n" not in str(error.value), str(error.value)


@pytest.mark.parametrize("schedule", ["ceiling_decay", "entropy_decay"])
def test_an_annealed_schedule_under_the_stock_runner_is_one_line_not_ignored(stock_run, schedule):
    env, _, _ = stock_run
    cfg = copy.deepcopy(documented_train_cfg())
    cfg["algorithm"][schedule] = "linear"
    with pytest.raises(UsageError, match=f"{schedule}.*cppo.runner:Runner"):
        OnPolicyRunner(env, cfg, log_dir=None, device="cpu").learn(num_learning_iterations=1)


def test_the_page_documents_every_setting():
    from cppo.cppo.actor import FlowPolicy
    from cppo.cppo.update import CPPO
    from cppo.dipole.actor import DipolePolicy
    from cppo.dipole.update import DIPOLE
    from cppo.fpo.actor import FPOPolicy
    from cppo.fpo.update import FPO

    page = DOC.read_text()
    for cls in (CPPO, FPO, DIPOLE, FlowPolicy, FPOPolicy, DipolePolicy):
        missing = [key for key in sorted(settings_of(cls)) if f"`{key}`" not in page]
        assert not missing, (cls.__name__, missing)


def test_the_isaac_lab_snippet_is_the_example_the_isaac_lab_test_runs():
    """docs/rsl_rl.md's Isaac Lab config is examples/isaaclab_cartpole_cppo.py's, which tests/test_isaaclab.py trains
    with `isaaclab train` (Isaac Lab's venv)."""
    block = re.search(r"```python\n(from isaaclab\.utils.*?)```", DOC.read_text(), re.S)
    assert block, "docs/rsl_rl.md lost its Isaac Lab config"
    example = (ROOT / "examples" / "isaaclab_cartpole_cppo.py").read_text()
    assert block.group(1).strip() in example

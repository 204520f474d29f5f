"""Isaac Lab 3, for real: its own tasks, wrapper and trainer, Newton physics (MuJoCo-Warp) kit-less on the CPU.

Runs in Isaac Lab's Python (the `isaaclab` environment):

    bash envs/install_isaaclab.sh && .venv-isaaclab/bin/python -m pytest tests/test_isaaclab.py

Elsewhere (the default suite's Python, which has Playground and cannot also have Isaac Lab) every test here but
the last skips. The cartpole's robot and ground plane are written by envs/isaaclab_assets.py (no machine here
reaches NVIDIA's asset server); an ISAACSIM_ASSET_ROOT already set is used as it is.
"""

import importlib.util
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers import ROOT, one_line_error, run_in_process, run_script, scalars

HAS_ISAACLAB = importlib.util.find_spec("isaaclab_tasks") is not None
needs_isaaclab = pytest.mark.skipif(
    not HAS_ISAACLAB, reason="Isaac Lab 3 is not installed in this Python (bash envs/install_isaaclab.sh)"
)
TASK = "Isaac-Cartpole"
ALGORITHMS = ("ppo", "cppo", "dipole", "fpo")

if HAS_ISAACLAB and not os.environ.get("ISAACSIM_ASSET_ROOT"):
    # Before anything of Isaac Lab is imported: it reads the asset root once, at import.
    from envs.isaaclab_assets import write_assets

    os.environ["ISAACSIM_ASSET_ROOT"] = str(write_assets(tempfile.mkdtemp(prefix="isaaclab-assets-")))


def train(log_root: Path, algo: str, *args: str, timeout: float = 900) -> Path:
    result = run_script("train.py", "--task", TASK, "--algo", algo, "--log_root", str(log_root), *args, timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    return max(p for p in (log_root / f"{TASK}_{algo}").iterdir() if p.is_dir())


def logged(stdout: str, name: str) -> list[float]:
    """One value per iteration of a quantity rsl_rl prints (e.g. "Mean value loss")."""
    return [float(v) for v in re.findall(rf"{name}:\s+(-?[\d.]+|nan|inf)", stdout)]


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Three iterations of every algorithm on Isaac-Cartpole (64 envs) through our train.py."""
    root = tmp_path_factory.mktemp("isaaclab")
    return {algo: train(root, algo, "--num_envs", "64", "--max_iterations", "3") for algo in ALGORITHMS}


@needs_isaaclab
@pytest.mark.parametrize("algo", ALGORITHMS)
def test_every_algorithm_trains_on_isaac_lab_with_finite_losses_and_checkpoints(runs, algo):
    run = runs[algo]
    assert {p.name for p in run.glob("model_*.pt")} >= {"model_2.pt", "model_best.pt"}
    checkpoint = torch.load(run / "model_2.pt", map_location="cpu", weights_only=False)
    for name, value in checkpoint["actor_state_dict"].items():
        assert torch.isfinite(value).all(), name
    values = scalars(run, "Loss/value")
    assert len(values) == 3 and all(math.isfinite(v) for _, v in values), values


@needs_isaaclab
def test_time_outs_bootstrap_from_the_true_final_observation():
    """Isaac Lab's cartpole times out after 300 steps; at that step the wrapper's observation is already the
    reset one, and ours carries the pre-reset one as extras["final_observations"], which PPO bootstraps from."""
    from cppo.ppo import time_out_bootstrap
    from envs.config import IsaacLabEnvCfg
    from envs.isaaclab import make_isaaclab_env

    env = make_isaaclab_env(IsaacLabEnvCfg(task_id=TASK, num_envs=8), "cpu")
    previous = env.get_observations()["policy"].clone()
    for _ in range(env.max_episode_length + 1):
        obs, _, dones, extras = env.step(torch.zeros(env.num_envs, env.num_actions))  # no push: no cart exits
        if extras["time_outs"].any():
            break
        previous = obs["policy"].clone()
    timed_out = extras["time_outs"].bool()
    assert timed_out.all() and dones.bool().all(), "every env starts together and reaches the 5 s limit together"
    final = extras["final_observations"]["policy"]
    # One control step (1/60 s) from the previous observation, unlike the fresh reset state.
    step_from_previous = (final - previous).abs().max(-1).values
    jump_to_reset = (obs["policy"] - previous).abs().max(-1).values
    assert (step_from_previous < jump_to_reset).all(), (step_from_previous, jump_to_reset)

    def critic(observations):  # a value function of the pole angle
        return observations["policy"][:, 1:2]

    bootstrap = time_out_bootstrap(critic, 0.9, extras, critic(obs))
    assert torch.allclose(bootstrap, 0.9 * final[:, 1])
    env.close()


@needs_isaaclab
def test_play_replays_and_exports_to_onnx_that_matches_torchscript(runs, tmp_path):
    run = runs["cppo"]
    args = ["--task", TASK, "--algo", "cppo", "--log_root", str(run.parents[1]), "--load_run", run.name]
    played = run_script("play.py", *args, "--headless", "--num_envs", "4", "--steps", "40")
    assert played.returncode == 0, played.stderr[-3000:]
    assert "mean return" in played.stdout or "return so far" in played.stdout, played.stdout[-2000:]
    exported = run / "exported"
    import onnxruntime as ort

    session = ort.InferenceSession(str(exported / "policy.onnx"))
    scripted = torch.jit.load(str(exported / "policy.pt"))
    obs = torch.randn(16, 4)
    noise = torch.zeros(16, 1)
    onnx_actions = session.run(None, {"obs": obs.numpy(), "noise": noise.numpy()})[0]
    assert np.abs(onnx_actions - scripted(obs, noise).detach().numpy()).max() <= 1e-5
    assert "ctrl_dt" in (exported / "deploy.yaml").read_text()


@needs_isaaclab
def test_cppo_trains_under_isaac_labs_own_trainer(tmp_path):
    """`isaaclab train` with examples/isaaclab_cppo.py's entry point builds CPPO and its flow policy."""
    isaaclab = Path(sys.executable).parent / "isaaclab"
    command = [str(isaaclab), "train", "--rl_library", "rsl_rl", "--task", TASK, "--num_envs", "16",
               "--max_iterations", "2", "--device", "cpu", "--external_callback", "examples.isaaclab_cppo.register",
               "--agent", "rsl_rl_cppo_cfg_entry_point", "agent.device=cpu"]  # fmt: skip
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(command, cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    checkpoint = max((tmp_path / "logs" / "rsl_rl" / "cartpole_cppo").glob("*/model_1.pt"))
    state = torch.load(checkpoint, map_location="cpu", weights_only=False)
    assert any(key.startswith("flow.") for key in state["actor_state_dict"]), list(state["actor_state_dict"])[:5]
    assert "flow_matching loss" in result.stdout


@needs_isaaclab
def test_a_users_isaac_lab_config_trains_plays_and_exports_through_isaac_labs_own_scripts(tmp_path):
    """docs/rsl_rl.md's agent config (examples/isaaclab_cartpole_cppo.py: Isaac Lab's config classes, CPPO's added)
    under the stock `isaaclab train` and `isaaclab play` — Isaac Lab's RslRlVecEnvWrapper, rsl_rl's OnPolicyRunner,
    its exports — at the task's sizes and budget but 1024 envs: the pole stays up, as under our train.py."""
    isaaclab = Path(sys.executable).parent / "isaaclab"
    common = ["--rl_library", "rsl_rl", "--task", TASK, "--device", "cpu", "--external_callback",
              "examples.isaaclab_cartpole_cppo.register", "--agent", "rsl_rl_cppo_cfg_entry_point"]  # fmt: skip
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    trained = subprocess.run(
        [str(isaaclab), "train", *common, "--num_envs", "1024", "agent.device=cpu"],
        cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=1200,
    )  # fmt: skip
    assert trained.returncode == 0, trained.stdout[-2000:] + trained.stderr[-3000:]
    lengths, returns = logged(trained.stdout, "Mean episode length"), logged(trained.stdout, "Mean reward")
    # (train.py's test asks 295 of 300 steps: our backend bootstraps time-outs from the true final observation,
    # Isaac Lab's wrapper from V(s_t), and its train script starts episodes at random lengths. Measured here with
    # agent seeds 42, 1, 2: 288.2, 294.2, 300.0 in the last 30 iterations, best mean return 4.94, 4.81, 4.94; seed 42
    # with MKL_CBWR=COMPATIBLE: 300.0, 4.95.)
    assert len(lengths) == 150 and max(lengths[-30:]) >= 280 and max(returns) >= 4.5, (lengths[-30:], max(returns))

    playing = subprocess.Popen(
        [str(isaaclab), "play", *common, "--num_envs", "16", "agent.device=cpu"],
        cwd=tmp_path, env={**environment, "PYTHONFAULTHANDLER": "1"},  # SIGABRT prints every thread's stack
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    exported = next((tmp_path / "logs" / "rsl_rl" / "cartpole_cppo").glob("*")) / "exported"
    lines = []
    try:
        assert playing.stdout is not None
        for line in playing.stdout:  # it exports, then steps its policy until Ctrl-C
            lines.append(line)
            if "Policy playback is running" in line:
                time.sleep(3)
                playing.send_signal(signal.SIGINT)
                break
        try:
            output = "".join(lines) + playing.communicate(timeout=120)[0]
        except subprocess.TimeoutExpired:  # seen once in CI (2026-12-08), not reproduced alone: say where it waits
            playing.send_signal(signal.SIGABRT)
            stacks = playing.communicate(timeout=60)[0][-6000:]
            pytest.fail(f"isaaclab play did not exit 120 s after Ctrl-C; its stacks:\n{stacks}")
    finally:
        playing.kill()
    assert playing.returncode == 0 and "Traceback" not in output, output[-3000:]
    import onnxruntime as ort

    scripted = torch.jit.load(str(exported / "policy.pt"))
    session = ort.InferenceSession(str(exported / "policy.onnx"))  # rsl_rl exports a batch of one observation
    for obs in torch.randn(16, 1, 4):
        onnx_actions = session.run(None, {"obs": obs.numpy(), "noise": np.zeros((1, 1), np.float32)})[0]
        assert np.abs(onnx_actions - scripted(obs).detach().numpy()).max() <= 1e-5


@needs_isaaclab
def test_registered_agent_configs_translate():
    """Our configs from Isaac Lab 3's registered rsl_rl runner configs (Cartpole; Anymal-D's, which only needs
    reading): the PPO settings, sizes and rollout carry over, for PPO and the flow algorithms alike."""
    from cppo.cppo.config import CPPOCfg
    from tasks.isaaclab import agent_cfg_from_isaaclab, registered_agent

    for task in (TASK, "Isaac-Velocity-Flat-AnymalD"):
        registered = registered_agent(task)
        ppo, cppo = agent_cfg_from_isaaclab(registered, "ppo"), agent_cfg_from_isaaclab(registered, "cppo")
        for name in ("learning_rate", "gamma", "lam", "num_learning_epochs", "num_mini_batches", "entropy_coef"):
            assert getattr(ppo.algorithm, name) == registered["algorithm"][name], name
        assert isinstance(cppo.algorithm, CPPOCfg) and cppo.algorithm.gamma == ppo.algorithm.gamma
        assert ppo.policy.actor_hidden_dims == tuple(registered["actor"]["hidden_dims"])
        assert ppo.policy.critic_hidden_dims == tuple(registered["critic"]["hidden_dims"])
        assert ppo.num_steps_per_env == registered["num_steps_per_env"] == cppo.num_steps_per_env


@needs_isaaclab
def test_old_task_ids_map_and_unknown_ones_are_one_line(tmp_path):
    result = run_script("train.py", "--task", "Isaac-Cartpol", "--log_root", str(tmp_path))
    one_line_error(result, 1, "Isaac Lab has no task 'Isaac-Cartpol'", "closest: Isaac-Cartpole")
    from envs.isaaclab import canonical_task_id

    assert canonical_task_id("Isaac-Cartpole-v0") == TASK
    assert canonical_task_id("Isaac-Velocity-Flat-Anymal-D-v0") == "Isaac-Velocity-Flat-AnymalD"
    assert not any(tmp_path.iterdir())


@needs_isaaclab
def test_a_local_asset_root_without_the_task_s_files_is_one_line_before_any_run_folder(tmp_path):
    """(Warp prints a line of its own at import on a machine without a CUDA driver: ours is the last line.)"""
    command = [sys.executable, str(ROOT / "train.py"), "--task", TASK, "--log_root", str(tmp_path / "logs")]
    environment = {**os.environ, "ISAACSIM_ASSET_ROOT": str(tmp_path / "empty")}
    result = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-3000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("train.py: error: Isaac Lab could not load an asset") and "envs.isaaclab_assets" in last
    assert not (tmp_path / "logs").exists()


@needs_isaaclab
def test_cppo_balances_the_isaac_lab_cartpole(tmp_path):
    """CPPO at the task's registered sizes and budget (150 iterations) but 1024 envs (CPU; ~2–3 min): the pole
    stays up for whole 5 s episodes (300 steps; a falling pole drives the cart out of bounds first). Measured
    on seeds 42, 1, 2 and 3: full episodes from iteration 49–107, best mean return 4.9 of 5."""
    result = run_script(
        "train.py", "--task", TASK, "--algo", "cppo", "--num_envs", "1024", "--log_root", str(tmp_path), timeout=1200
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    lengths, returns = logged(result.stdout, "Mean episode length"), logged(result.stdout, "Mean reward")
    assert len(lengths) == 150 and max(lengths[-30:]) >= 295 and max(returns) >= 4.5, (lengths[-30:], max(returns))


@pytest.mark.skipif(HAS_ISAACLAB, reason="Isaac Lab is installed here")
def test_without_isaac_lab_an_isaac_task_says_what_to_install(tmp_path, capsys):
    for script in ("train.py", "play.py"):
        result = run_in_process(capsys, script, "--task", "Isaac-Velocity-Flat-AnymalD", "--log_root", str(tmp_path))
        one_line_error(result, 1, "Isaac-Velocity-Flat-AnymalD", "Isaac Lab is not installed", "install_isaaclab.sh")
    assert not any(tmp_path.iterdir())


@needs_isaaclab
def test_the_isaac_lab_backend_meets_the_backend_contract():
    """envs/vec_env.py's contract, the same check as the other backends' (tests/test_backends.py), in a process of
    its own (Isaac Lab's simulation context lives as long as the process)."""
    script = (
        "import sys; sys.path.insert(0, 'tests')\n"
        "from envs import make_env\nfrom helpers import check_backend_contract\nfrom tasks import get_task\n"
        f"task = get_task('{TASK}'); cfg = task.env_cfg(); cfg.num_envs = 4\n"
        "env = make_env(task, cfg, 'cpu'); check_backend_contract(env); env.close(); print('contract met')\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0 and "contract met" in result.stdout, result.stderr[-3000:]

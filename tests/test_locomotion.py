"""Legged locomotion on MuJoCo Playground: registry defaults, CPU sizes, joystick commands, CPU smoke runs.

JAX compiles each robot for tens of seconds on 2 cores, so only Go1JoystickFlatTerrain with CPPO runs in the
default suite; every other smoke run is marked slow: `python -m pytest -m slow tests/test_locomotion.py`.
Go1 with CPPO is conftest's `go1_run`, shared with the viewer and deploy tests.
"""

import argparse
import math
import shutil
from typing import Any

import numpy as np
import pytest

import tasks
from app.cli import build_configs
from app.viewer import joystick_key
from helpers import SMOKE_ENVS, SMOKE_FLAGS, one_line_error, run_in_process, run_script, scalars
from tasks.locomotion import CPU_SIZES, NUM_ENVS, STEPS_PER_ENV, TASKS

ISSUE_TASKS = (
    "Go1JoystickFlatTerrain", "Go1JoystickRoughTerrain", "Go1Getup", "Go1Handstand", "T1JoystickFlatTerrain",
    "G1JoystickFlatTerrain", "H1JoystickGaitTracking", "BarkourJoystick",
)  # fmt: skip
DEFAULT_SUITE = "Go1JoystickFlatTerrain"
JOYSTICK = {name for name in TASKS if "Joystick" in name}  # H1InplaceGaitTracking has no velocity command


def flags(**values) -> argparse.Namespace:
    base = dict(task=None, algo=None, num_envs=None, seed=None, menagerie_dir=None, overrides=[])
    return argparse.Namespace(**{**base, **values})


@pytest.mark.parametrize("name", sorted(TASKS))
def test_defaults_follow_playgrounds_published_locomotion_config(name, menagerie_dir):
    from mujoco_playground import registry
    from mujoco_playground.config import locomotion_params

    published: Any = locomotion_params.brax_ppo_config(name)
    rsl_rl: Any = locomotion_params.rsl_rl_config(name)
    spec = tasks.get_task(name)
    assert spec.backend == "playground" and name in registry.ALL_ENVS
    assert (menagerie_dir / spec.menagerie_robot).is_dir()
    env, ppo, cppo = spec.env_cfg(), spec.agent_cfg("ppo"), spec.agent_cfg("cppo")
    assert env.num_envs == published.num_envs == NUM_ENVS and env.domain_randomization and env.episode_length == 0
    assert ppo.num_steps_per_env == published.unroll_length == STEPS_PER_ENV
    network = published.network_factory
    assert ppo.policy.actor_hidden_dims == tuple(network.policy_hidden_layer_sizes)
    assert ppo.policy.critic_hidden_dims == tuple(network.value_hidden_layer_sizes)
    for agent in (ppo, cppo):
        algo = agent.algorithm
        assert algo.gamma == published.discounting and algo.learning_rate == published.learning_rate
        assert algo.schedule == "fixed" and algo.max_grad_norm == published.max_grad_norm
        assert algo.num_mini_batches == published.num_minibatches
        assert algo.num_learning_epochs == published.num_updates_per_batch
        assert algo.entropy_coef == rsl_rl.algorithm.entropy_coef  # brax's acts on a tanh-squashed Gaussian
        assert algo.clip_param == published.get("clipping_epsilon", 0.3)  # brax's default
        budget = agent.max_iterations * NUM_ENVS * STEPS_PER_ENV
        assert published.num_timesteps <= budget < published.num_timesteps + NUM_ENVS * STEPS_PER_ENV
    assert cppo.policy == ppo.policy and type(cppo.algorithm).__name__ == "CPPOCfg"


def test_every_issue_task_is_listed():
    listing = run_script("train.py", "--list")
    assert listing.returncode == 0
    listed = {line.split()[0] for line in listing.stdout.splitlines()[1:]}
    assert set(ISSUE_TASKS) <= listed


def test_a_cpu_run_picks_small_sizes_and_flags_still_win():
    gpu = build_configs(flags(task=DEFAULT_SUITE))
    cpu = build_configs(flags(task=DEFAULT_SUITE), cpu_sizes=True)
    assert gpu[1].num_envs == NUM_ENVS and cpu[1].num_envs == CPU_SIZES["env.num_envs"]
    assert cpu[2].algorithm.num_mini_batches == CPU_SIZES["agent.algorithm.num_mini_batches"]
    _, env, agent = build_configs(
        flags(task=DEFAULT_SUITE, num_envs=8, overrides=["agent.algorithm.num_mini_batches=2"]), cpu_sizes=True
    )
    assert env.num_envs == 8 and agent.algorithm.num_mini_batches == 2
    _, cartpole_env, _ = build_configs(flags(task="CartpoleBalance"), cpu_sizes=True)
    assert cartpole_env.num_envs == tasks.get_task("CartpoleBalance").env_cfg().num_envs  # CPU-sized already


def test_viewer_keys_steer_the_command():
    up, left, comma, zero, letter_a = 265, 263, 44, 48, 65
    command = (0.0, 0.0, 0.0)
    for key in (up, up, left, comma):
        steered = joystick_key(command, key)
        assert steered is not None
        command = steered
    assert command == pytest.approx((0.2, 0.1, 0.1))
    assert joystick_key(command, zero) == (0.0, 0.0, 0.0)
    assert joystick_key(command, letter_a) is None


def test_missing_robot_models_name_the_directory_and_the_flag(tmp_path, capsys):
    missing = tmp_path / "no_menagerie"
    result = run_in_process(
        capsys,
        "train.py",
        "--task",
        DEFAULT_SUITE,
        "--menagerie_dir",
        str(missing),
        "--log_root",
        str(tmp_path / "logs"),
    )
    one_line_error(result, 1, str(missing), "--menagerie_dir")
    assert not (tmp_path / "logs").exists()  # failed before a run folder was made


LOSSES = {
    "ppo": ["surrogate", "value"],
    "cppo": ["surrogate", "value", "flow_matching"],
    "dipole": ["flow_positive", "flow_negative", "value"],
}


def smoke_params():
    """Every task × every algorithm, slow; the default suite keeps Go1 with the main job's algorithm (the code
    each algorithm adds is task-independent and trained on the cartpole there; each Go1 process costs ~25 s)."""
    for name in sorted(TASKS):
        if name == DEFAULT_SUITE:
            yield pytest.param(name, ("cppo",), id=name)
            yield pytest.param(name, ("ppo", "dipole"), id=f"{name}-ppo-dipole", marks=pytest.mark.slow)
        else:
            yield pytest.param(name, tuple(LOSSES), id=name, marks=pytest.mark.slow)


@pytest.mark.parametrize("name, algos", smoke_params())
def test_cpu_smoke_run_trains_checkpoints_and_records(name, algos, menagerie_dir, tmp_path, request):
    common = ["--task", name, "--num_envs", str(SMOKE_ENVS), "--menagerie_dir", str(menagerie_dir), "--log_root",
              str(tmp_path)]  # fmt: skip
    for algo in algos:
        if (name, algo) == (DEFAULT_SUITE, "cppo"):  # conftest's go1_run is this very run (one Go1 process less)
            root, _ = request.getfixturevalue("go1_run")
            shutil.copytree(root, tmp_path, ignore=shutil.ignore_patterns("exported", "videos"), dirs_exist_ok=True)
        else:
            result = run_script("train.py", *common, "--algo", algo, *SMOKE_FLAGS)
            assert result.returncode == 0, result.stderr[-3000:]
        (run_dir,) = (tmp_path / f"{name}_{algo}").iterdir()
        assert (run_dir / "model_1.pt").is_file()
        for tag in (f"Loss/{tag}" for tag in LOSSES[algo]):
            values = [value for _, value in scalars(run_dir, tag)]
            assert len(values) == 2 and all(math.isfinite(v) for v in values), (tag, values)
    if "cppo" not in algos:
        return

    command = ["--command", "0.8", "0", "0.3"] if name in JOYSTICK else []
    run_dir = next((tmp_path / f"{name}_cppo").iterdir())
    result = run_script(
        "play.py", *common, "--algo", "cppo", "--headless", "--video", "--video_length", "12", "--steps", "12", *command
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (video,) = (run_dir / "videos" / "play").glob("*.mp4")
    frames = read_frames(video)
    assert len(frames) == 12 and np.abs(frames[-1].astype(int) - frames[0].astype(int)).mean() > 0.5
    assert (run_dir / "exported" / "policy.onnx").is_file()


def read_frames(video) -> np.ndarray:
    import imageio

    # imageio's stub types memtest as its default's str; it documents bool, int, float or str
    return np.stack(list(imageio.v2.mimread(video, format="FFMPEG", memtest=False)))  # pyright: ignore[reportArgumentType]


def test_play_holds_the_joystick_command(menagerie_dir):
    """--command / the viewer keys set every env's command: it is what the policy observes and is rewarded for."""
    import jax
    import torch

    from envs import make_env

    spec = tasks.get_task(DEFAULT_SUITE)
    cfg = spec.env_cfg()
    cfg.num_envs, cfg.menagerie_dir = SMOKE_ENVS, str(menagerie_dir)
    env: Any = make_env(spec, cfg, "cpu")  # a PlaygroundVecEnv
    assert env.has_command
    env.set_command((0.8, 0.0, 0.3))
    for _ in range(3):
        obs, *_ = env.step(torch.zeros(env.num_envs, env.num_actions))
    command = torch.tensor([0.8, 0.0, 0.3])
    assert torch.equal(obs["policy"][:, -3:], command.expand(env.num_envs, 3))  # Go1's obs ends with the command
    assert np.allclose(jax.device_get(env.carry.state.info["command"]), command.numpy())
    env.set_command(None)  # the env samples its own commands again
    for _ in range(300):
        obs, *_ = env.step(torch.zeros(env.num_envs, env.num_actions))
    assert not torch.equal(obs["policy"][:, -3:], command.expand(env.num_envs, 3))

"""play.py and the exported policy: ONNX/TorchScript parity with torch, a headless video, the sim2sim
loop in plain MuJoCo, and one clear line for each bad checkpoint a user can point at."""

import json
import re
import subprocess
import sys

import numpy as np
import onnxruntime as ort
import pytest
import torch

from cppo.config import AgentCfg, PolicyCfg, PPOCfg
from cppo.cppo.config import CPPOCfg
from cppo.dipole.config import DipoleCfg
from cppo.export import deployable, export_metadata, export_policy
from cppo.fpo.config import FPOCfg
from cppo.runs import checkpoints
from helpers import ROOT, make_algorithm, one_line_error, run_in_process, run_script, train_cartpole

OBS_DIM, NUM_ACTIONS = 7, 3


def randomized_actor(algorithm_cfg):
    """An actor whose every part matters: random weights, a trained-looking normalizer, a non-zero residual."""
    torch.manual_seed(0)
    agent = AgentCfg(algorithm=algorithm_cfg, policy=PolicyCfg(actor_hidden_dims=(32, 32), critic_hidden_dims=(16,)))
    actor = make_algorithm(agent, OBS_DIM, NUM_ACTIONS).actor
    with torch.no_grad():
        for p in actor.parameters():
            p.add_(0.3 * torch.randn_like(p))
        actor.obs_normalizer.update(3.0 + 2.0 * torch.randn(256, OBS_DIM))
    return actor


EXPORTED = {
    "cppo": CPPOCfg(flow_steps=4),
    "cppo-midpoint": CPPOCfg(integrator="midpoint"),
    "dipole": DipoleCfg(flow_steps=4, omega=1.5),
    "dipole-shared": DipoleCfg(shared_network=True, integrator="midpoint"),
    "fpo": FPOCfg(flow_steps=4, action_limit=4.0),  # a wider box: the random flow saturates ±1
    "ppo": PPOCfg(),
}


@pytest.mark.parametrize("algorithm_cfg", EXPORTED.values(), ids=EXPORTED.keys())
def test_onnx_and_torchscript_match_torch(algorithm_cfg, tmp_path):
    actor = randomized_actor(algorithm_cfg)
    algorithm = {PPOCfg: "ppo", CPPOCfg: "cppo", DipoleCfg: "dipole", FPOCfg: "fpo"}[type(algorithm_cfg)]
    onnx_path, jit_path = export_policy(actor, tmp_path, export_metadata(actor, algorithm, task="Test"))
    session, scripted = ort.InferenceSession(str(onnx_path)), torch.jit.load(str(jit_path))
    reference = deployable(actor)
    flow_inputs = ["obs", "noise"]
    names = {PPOCfg: ["obs"], CPPOCfg: flow_inputs, DipoleCfg: [*flow_inputs, "omega"], FPOCfg: flow_inputs}[
        type(algorithm_cfg)
    ]
    assert [i.name for i in session.get_inputs()] == names
    for batch in (1, 64):
        inputs = (3.0 + 2.0 * torch.randn(batch, OBS_DIM), torch.randn(batch, NUM_ACTIONS), torch.tensor(0.7))[
            : len(names)
        ]
        expected = reference(*inputs).detach()
        assert expected.shape == (batch, NUM_ACTIONS) and expected.std() > 0.05  # not a constant policy
        onnx_out = session.run(None, dict(zip(names, (x.numpy() for x in inputs), strict=True)))[0]
        assert np.abs(onnx_out - expected.numpy()).max() <= 1e-5
        assert (scripted(*inputs) - expected).abs().max() <= 1e-5
    if "omega" in names:  # ω is a live input, not a constant baked in at export
        greedier = reference(*inputs[:2], torch.tensor(3.0)).detach()
        assert (greedier - expected).abs().max() > 1e-3
        onnx_greedier = session.run(
            None, dict(zip(names, (*(x.numpy() for x in inputs[:2]), np.array(3.0, dtype=np.float32)), strict=True))
        )[0]
        # v = (1 + ω)·v⁺ − ω·v⁻ scales float32 rounding of each network by (1 + ω) + ω = 7 at ω = 3
        assert np.abs(onnx_greedier - greedier.numpy()).max() <= 1e-5 * (1 + 2 * 3.0)
    metadata = session.get_modelmeta().custom_metadata_map
    assert metadata["task"] == "Test" and metadata["algorithm"] == algorithm
    assert json.loads(metadata["obs_dim"]) == OBS_DIM and json.loads(metadata["action_dim"]) == NUM_ACTIONS
    if algorithm != "ppo":
        assert json.loads(metadata["flow_steps"]) == algorithm_cfg.flow_steps
    if algorithm == "dipole":
        assert json.loads(metadata["omega"]) == algorithm_cfg.omega
    extra = {"metadata.json": ""}
    torch.jit.load(str(jit_path), _extra_files=extra)
    assert json.loads(extra["metadata.json"]) == metadata


def test_deployed_flow_alone_equals_flow_plus_residual_once_the_residual_is_reset():
    actor = randomized_actor(CPPOCfg())
    obs, noise = torch.randn(16, OBS_DIM), torch.randn(16, NUM_ACTIONS)
    assert not torch.allclose(
        deployable(actor, residual=True)(obs, noise), deployable(actor, residual=False)(obs, noise)
    )
    actor.kernel.reset_residual()  # what every CPPO update ends with (the default loop)
    assert torch.equal(deployable(actor, residual=True)(obs, noise), deployable(actor, residual=False)(obs, noise))


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """Two iterations of the main job (CartpoleBalance, CPPO): a checkpoint that loads, not a good policy."""
    log_root = tmp_path_factory.mktemp("logs")
    run_dir = train_cartpole(log_root, "--max_iterations", "2", "env.num_envs=16", "agent.num_steps_per_env=8")
    return log_root, run_dir


def mean_return(stdout: str) -> tuple[int, float]:
    match = re.search(r"mean return over (\d+) episodes: (-?[\d.]+)", stdout)
    assert match, stdout[-3000:]
    return int(match.group(1)), float(match.group(2))


def test_headless_play_records_a_moving_video_exports_and_reports_the_return(tiny_run):
    import imageio

    log_root, run_dir = tiny_run
    result = run_script(
        "play.py",
        "--log_root",
        str(log_root),
        "--headless",
        "--video",
        "--video_length",
        "30",
        "--num_envs",
        "4",
        "env.episode_length=40",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    episodes, _ = mean_return(result.stdout)
    assert episodes == 4  # 40 steps: each of the 4 envs ended one episode
    (video,) = (run_dir / "videos" / "play").glob("*.mp4")
    # imageio's stub types memtest as its default's str; it documents bool, int, float or str
    frames = np.stack(list(imageio.v2.mimread(video, format="FFMPEG", memtest=False)))  # pyright: ignore[reportArgumentType]
    assert len(frames) == 30 and (frames != frames[:1]).any()
    metadata = ort.InferenceSession(str(run_dir / "exported" / "policy.onnx")).get_modelmeta().custom_metadata_map
    assert metadata["task"] == "CartpoleBalance" and metadata["checkpoint"] == "model_1.pt"
    assert json.loads(metadata["ctrl_dt"]) == pytest.approx(0.01)


def test_multigoal_play_draws_its_trajectories(tmp_path):
    assert (
        run_script("train.py", "--task", "MultiGoal", "--log_root", str(tmp_path), "--max_iterations", "1").returncode
        == 0
    )
    result = run_script(
        "play.py",
        "--task",
        "MultiGoal",
        "--log_root",
        str(tmp_path),
        "--checkpoint",
        "model_best.pt",
        "--video",
        "--video_length",
        "50",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (picture,) = tmp_path.glob("MultiGoal_cppo/*/videos/play/model_best.png")
    assert picture.stat().st_size > 10_000


def test_sim2sim_in_plain_mujoco_matches_play(balanced_cartpole, tmp_path):
    """The exported policy, run by examples/sim2sim_cartpole.py (MuJoCo C + onnxruntime, no JAX, no torch),
    earns about what play.py reports in MJX."""
    played = run_script("play.py", "--checkpoint", str(checkpoints(balanced_cartpole)[-1]), "--headless")
    assert played.returncode == 0, played.stderr[-3000:]
    _, play_return = mean_return(played.stdout)
    # Run the example with jax and torch made unimportable: it must not need them.
    sim2sim = subprocess.run(
        [
            sys.executable,
            "-c",
            NO_JAX_NO_TORCH,
            str(balanced_cartpole / "exported" / "policy.onnx"),
            "--episodes",
            "10",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert sim2sim.returncode == 0, sim2sim.stderr[-3000:]
    _, sim_return = mean_return(sim2sim.stdout)
    print(f"play (MJX): {play_return:.1f}, sim2sim (MuJoCo C): {sim_return:.1f}")
    # An untrained policy scores ~100-200, so agreement here is not agreement between two failures.
    assert play_return >= 800 and abs(sim_return - play_return) <= 0.03 * play_return


NO_JAX_NO_TORCH = (
    "import runpy, sys; sys.modules.update(jax=None, torch=None); "
    "sys.argv = ['sim2sim_cartpole.py'] + sys.argv[1:]; "
    "runpy.run_path('examples/sim2sim_cartpole.py', run_name='__main__')"
)


# --- bad input: one line, non-zero exit ---------------------------------------------------------------


def test_checkpoint_of_another_task_names_both_observation_sizes(tiny_run):
    _, run_dir = tiny_run
    result = run_script(
        "play.py", "--task", "AcrobotSwingup", "--checkpoint", str(run_dir / "model_1.pt"), "--headless"
    )
    one_line_error(result, 1, "CartpoleBalance", "AcrobotSwingup", "size 5", "size 6")


def test_checkpoint_of_another_algorithm_is_refused(tiny_run, capsys):
    _, run_dir = tiny_run
    result = run_in_process(
        capsys, "play.py", "--algo", "ppo", "--checkpoint", str(run_dir / "model_1.pt"), "--headless"
    )
    one_line_error(result, 1, "--algo cppo")


def test_missing_run_and_checkpoint_list_what_exists(tiny_run, capsys):
    log_root, run_dir = tiny_run
    one_line_error(
        run_in_process(capsys, "play.py", "--log_root", str(log_root), "--load_run", "nope"),
        1,
        "no run matching 'nope'",
        run_dir.name,
    )
    one_line_error(
        run_in_process(capsys, "play.py", "--log_root", str(log_root), "--checkpoint", "model_7.pt"),
        1,
        "model_0.pt, model_1.pt",
    )
    one_line_error(
        run_in_process(capsys, "play.py", "--checkpoint", str(run_dir / "model_9.pt")),
        1,
        "does not exist",
        "model_1.pt",
    )


def test_truncated_checkpoint_is_one_clear_line(tiny_run, tmp_path, capsys):
    _, run_dir = tiny_run
    broken = tmp_path / "model_5.pt"
    broken.write_bytes((run_dir / "model_1.pt").read_bytes()[:5000])
    one_line_error(
        run_in_process(capsys, "play.py", "--checkpoint", str(broken)), 1, "corrupt or truncated", str(broken)
    )


def test_command_on_a_task_without_one_is_refused(tiny_run, capsys):
    _, run_dir = tiny_run
    result = run_in_process(
        capsys, "play.py", "--checkpoint", str(run_dir / "model_1.pt"), "--headless", "--command", "1", "0", "0"
    )
    one_line_error(result, 2, "--command", "CartpoleBalance takes no velocity command")


@pytest.mark.parametrize(
    ("flags", "message"),
    [(["--noise_scale", "-0.5"], "must be ≥ 0"), (["--noise_scale", "0.5", "--stochastic"], "give one")],
)
def test_bad_noise_scale_is_a_usage_error(tiny_run, flags, message, capsys):
    _, run_dir = tiny_run
    result = run_in_process(capsys, "play.py", "--checkpoint", str(run_dir / "model_1.pt"), "--headless", *flags)
    one_line_error(result, 2, "--noise_scale", message)


def test_stochastic_play_samples_the_training_policy_and_noise_scale_the_deployed_one(tiny_run, tmp_path):
    """CPPO trains on kernel samples a ~ N(μ(s, a0), σ²) with σ ≈ 1 this early, which leave the action box; the
    deployed policy clips μ. --stochastic must replay the former (its return is the training return), --noise_scale
    the latter."""
    from cppo.dataset import read_transitions

    _, run_dir = tiny_run
    actions = {}
    for name, flags in (("training", ["--stochastic"]), ("deployed", ["--noise_scale", "1"])):
        data = tmp_path / f"{name}.pt"
        result = run_script(
            "play.py", "--checkpoint", str(run_dir / "model_1.pt"), "--headless", "--num_envs", "16",
            "--steps", "20", "--record", str(data), *flags,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:]
        actions[name] = read_transitions(data).actions
    assert actions["deployed"].abs().max() <= 1.0
    assert (actions["training"].abs() > 1.0).float().mean() > 0.05

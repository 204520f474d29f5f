"""From the export alone to a robot loop: deploy.yaml describes Go1 as the env simulates it, and
examples/sim2sim_go1.py rebuilds the env's observations from MjData and gets play.py's actions."""

import importlib.util
import json
from operator import attrgetter
from typing import Any

import numpy as np
import pytest
import yaml

from helpers import ROOT, run_script

GO1 = "Go1JoystickFlatTerrain"
COMMAND = (0.5, 0.0, 0.2)


def load_example():
    spec = importlib.util.spec_from_file_location("sim2sim_go1", ROOT / "examples" / "sim2sim_go1.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def exported(go1_run):
    """The one-iteration Go1 run (conftest), exported by play.py."""
    root, task = go1_run
    played = run_script("play.py", *task, "--export_only")
    assert played.returncode == 0, played.stderr[-3000:]
    (folder,) = root.glob(f"{GO1}_cppo/*/exported")
    return folder


@pytest.fixture(scope="module")
def env(menagerie_dir):
    """One Go1 env, noise and randomization off, shared by this module's tests (each sets what it needs)."""
    return go1_env(menagerie_dir)


def go1_env(menagerie_dir) -> Any:
    import tasks
    from envs import make_env

    spec = tasks.get_task(GO1)
    cfg = spec.env_cfg()
    cfg.num_envs, cfg.menagerie_dir = 1, str(menagerie_dir)
    cfg.observation_noise, cfg.domain_randomization = False, False
    return make_env(spec, cfg, "cpu")


def test_deploy_yaml_describes_go1_as_the_env_simulates_it(exported, menagerie_dir, env):
    deploy = yaml.safe_load((exported / "deploy.yaml").read_text())
    model = env.mj_model
    joints = deploy["joints"]
    assert joints["names"] == [model.joint(int(model.actuator_trnid[i, 0])).name for i in range(model.nu)]
    assert len(joints["names"]) == 12 and joints["names"][0] == "FR_hip_joint"
    assert np.allclose(joints["default_position"], model.keyframe("home").qpos[7:], atol=1e-6)
    assert {a["kind"] for a in joints["actuators"]} == {"position"}
    assert all(a["kp"] == 35.0 and a["joint_damping"] == 0.5 for a in joints["actuators"])  # Playground's Kp, Kd
    assert deploy["action"]["action_scale"] == 0.5 and deploy["substeps"] == 5
    assert deploy["ctrl_dt"] == pytest.approx(0.02) and deploy["sim_dt"] == pytest.approx(0.004)
    assert deploy["observation"]["size"] == env.get_observations()["policy"].shape[1] == 48
    assert deploy["command"]["range"] == [[-1.5, 1.5], [-0.8, 0.8], [-1.2, 1.2]]
    assert "zeros" in deploy["policy"]["inputs"]["noise"]
    # The same description rides inside the ONNX file.
    import onnx

    metadata = {p.key: p.value for p in onnx.load(str(exported / "policy.onnx")).metadata_props}
    assert json.loads(metadata["joints"]) == joints and json.loads(metadata["observation"]) == deploy["observation"]

    # The example's model, from files and deploy.yaml's gains, is the env's.
    rebuilt = load_example().robot_model(deploy, menagerie_dir)
    for field in ("actuator_gainprm", "actuator_biasprm", "dof_damping", "dof_armature", "body_mass", "opt.timestep"):
        ours, theirs = (np.asarray(attrgetter(field)(m)) for m in (rebuilt, model))
        assert ours.shape == theirs.shape and np.allclose(ours, theirs), field


def test_the_example_rebuilds_the_envs_observations_and_gets_play_actions(exported, menagerie_dir, env):
    import jax
    import mujoco
    import torch

    sim2sim = load_example()
    deploy = yaml.safe_load((exported / "deploy.yaml").read_text())
    model = sim2sim.robot_model(deploy, menagerie_dir)
    observe, onnx_policy = sim2sim.Observer(model, deploy), sim2sim.Policy(exported / "policy.onnx")
    played = torch.jit.load(str(exported / "policy.pt"))  # the module play.py runs, traced
    env.set_command(COMMAND)
    env.reset()
    obs, *_ = env.step(torch.zeros(1, env.num_actions))  # from here on the observation carries COMMAND
    actions = [np.zeros(env.num_actions)] * 2  # the last two, oldest first: the observation holds the older
    data = mujoco.MjData(model)
    worst_obs = worst_action = 0.0
    for _ in range(50):
        state = jax.device_get(env.carry.state.data)
        for field in ("qpos", "qvel", "sensordata", "site_xmat"):  # what a state estimate would provide
            getattr(data, field)[:] = np.asarray(getattr(state, field)[0]).reshape(getattr(data, field).shape)
        env_obs = obs["policy"][0].numpy()
        worst_obs = max(worst_obs, float(np.abs(observe(data, actions[0], np.asarray(COMMAND)) - env_obs).max()))
        action = onnx_policy(env_obs)
        with torch.no_grad():
            expected = played(obs["policy"][:1], torch.zeros(1, env.num_actions))[0].numpy()
        worst_action = max(worst_action, float(np.abs(action - expected).max()))
        obs, _, dones, _ = env.step(torch.as_tensor(action)[None])
        actions = [actions[1], np.clip(action, -1.0, 1.0)]
        assert not dones[0], "the episode ended within 50 steps: pick a calmer command"
    assert worst_obs <= 1e-4, worst_obs
    assert worst_action <= 1e-5, worst_action


@pytest.mark.slow
def test_a_trained_cpu_policy_tracks_alike_in_sim2sim_and_in_the_env(menagerie_dir, tmp_path):
    """A CPU-trained checkpoint (30 iterations: it stands and shuffles, it does not walk), its tracking error
    of the commanded velocity over 5 s in the example's loop against the env's, from the same state: within
    0.1 m/s and 0.1 rad/s, and neither falls."""
    import mujoco
    import torch

    task = ["--task", GO1, "--menagerie_dir", str(menagerie_dir), "--log_root", str(tmp_path)]
    trained = run_script("train.py", *task, "--max_iterations", "30", timeout=1800)
    assert trained.returncode == 0, trained.stderr[-3000:]
    assert run_script("play.py", *task, "--export_only").returncode == 0
    (exported,) = tmp_path.glob(f"{GO1}_cppo/*/exported")
    env = go1_env(menagerie_dir)
    env.set_command(COMMAND)
    loop = load_example().RobotLoop(exported, menagerie_dir, COMMAND)
    state = env.physics_state(0)
    loop.data.qpos[:], loop.data.qvel[:] = state["qpos"], state["qvel"]
    mujoco.mj_forward(loop.model, loop.data)
    obs, *_ = env.step(torch.zeros(1, env.num_actions))
    env_errors, loop_errors = [], []
    for _ in range(250):
        env_errors.append(loop.tracking_error(obs["policy"][0].numpy()))
        obs, _, dones, _ = env.step(torch.as_tensor(loop.policy(obs["policy"][0].numpy()))[None])
        loop_errors.append(loop.tracking_error(loop.step()))
        assert not dones[0], "the policy fell in the env"
    assert loop.data.qpos[2] > 0.15, "the policy fell in plain MuJoCo"
    gap = np.abs(np.mean(env_errors[50:], axis=0) - np.mean(loop_errors[50:], axis=0))
    assert gap.max() < 0.1, (np.mean(env_errors[50:], axis=0), np.mean(loop_errors[50:], axis=0))


# --- "it walks": the sim2sim check issue 32's shipped policy must pass -------------------------------------

SHIPPED = ROOT / "pretrained" / "go1_cppo" / "exported"
WALK_COMMANDS = [(0.5, 0.0, 0.0), (0.3, 0.0, 0.5)]  # forward; forward while turning


def standing_export(exported, folder):
    """A copy of an export whose policy holds the default pose (actions = 0 whatever it observes): a robot that
    stands and never walks."""
    import shutil

    import onnx
    from onnx import TensorProto, helper

    folder.mkdir()
    shutil.copy(exported / "deploy.yaml", folder / "deploy.yaml")
    actions = 12
    graph = helper.make_graph(
        [helper.make_node("Mul", ["noise", "zero"], ["actions"])],
        "stand",
        [helper.make_tensor_value_info("obs", TensorProto.FLOAT, ["batch", 48]),
         helper.make_tensor_value_info("noise", TensorProto.FLOAT, ["batch", actions])],
        [helper.make_tensor_value_info("actions", TensorProto.FLOAT, ["batch", actions])],
        [helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0])],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    helper.set_model_props(model, {"action_dim": str(actions)})
    onnx.save(model, str(folder / "policy.onnx"))
    return folder


def test_the_walking_check_fails_a_policy_that_stands_or_falls(exported, menagerie_dir, tmp_path):
    example = load_example()
    standing = standing_export(exported, tmp_path / "standing")
    stood = example.run(standing, WALK_COMMANDS[0], 20.0, menagerie_dir)
    assert not stood["fell"] and abs(stood["vx"]) < 0.05, stood  # it does stand, in place
    assert [f for f in example.walking_failures(stood, WALK_COMMANDS[0]) if f.startswith("mean vx")]
    for command in WALK_COMMANDS:  # the one-iteration policy: neither walks
        assert example.walking_failures(example.run(exported, command, 20.0, menagerie_dir), command)
        assert example.walking_failures(example.run(standing, command, 20.0, menagerie_dir), command)


@pytest.mark.skipif(not SHIPPED.is_dir(), reason="no shipped Go1 policy yet: it trains on a GPU (issue 32)")
@pytest.mark.parametrize("command", WALK_COMMANDS)
def test_the_shipped_go1_policy_walks_in_plain_mujoco(command, menagerie_dir):
    example = load_example()
    result = example.run(SHIPPED, command, 20.0, menagerie_dir)
    assert not example.walking_failures(result, command), result

"""Run an exported legged policy (Go1JoystickFlatTerrain, any algorithm) in plain MuJoCo from its export
alone — no JAX, no torch, no Playground: the shape of the robot loop.

    python play.py --task Go1JoystickFlatTerrain --export_only          # writes <run>/exported/
    python examples/sim2sim_go1.py logs/Go1JoystickFlatTerrain_cppo/<run>/exported --command 0.5 0 0

It reads <exported>/deploy.yaml (joints, default pose, gains, action scale, observation layout, control
period) and <exported>/policy.onnx (onnxruntime, one thread), and builds the robot model from files:
Playground's scene XML and the menagerie's Go1 meshes (`--menagerie_dir`), with deploy.yaml's gains.
Every control period: read the robot's state → build the observation → run the policy → set the joint
targets → `substeps` physics steps. On a robot, `Observer` reads the state estimate instead of MjData
and `JointTargets` sends to the motor drivers instead of MjData.ctrl; nothing else changes.
Prints how well the base tracked the commanded velocity; opens MuJoCo's viewer when there is a display.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import time
from pathlib import Path

import mujoco
import numpy as np
import onnxruntime as ort
import yaml


class Observer:
    """The policy observation, built from MjData as deploy.yaml's `observation.layout` says."""

    def __init__(self, model: mujoco.MjModel, deploy: dict):
        joints = deploy["joints"]
        self.qpos_index, self.qvel_index = joints["qpos_index"], joints["qvel_index"]
        self.default_position = np.asarray(joints["default_position"])
        self.layout, self.model = deploy["observation"]["layout"], model

    def read(self, source: str, data: mujoco.MjData, previous_action: np.ndarray, command: np.ndarray) -> np.ndarray:
        kind, _, name = source.partition(":")
        if kind == "sensor":
            sensor = self.model.sensor(name)
            return data.sensordata[sensor.adr[0] : sensor.adr[0] + sensor.dim[0]]
        if kind == "gravity_in_site":
            return data.site_xmat[self.model.site(name).id].reshape(3, 3).T @ np.array([0.0, 0.0, -1.0])
        if kind == "joint_position_offset":
            return data.qpos[self.qpos_index] - self.default_position
        if kind == "joint_velocity":
            return data.qvel[self.qvel_index]
        if kind == "previous_action":
            return previous_action
        if kind == "command":
            return command
        raise ValueError(f"deploy.yaml names an observation source this loop does not know: {source}")

    def __call__(self, data: mujoco.MjData, previous_action: np.ndarray, command: np.ndarray) -> np.ndarray:
        """`previous_action`: the policy's output of two calls ago (deploy.yaml's previous_action)."""
        parts = [self.read(entry["source"], data, previous_action, command) for entry in self.layout]
        return np.concatenate(parts).astype(np.float32)


class Policy:
    """policy.onnx on one CPU thread, batch 1, deterministic (a flow policy's noise input is zeros)."""

    def __init__(self, path: Path):
        options = ort.SessionOptions()
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        meta = self.session.get_modelmeta().custom_metadata_map
        self.action_dim = int(meta["action_dim"])
        self.extra = {"noise": np.zeros((1, self.action_dim), np.float32)}
        if "omega" in meta:
            self.extra["omega"] = np.asarray(float(meta["omega"]), np.float32)  # DIPOLE: the training greediness
        self.inputs = [i.name for i in self.session.get_inputs()]

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        feed = {name: obs[None] if name == "obs" else self.extra[name] for name in self.inputs}
        return np.asarray(self.session.run(["actions"], feed)[0])[0]


class JointTargets:
    """deploy.yaml's action rule: target = default_position + action_scale · clip(action, −1, 1)."""

    def __init__(self, deploy: dict):
        self.default_position = np.asarray(deploy["joints"]["default_position"])
        self.scale, self.clip = float(deploy["action"]["action_scale"]), float(deploy["action_clip"])

    def __call__(self, action: np.ndarray) -> np.ndarray:
        return self.default_position + self.scale * np.clip(action, -self.clip, self.clip)


def load(exported: Path, menagerie_dir: Path) -> tuple[dict, mujoco.MjModel]:
    deploy = yaml.safe_load((exported / "deploy.yaml").read_text())
    if deploy.get("observation") is None:
        raise SystemExit(f"{exported}/deploy.yaml describes no observation layout for {deploy.get('env_id')}")
    return deploy, robot_model(deploy, menagerie_dir)


def robot_model(deploy: dict, menagerie_dir: Path) -> mujoco.MjModel:
    """The env's model from files — Playground's scene XML, the menagerie's meshes — with deploy.yaml's
    gains applied, as the env applies them in code (what a robot's motor drivers are set to)."""
    package = importlib.util.find_spec("mujoco_playground")
    if package is None or not package.submodule_search_locations:
        raise SystemExit("the scene XML comes with MuJoCo Playground's files: pip install playground")
    xml = Path(package.submodule_search_locations[0]) / deploy["model"]["playground_xml"]
    robot = menagerie_dir / deploy["model"]["menagerie_robot"]
    if not robot.is_dir():
        raise SystemExit(f"{robot} not found: pass --menagerie_dir (the folder of mujoco_menagerie robots)")
    assets = {}
    for folder in (xml.parent, xml.parent / "assets", robot, robot / "assets"):
        assets.update({f.name: f.read_bytes() for f in folder.glob("*") if f.is_file()})
    model = mujoco.MjModel.from_xml_string(xml.read_text(), assets)
    for index, actuator in enumerate(deploy["joints"]["actuators"]):
        dof = model.jnt_dofadr[model.actuator_trnid[index, 0]]
        if actuator["kind"] == "position":
            model.actuator_gainprm[index, 0] = actuator["kp"]
            model.actuator_biasprm[index, 1:3] = (-actuator["kp"], -actuator["kv"])
        model.dof_damping[dof], model.dof_armature[dof] = actuator["joint_damping"], actuator["joint_armature"]
    return model


class RobotLoop:
    """One control period at a time: observe → policy → joint targets → `substeps` physics steps."""

    def __init__(self, exported: Path, menagerie_dir: Path, command):
        self.deploy, self.model = load(exported, menagerie_dir)
        self.data = mujoco.MjData(self.model)
        if self.model.nkey and self.model.key("home") is not None:
            mujoco.mj_resetDataKeyframe(self.model, self.data, self.model.key("home").id)  # where Go1 starts
        mujoco.mj_forward(self.model, self.data)
        self.observe, self.targets = Observer(self.model, self.deploy), JointTargets(self.deploy)
        self.policy = Policy(exported / "policy.onnx")
        self.command = np.asarray(command, np.float64)
        self.actions = [np.zeros(self.policy.action_dim)] * 2  # the last two outputs, oldest first
        self.latencies: list[float] = []
        self.layout = {entry["name"]: entry for entry in self.deploy["observation"]["layout"]}

    def step(self) -> np.ndarray:
        """Run one control period; returns the observation the policy acted on."""
        obs = self.observe(self.data, self.actions[0], self.command)
        started = time.perf_counter()
        action = self.policy(obs)
        self.latencies.append(time.perf_counter() - started)
        self.data.ctrl[:] = self.targets(action)
        for _ in range(self.deploy["substeps"]):
            mujoco.mj_step(self.model, self.data)
        self.actions = [self.actions[1], np.clip(action, -self.targets.clip, self.targets.clip)]
        return obs

    def velocities(self, obs: np.ndarray) -> tuple[float, float, float]:
        """Forward and lateral speed (m/s) and yaw rate (rad/s) in the base frame, as the observation reads them."""
        velocity = obs[self.layout["base_linear_velocity"]["start"] :]
        return float(velocity[0]), float(velocity[1]), float(obs[self.layout["base_angular_velocity"]["start"] + 2])

    def upright(self, obs: np.ndarray) -> float:
        """cos of the base's tilt: 1 standing level, 0 on its side, −1 on its back."""
        return float(-obs[self.layout["projected_gravity"]["start"] + 2])

    def tracking_error(self, obs: np.ndarray) -> list[float]:
        """|vx − cmd|, |vy − cmd|, |yaw rate − cmd| as the observation reads them (base frame)."""
        velocity = obs[self.layout["base_linear_velocity"]["start"] :][:2]
        yaw_rate = obs[self.layout["base_angular_velocity"]["start"] + 2]
        return [*np.abs(velocity - self.command[:2]), abs(yaw_rate - self.command[2])]


FALLEN = 0.5
"""A base tilted more than 60° (cos < 0.5) has fallen."""
WALKS = {"vx": 0.1, "yaw_rate": 0.2}
"""How close the mean forward speed (m/s) and yaw rate (rad/s) must be to the command for "it walks" (issue 32)."""


def walking_failures(result: dict, command) -> list[str]:
    """Why a run of `run` does not count as walking on `command` (empty: it walks): a fall, or a mean forward speed
    or yaw rate off the command by more than WALKS allows."""
    failures = ["fell"] if result["fell"] else []
    for key, target in (("vx", command[0]), ("yaw_rate", command[2])):
        if abs(result[key] - target) > WALKS[key]:
            failures.append(f"mean {key} {result[key]:.2f}, command {target:.2f}")
    return failures


def run(exported: Path, command, seconds: float, menagerie_dir: Path, viewer: bool = False) -> dict:
    loop = RobotLoop(exported, menagerie_dir, command)
    window = None
    if viewer:
        from mujoco import viewer as mujoco_viewer

        window = mujoco_viewer.launch_passive(loop.model, loop.data)
    errors, velocities, upright = [], [], []
    for _ in range(round(seconds / loop.deploy["ctrl_dt"])):
        obs = loop.step()
        errors.append(loop.tracking_error(obs))
        velocities.append(loop.velocities(obs))
        upright.append(loop.upright(obs))
        if window is not None:
            if not window.is_running():
                break
            window.sync()
            time.sleep(loop.deploy["ctrl_dt"])
    settled = np.asarray(errors)[len(errors) // 5 :]  # after the first fifth: starting from standing
    moving = np.asarray(velocities)[len(errors) // 5 :]
    return {
        "steps": len(errors),
        "vx": float(moving[:, 0].mean()),
        "yaw_rate": float(moving[:, 2].mean()),
        "fell": bool(min(upright) < FALLEN),
        "vx_error": float(settled[:, 0].mean()),
        "vy_error": float(settled[:, 1].mean()),
        "yaw_rate_error": float(settled[:, 2].mean()),
        "base_height": float(loop.data.qpos[2]),
        "policy_ms_median": 1e3 * float(np.median(loop.latencies)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="An exported Go1 policy in plain MuJoCo, from its export alone")
    parser.add_argument("exported", type=Path, help="a run's exported/ folder (play.py writes it)")
    parser.add_argument("--command", nargs=3, type=float, default=(0.5, 0.0, 0.0), metavar=("VX", "VY", "YAW"))
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--menagerie_dir",
        type=Path,
        default=Path(
            os.environ.get("CPPO_MENAGERIE_DIR", Path(__file__).resolve().parents[2] / "shared" / "menagerie")
        ),
        help="folder of mujoco_menagerie robots (default: $CPPO_MENAGERIE_DIR, else ../shared/menagerie)",
    )
    parser.add_argument("--headless", action="store_true", help="no viewer even when there is a display")
    args = parser.parse_args()
    if not (args.exported / "deploy.yaml").is_file():
        raise SystemExit(f"{args.exported}/deploy.yaml not found: run play.py --export_only on the run first")
    viewer = not args.headless and bool(os.environ.get("DISPLAY"))
    result = run(args.exported, args.command, args.seconds, args.menagerie_dir, viewer)
    print(
        f"{result['steps']} steps with command {tuple(args.command)}: mean tracking error vx {result['vx_error']:.3f} "
        f"m/s, vy {result['vy_error']:.3f} m/s, yaw rate {result['yaw_rate_error']:.3f} rad/s; base height at the "
        f"end {result['base_height']:.3f} m; policy {result['policy_ms_median']:.3f} ms per call (median)"
    )
    failures = walking_failures(result, args.command)
    print("it walks" if not failures else f"it does not walk: {'; '.join(failures)}")


if __name__ == "__main__":
    main()

"""What robot-side code must reproduce of a Playground env, written beside every export (deploy.yaml and
the ONNX metadata): control timing, the actuated joints in action order with their default pose and
gains, how an action becomes an actuator command, and the observation layout.

Everything is read from the env's model and config. Only the observation layout and the action rule
depend on how an env class writes `_get_obs` and `step`; they are described per env class below
(OBSERVATIONS), and checked against the env by tests/test_deploy.py — an env class not listed gets the
timing, joints and gains, and `observation: null`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

# Per Playground env class (module, class): the policy observation, in order, as (name, source, noise
# scale key in the config's noise_config.scales). Sources say how to read it from MuJoCo's MjData:
#   sensor:NAME          d.sensordata of sensor NAME
#   gravity_in_site:NAME the world's -z axis in site NAME's frame: d.site_xmat[NAME].reshape(3, 3).T @ (0, 0, -1)
#   joint_position_offset  d.qpos of the actuated joints − default_position
#   joint_velocity       d.qvel of the actuated joints
#   previous_action      the policy's output of two calls ago (zeros at reset): Playground's Go1 builds the
#                        observation before it records the action just applied, so the newest one is missing
#   command              the velocity command (vx m/s, vy m/s, yaw rate rad/s)
# Each sensor and joint reading is taken after the control period's last mj_step, as the env does.
GO1_JOYSTICK = (
    ("base_linear_velocity", "sensor:local_linvel", "linvel"),
    ("base_angular_velocity", "sensor:gyro", "gyro"),
    ("projected_gravity", "gravity_in_site:imu", "gravity"),
    ("joint_position_offset", "joint_position_offset", "joint_pos"),
    ("joint_velocity", "joint_velocity", "joint_vel"),
    ("previous_action", "previous_action", None),
    ("command", "command", None),
)
OBSERVATIONS = {
    ("mujoco_playground._src.locomotion.go1.joystick", "Joystick"): GO1_JOYSTICK,
}
SOURCE_SIZES = {"sensor": None, "gravity_in_site": 3, "command": 3}


def describe(env, model, config) -> dict[str, Any]:
    """The deployment description of a Playground env instance (`env.unwrapped` of PlaygroundVecEnv)."""
    import mujoco

    ctrl_dt = float(env.dt)
    sim_dt = float(model.opt.timestep)
    description: dict[str, Any] = {
        "format": "cppo-deploy-v1",
        "env_id": None,  # filled in by the VecEnv
        "ctrl_dt": ctrl_dt,
        "sim_dt": sim_dt,
        "substeps": round(ctrl_dt / sim_dt),
        "action_clip": 1.0,
    }
    joints = [int(model.actuator_trnid[i, 0]) for i in range(model.nu)]
    names = [mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_JOINT, j) for j in joints]
    default_pose = getattr(env, "_default_pose", None)
    default = [num(x) for x in default_pose] if default_pose is not None else None
    description["joints"] = {
        "names": names,
        "qpos_index": [int(model.jnt_qposadr[j]) for j in joints],
        "qvel_index": [int(model.jnt_dofadr[j]) for j in joints],
        "default_position": default,
        "actuators": [actuator(model, i) for i in range(model.nu)],
    }
    if "action_scale" in config and default is not None:
        description["action"] = {
            "rule": "ctrl = default_position + action_scale * clip(action, -1, 1), held for `substeps` mj_steps",
            "action_scale": float(config.action_scale),
        }
    else:
        description["action"] = {"rule": "ctrl = clip(action, -1, 1), held for `substeps` mj_steps"}
    xml_path = getattr(env, "xml_path", None)
    if xml_path is not None:
        # Where the model comes from, as files (robot-side code imports no Playground): the scene XML inside
        # the mujoco_playground package, the meshes from the menagerie robot folder. The gains above are
        # what Playground sets in code on top of the XML.
        import mujoco_playground

        package = Path(mujoco_playground.__file__).parent
        description["model"] = {"playground_xml": str(Path(xml_path).resolve().relative_to(package.resolve()))}
    layout = OBSERVATIONS.get((type(env).__module__, type(env).__name__))
    description["observation"] = observation_layout(layout, model, config, len(joints)) if layout else None
    if "command_config" in config:
        amplitude = [float(a) for a in config.command_config.a]
        description["command"] = {
            "names": ["vx (m/s, forward)", "vy (m/s, left)", "yaw rate (rad/s)"],
            "range": [[-a, a] for a in amplitude],
        }
    return description


def actuator(model, index: int) -> dict[str, Any]:
    """An actuator as the model defines it: a position servo (kp, kd) or a motor (gear), with its ranges."""
    import mujoco

    bias = model.actuator_biasprm[index]
    dof = model.jnt_dofadr[model.actuator_trnid[index, 0]]
    entry: dict[str, Any] = {"name": mujoco.mj_id2name(model, mujoco.mjtObj.mjOBJ_ACTUATOR, index)}
    if model.actuator_biastype[index] == mujoco.mjtBias.mjBIAS_AFFINE and bias[1] != 0:
        # MuJoCo's <position kp kv>: force = kp (ctrl − q) − kv q̇; the joint's own damping adds − damping q̇,
        # so a robot's PD servo wants kp and kd = kv + damping.
        entry.update(kind="position", kp=num(model.actuator_gainprm[index, 0]), kv=num(-bias[2]))
    else:
        entry.update(kind="motor", gear=num(model.actuator_gear[index, 0]))
    entry.update(joint_damping=num(model.dof_damping[dof]), joint_armature=num(model.dof_armature[dof]))
    if model.actuator_ctrllimited[index]:
        entry["ctrl_range"] = [num(x) for x in model.actuator_ctrlrange[index]]
    if model.actuator_forcelimited[index]:
        entry["force_range"] = [num(x) for x in model.actuator_forcerange[index]]
    return entry


def num(x) -> float:
    """A model number as YAML shows it best (float32 values carry noise past the 6th decimal)."""
    return round(float(x), 6) + 0.0  # + 0.0: no "-0.0"


def observation_layout(layout, model, config, num_joints: int) -> dict[str, Any]:
    import mujoco

    noise = config.get("noise_config")
    entries, start = [], 0
    for name, source, noise_key in layout:
        kind, _, target = source.partition(":")
        if kind == "sensor":
            size = int(model.sensor_dim[mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SENSOR, target)])
        else:
            size = SOURCE_SIZES.get(kind) or num_joints
        entry = {"name": name, "source": source, "start": start, "size": size}
        if noise is not None and noise_key is not None:
            # Training adds uniform noise of ± level × scale; deployment reads the plain value.
            entry["training_noise"] = num(float(noise.level) * float(noise.scales[noise_key]))
        entries.append(entry)
        start += size
    return {"group": "policy", "size": start, "layout": entries}


def write_file(directory, description: dict):
    """deploy.yaml beside the exported policy (atomically: a reader never sees half a file)."""
    import yaml

    from cppo.files import atomic_path

    path = Path(directory) / "deploy.yaml"
    with atomic_path(path) as tmp:
        Path(tmp).write_text(yaml.safe_dump(description, sort_keys=False, default_flow_style=None, width=110))
    return path

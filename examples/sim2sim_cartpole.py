"""Run an exported CartpoleBalance policy in plain MuJoCo — no JAX, no torch: the shape of robot-side code.

    python examples/sim2sim_cartpole.py logs/CartpoleBalance_cppo/<run>/exported/policy.onnx

The policy was trained in MJX (MuJoCo Playground); here the same model file runs in MuJoCo's C engine,
observations are read from MjData and the network runs in onnxruntime. Observations and reward
re-implement Playground's CartpoleBalance (dm_control's balance task) in numpy, so the printed mean
return is comparable with what play.py reports for the same checkpoint.
A robot loop is the same: read sensors → build the observation → session.run → clip → send commands.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
from pathlib import Path
from typing import cast

import mujoco
import numpy as np
import onnxruntime as ort


def cartpole_model() -> mujoco.MjModel:
    """Playground's cartpole.xml and its include files, found without importing Playground (or JAX)."""
    spec = importlib.util.find_spec("mujoco_playground")
    if spec is None or spec.submodule_search_locations is None:
        raise SystemExit("the model files come with MuJoCo Playground: pip install playground")
    xmls = Path(spec.submodule_search_locations[0]) / "_src" / "dm_control_suite" / "xmls"
    assets = {f.name: f.read_bytes() for f in (xmls / "common").iterdir() if f.is_file()}
    return mujoco.MjModel.from_xml_string((xmls / "cartpole.xml").read_text(), assets)


def tolerance(x, margin: float, sigmoid: str = "gaussian", value_at_margin: float = 0.1):
    """dm_control's rewards.tolerance with bounds (0, 0): 1 at x = 0, decaying to value_at_margin at |x| = margin."""
    d = np.abs(x) / margin
    if sigmoid == "gaussian":
        return np.exp(-0.5 * (d * np.sqrt(-2 * np.log(value_at_margin))) ** 2)
    scaled = d * np.sqrt(1 - value_at_margin)  # quadratic
    return np.where(np.abs(scaled) < 1, 1 - scaled**2, 0.0)


def observation(data: mujoco.MjData) -> np.ndarray:
    """[cart position, cos and sin of the pole angle, velocities] — Playground's Balance._get_obs."""
    pole_xmat = data.xmat[2:].reshape(-1, 3, 3)
    return np.concatenate([data.qpos[:1], pole_xmat[:, 2, 2], pole_xmat[:, 0, 2], data.qvel]).astype(np.float32)


def reward(data: mujoco.MjData, action: np.ndarray) -> float:
    """Playground's Balance._dense_reward: upright · centered · small control · small velocity."""
    upright = (data.xmat[2].reshape(3, 3)[2, 2] + 1) / 2
    centered = (1 + tolerance(data.qpos[0], margin=2)) / 2
    small_control = (4 + tolerance(action[0], margin=1, sigmoid="quadratic", value_at_margin=0)) / 5
    small_velocity = (1 + tolerance(data.qvel[1:], margin=5).min()) / 2
    return float(upright * centered * small_control * small_velocity)


def reset(model: mujoco.MjModel, data: mujoco.MjData, rng: np.random.Generator) -> None:
    """Playground's Balance reset: cart near the centre, pole near upright, tiny velocities."""
    mujoco.mj_resetData(model, data)
    data.qpos[0] = rng.uniform(-0.1, 0.1)
    data.qpos[1:] = rng.uniform(-0.034, 0.034, model.nq - 1)
    data.qvel[:] = 0.01 * rng.standard_normal(model.nv)
    mujoco.mj_forward(model, data)


def run(policy_path: str, episodes: int = 10, steps: int = 1000, seed: int = 0) -> list[float]:
    session = ort.InferenceSession(policy_path, providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    inputs = {i.name for i in session.get_inputs()}
    action_dim, ctrl_dt = int(meta["action_dim"]), float(json.loads(meta.get("ctrl_dt", "0.01")))
    clip = float(json.loads(meta.get("action_clip", "1.0")))
    print(f"policy: {meta.get('algorithm')} trained on {meta.get('task')}, inputs {sorted(inputs)}, ctrl_dt {ctrl_dt}")

    model = cartpole_model()
    substeps = max(1, round(ctrl_dt / model.opt.timestep))
    data, rng = mujoco.MjData(model), np.random.default_rng(seed)
    noise = np.zeros((1, action_dim), np.float32)  # ε = 0: the deterministic flow policy
    returns = []
    for _ in range(episodes):
        reset(model, data, rng)
        total = 0.0
        for _ in range(steps):
            feed = {"obs": observation(data)[None]}
            if "noise" in inputs:
                feed["noise"] = noise
            actions = cast(np.ndarray, session.run(None, feed)[0])  # a dense tensor output
            action = np.clip(actions[0], -clip, clip)
            data.ctrl[:] = action
            mujoco.mj_step(model, data, nstep=substeps)
            total += reward(data, action)
        returns.append(total)
    return returns


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("policy", help="exported policy.onnx of a CartpoleBalance run")
    parser.add_argument("--episodes", type=int, default=10)
    parser.add_argument("--steps", type=int, default=1000, help="steps per episode (Playground's episode length)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    returns = run(args.policy, args.episodes, args.steps, args.seed)
    print(f"sim2sim mean return over {len(returns)} episodes: {np.mean(returns):.2f} (std {np.std(returns):.2f})")


if __name__ == "__main__":
    main()

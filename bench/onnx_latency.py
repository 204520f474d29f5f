"""What one control step of an exported policy costs on a robot's CPU: onnxruntime, one thread, batch 1.

    python bench/onnx_latency.py                      # Go1JoystickFlatTerrain's sizes, all algorithms
    python bench/onnx_latency.py --calls 20000 --task G1JoystickFlatTerrain --obs_dim 103 --action_dim 29

Exports PPO, CPPO with K = 4, 8, 16 flow steps, and DIPOLE (its default K) at the task's network sizes
(random weights: latency does not depend on them), then times `session.run` per call, interleaving the
policies round by round so that machine noise hits them alike. Prints a Markdown table (median, p99 per
call, and the ratio to PPO's median).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a clone, like the other benches


def export(task: str, algo: str, obs_dim: int, action_dim: int, folder: Path, **fields) -> Path:
    import tasks
    from cppo.algorithms import build_without_env
    from cppo.export import export_metadata, export_policy

    agent = tasks.get_task(task).agent_cfg(algo)
    for name, value in fields.items():
        setattr(agent.algorithm, name, value)
    actor = build_without_env(agent, obs_dim, action_dim).actor
    onnx_path, _ = export_policy(actor, folder, export_metadata(actor, algo, task=task))
    return onnx_path


def session(path: Path):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def main() -> None:
    parser = argparse.ArgumentParser(description="Latency of exported policies: onnxruntime, one thread, batch 1")
    parser.add_argument("--task", default="Go1JoystickFlatTerrain")
    parser.add_argument("--obs_dim", type=int, default=48, help="Go1 joystick: 48")
    parser.add_argument("--action_dim", type=int, default=12, help="Go1: 12 joints")
    parser.add_argument("--calls", type=int, default=5000, help="timed calls per policy")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(1)
    variants = {"ppo": ("ppo", {}), **{f"cppo K={k}": ("cppo", {"flow_steps": k}) for k in (4, 8, 16)}}
    variants["dipole"] = ("dipole", {})
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        sessions, feeds, steps = {}, {}, {}
        for label, (algo, fields) in variants.items():
            path = export(args.task, algo, args.obs_dim, args.action_dim, Path(tmp) / label.replace(" ", ""), **fields)
            sessions[label] = session(path)
            meta = sessions[label].get_modelmeta().custom_metadata_map
            steps[label] = meta.get("flow_steps", "-")
            feed = {"obs": rng.standard_normal((1, args.obs_dim)).astype(np.float32)}
            names = [i.name for i in sessions[label].get_inputs()]
            if "noise" in names:
                feed["noise"] = np.zeros((1, args.action_dim), np.float32)
            if "omega" in names:
                feed["omega"] = np.asarray(float(meta["omega"]), np.float32)
            feeds[label] = feed
        times = {label: [] for label in variants}
        for label in variants:  # warm up
            for _ in range(200):
                sessions[label].run(None, feeds[label])
        for _ in range(args.calls // 100):
            for label in variants:
                run, feed = sessions[label].run, feeds[label]
                for _ in range(100):
                    started = time.perf_counter()
                    run(None, feed)
                    times[label].append(time.perf_counter() - started)
    ppo = float(np.median(times["ppo"]))
    print(f"{args.task} sizes (obs {args.obs_dim}, actions {args.action_dim}), onnxruntime 1 thread, batch 1, "
          f"{args.calls} calls each\n")  # fmt: skip
    print("| policy | flow steps | median ms | p99 ms | median / PPO |")
    print("|---|---:|---:|---:|---:|")
    for label, samples in times.items():
        ms = 1e3 * np.asarray(samples)
        print(
            f"| {label} | {steps[label]} | {np.median(ms):.3f} | {np.percentile(ms, 99):.3f} | "
            f"{np.median(samples) / ppo:.1f}× |"
        )


if __name__ == "__main__":
    main()

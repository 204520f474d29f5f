"""Steps/s of the Playground VecEnv (random actions, torch side) vs a raw jitted, vmapped step loop on the
same env, measured side by side in one process. Prints the ratio (target ≥ 0.9).

    python bench/env_throughput.py --task CartpoleBalance --num_envs 256,1024,4096 --steps 300

The raw loop is `jax.jit(jax.vmap(env.step))` with actions drawn in JAX and no auto-reset: the floor any
adapter pays. The VecEnv adds auto-reset, final observations, time-outs and the DLPack hand-off to torch.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import jax  # noqa: E402
import torch  # noqa: E402

import tasks  # noqa: E402
from envs.playground import PlaygroundVecEnv  # noqa: E402


def vec_env_steps_per_s(env: PlaygroundVecEnv, steps: int) -> float:
    actions = [torch.rand(env.num_envs, env.num_actions) * 2 - 1 for _ in range(8)]
    for i in range(3):  # compile + warm up
        env.step(actions[i])
    start = time.perf_counter()
    for i in range(steps):
        obs, rewards, dones, extras = env.step(actions[i % 8])
    rewards.sum().item()  # the data has arrived on the torch side
    return env.num_envs * steps / (time.perf_counter() - start)


def raw_steps_per_s(env: PlaygroundVecEnv, steps: int) -> float:
    step = jax.jit(jax.vmap(env.unwrapped.step))
    keys = jax.random.split(jax.random.PRNGKey(0), 8)
    actions = [jax.random.uniform(k, (env.num_envs, env.num_actions), minval=-1, maxval=1) for k in keys]
    state = env.carry.state
    for i in range(3):
        state = step(state, actions[i])
    jax.block_until_ready(state)
    start = time.perf_counter()
    for i in range(steps):
        state = step(state, actions[i % 8])
    jax.block_until_ready(state)
    return env.num_envs * steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--task", default="CartpoleBalance")
    parser.add_argument("--num_envs", default="256,1024,4096", help="comma-separated env counts")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--device", default="cuda:0" if torch.cuda.is_available() else "cpu")
    parser.add_argument(
        "--repeats", type=int, default=3, help="alternate the two loops this many times; report the best of each"
    )
    args = parser.parse_args()

    print(f"task {args.task}, device {args.device}, {args.steps} steps per measurement")
    print(f"{'num_envs':>9} {'VecEnv steps/s':>15} {'raw steps/s':>13} {'ratio':>6}")
    for num_envs in (int(n) for n in args.num_envs.split(",")):
        env_cfg = tasks.get_task(args.task).env_cfg()
        env_cfg.num_envs = num_envs
        env = PlaygroundVecEnv(env_cfg, device=args.device)
        best_vec = best_raw = 0.0
        for _ in range(args.repeats):  # interleaved, so machine noise hits both alike
            best_vec = max(best_vec, vec_env_steps_per_s(env, args.steps))
            best_raw = max(best_raw, raw_steps_per_s(env, args.steps))
        print(f"{num_envs:>9} {best_vec:>15,.0f} {best_raw:>13,.0f} {best_vec / best_raw:>6.2f}", flush=True)


if __name__ == "__main__":
    main()

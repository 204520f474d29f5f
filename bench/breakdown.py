"""Where one training iteration's time goes, on a Playground task: our loop part by part, next to a raw jitted
step loop over the *same* per-env randomized models (issue 21, item 2).

    python bench/breakdown.py --task Go1JoystickFlatTerrain --num_envs 64,256 --algos ppo,cppo

Per env step of the rollout: the policy (`act`: normalization, actor — CPPO's K-step sampler and kernel —,
critic, storage of the transition's inputs), the env step as train.py sees it (`env.step`: the jitted JAX step,
DLPack hand-off and the wait for the result), of which the hand-off alone (DLPack views of a ready buffer),
and `process_env_step` (time-out bootstrap incl. the critic pass on the true final observation, storage
writes), of which the final-observation critic pass alone. Then per iteration: returns (GAE) and the update.
The raw loop: `jax.jit` of the VecEnv's own batched step function with its per-env models, random actions in
JAX, no auto-reset, no hand-off. Sizes are the task's, num_steps_per_env from its CPU sizes (train.py's).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import jax  # noqa: E402
import torch  # noqa: E402

PARTS = ("act", "env.step", "  of which hand-off", "process_env_step", "  of which final-obs critic", "returns",
         "update")  # fmt: skip


def build(task: str, algo: str, num_envs: int, device: str, menagerie_dir: str | None, overrides=()):
    from app.cli import build_configs, build_runner, parse_train_args
    from envs import make_env

    flags = ["--task", task, "--algo", algo, "--num_envs", str(num_envs), "--device", device, "--sizes", "cpu"]
    flags += list(overrides)
    args = parse_train_args(flags + (["--menagerie_dir", menagerie_dir] if menagerie_dir else []))
    spec, env_cfg, agent_cfg = build_configs(args, None, device.startswith("cpu"))
    env_cfg.num_envs = num_envs
    env = make_env(spec, env_cfg, device)
    runner = build_runner(env, spec.name, algo, env_cfg, agent_cfg, device)
    return env, runner.alg, agent_cfg.num_steps_per_env, env_cfg


def timed(clock: dict, name: str, fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    clock[name] += time.perf_counter() - start
    return result


def hand_off(env):
    """What env.step does after the JAX call: a DLPack view of the packed result and its observation views."""
    buffer = torch.from_dlpack(env._packed)
    return env._unpack_obs(buffer[:, : buffer.shape[1] // 2])


def iteration(env, alg, steps: int, clock: dict) -> None:
    obs = env.get_observations()
    for _ in range(steps):
        with torch.inference_mode():
            actions = timed(clock, "act", alg.act, obs)
            obs, rewards, dones, extras = timed(clock, "env.step", env.step, actions)
            timed(clock, "  of which hand-off", hand_off, env)  # again, on a ready buffer
            final = extras.get("final_observations")
            if final is not None:
                timed(clock, "  of which final-obs critic", alg.critic, final)
            timed(clock, "process_env_step", alg.process_env_step, obs, rewards, dones, extras)
    with torch.inference_mode():
        timed(clock, "returns", alg.compute_returns, obs)
    timed(clock, "update", alg.update)


def raw_step_seconds(env, env_cfg, steps: int) -> float:
    """Seconds per step of the VecEnv's own batched step over its per-env randomized models."""
    from envs.playground import batched_env_fns, playground_modules

    registry = playground_modules()
    randomizer = registry.get_domain_randomizer(env_cfg.env_id) if env_cfg.domain_randomization else None
    per_env, _, step_batch = batched_env_fns(env.unwrapped, randomizer, jax.random.PRNGKey(1), env.num_envs)
    step = jax.jit(step_batch)
    state = env.carry.state
    keys = jax.random.split(jax.random.PRNGKey(0), 8)
    actions = [jax.random.uniform(k, (env.num_envs, env.num_actions), minval=-1, maxval=1) for k in keys]
    for i in range(3):
        state = step(per_env, state, actions[i])
    jax.block_until_ready(state)
    start = time.perf_counter()
    for i in range(steps):
        state = step(per_env, state, actions[i % 8])
    jax.block_until_ready(state)
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--task", default="Go1JoystickFlatTerrain")
    parser.add_argument("--num_envs", default="64,256")
    parser.add_argument("--algos", default="ppo,cppo")
    parser.add_argument("--iterations", type=int, default=3, help="timed iterations after one warm-up")
    parser.add_argument("--device", default="cuda:0" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--menagerie_dir", default=str(ROOT.parent / "shared" / "menagerie"))
    parser.add_argument("overrides", nargs="*", help="train.py config overrides, e.g. agent.torch_compile_mode=default")
    args = parser.parse_args()
    print(f"{args.task}, device {args.device}; ms per iteration (mean of {args.iterations}), share of the total\n")
    for num_envs in (int(n) for n in args.num_envs.split(",")):
        for algo in args.algos.split(","):
            env, alg, steps, env_cfg = build(args.task, algo, num_envs, args.device, args.menagerie_dir, args.overrides)
            iteration(env, alg, steps, defaultdict(float))  # compile and warm up
            clock: dict[str, float] = defaultdict(float)
            for _ in range(args.iterations):
                iteration(env, alg, steps, clock)
            total = sum(clock[p] for p in PARTS if not p.startswith(" "))
            raw = raw_step_seconds(env, env_cfg, 4 * steps) * steps
            env_share = clock["env.step"] / args.iterations
            rate = num_envs * steps * args.iterations / total
            print(f"### {num_envs} envs × {steps} steps, {algo}: {1000 * total / args.iterations:.0f} ms per "
                  f"iteration, {rate:,.0f} env steps/s")  # fmt: skip
            print("| part | ms/iteration | share |\n|---|---:|---:|")
            for part in PARTS:
                ms = 1000 * clock[part] / args.iterations
                print(f"| {part} | {ms:.1f} | {100 * clock[part] / total:.0f} % |")
            print(f"| raw jitted step, same randomized models, {steps} steps | {1000 * raw:.1f} | VecEnv/raw "
                  f"{raw / env_share:.2f} |\n", flush=True)  # fmt: skip
            env.close()


if __name__ == "__main__":
    main()

"""How to deploy a flow policy: the suite's final checkpoints played under several samplers, and the shape of
the policy's action distribution where the deterministic sampler loses return (issue 20, item 3).

    python bench/deploy_modes.py                       # every cppo/fpo run in bench/suite/runs with checkpoints
    python bench/deploy_modes.py --tasks CartpoleSwingup --algos fpo
    python bench/deploy_modes.py --tasks FingerTurnEasy --modes zero,fixed,training --episodes 1024

For each run: every mode plays one episode of each of --episodes envs (default: the suite's EVAL_EPISODES) from a
fresh reset with the same seed, through the exported inference module (app/playback.py's `policy_fn`):

    zero       ε = 0 with the trained K (the default deployment, "zero-sampling" in FPO++)
    zero_k32   ε = 0 with K = 32 Euler steps: is the coarse ODE what loses return?
    fixed      ε ~ N(0, I) drawn once per episode and held: deterministic too, but at a typical ε — tells an
               atypical ε = 0 from the value of acting randomly
    half       ε ~ N(0, 0.25 I) afresh every step: a cooler sampler
    sampled    ε ~ N(0, I) afresh every step, through the deployed module (CPPO: without the kernel's noise)
    training   the training policy's own sampler (`play.py --stochastic`; CPPO: the kernel's noise too)

and, at 512 states the sampled policy visited, 128 actions per state: the share of actions at the action limit,
the share of (state, action dimension) pairs whose samples are bimodal (Sarle's bimodality coefficient > 5/9,
the uniform distribution's value), and how much of the sampled mass lies within 0.1 of the ε = 0 action
compared with within 0.1 of the samples' median (< 1: ε = 0 lands where the policy rarely acts, e.g. between
two modes; the states come from the sampled mode, or the first mode played without it). Results are cached per
run (`<run>.modes.json`; modes asked for later join a cache of the same --episodes, which keeps its shape unless
`sampled` is among them); the page is bench/suite/deploy_modes.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.suite import EVAL_EPISODES  # noqa: E402

MODES = {
    "zero": (0.0, None),
    "zero_k32": (0.0, 32),
    "fixed": (1.0, None),
    "half": (0.5, None),
    "sampled": (1.0, None),
    "training": (1.0, None),
}  # name: (ε's scale, Euler steps K; None: the trained K)
STATES, DRAWS, NEAR = 512, 128, 0.1


def bimodality(actions):
    """Sarle's bimodality coefficient (skew² + 1) / kurtosis over the draws (dim 1) of [states, draws, A]."""
    centred = actions - actions.mean(1, keepdim=True)
    var = centred.pow(2).mean(1)
    ok = var > 1e-8  # a point mass (e.g. every draw at the limit) has no shape
    skew = centred.pow(3).mean(1) / var.clamp_min(1e-8).pow(1.5)
    kurtosis = centred.pow(4).mean(1) / var.clamp_min(1e-8).pow(2)
    return (skew.pow(2) + 1) / kurtosis, ok


def diagnose(deployed, live, states, num_actions: int, limit: float, generator) -> dict:
    import torch

    states = states[torch.randperm(states.shape[0], generator=generator)[:STATES]]
    with torch.inference_mode():
        zero = deployed(states, torch.zeros(states.shape[0], num_actions), *live)
        repeated = states.repeat_interleave(DRAWS, 0)
        noise = torch.randn(repeated.shape[0], num_actions, generator=generator)
        actions = deployed(repeated, noise, *live).view(states.shape[0], DRAWS, -1)
    coefficient, shaped = bimodality(actions)
    median = actions.median(1).values
    near_zero = ((actions - zero[:, None]).abs() < NEAR).float().mean()
    near_median = ((actions - median[:, None]).abs() < NEAR).float().mean()
    return {
        "at_limit": (actions.abs() >= 0.99 * limit).float().mean().item(),
        "bimodal": ((coefficient > 5 / 9) & shaped).float().mean().item(),
        "mass_near_zero_vs_median": (near_zero / near_median.clamp_min(1e-8)).item(),
        "spread": actions.std(1).mean().item(),
    }


def evaluate(result: dict, suite: Path, episodes: int, modes: list[str]) -> dict:
    import torch

    from app.cli import build_configs, build_runner
    from app.playback import policy_fn, run_policy, training_policy
    from cppo.algorithms import get_algorithm
    from cppo.checkpoint import load_checkpoint
    from cppo.export import deployable
    from cppo.runs import find_checkpoint
    from envs import make_env

    checkpoint = find_checkpoint(suite / result["run_dir"])
    saved = load_checkpoint(str(checkpoint), "cpu")
    args = argparse.Namespace(task=result["task"], algo=result["algo"], num_envs=episodes, seed=None,
                              menagerie_dir=None, overrides=[])  # fmt: skip
    task, env_cfg, agent_cfg = build_configs(args, saved.get("meta"))
    env: Any = make_env(task, env_cfg, "cpu")  # Playground's VecEnv resets all envs; MultiGoal resets where told
    runner = build_runner(env, task.name, args.algo, env_cfg, agent_cfg, "cpu")
    runner.load(str(checkpoint), same_task=False)
    actor: Any = runner.alg.get_policy()
    algorithm = get_algorithm(args.algo)
    trained_steps = actor.flow_steps
    deployed = deployable(actor, True)  # at the trained K
    live = [torch.tensor(float(getattr(actor, n))) for n in algorithm.live_inputs]  # e.g. DIPOLE's ω
    returns, spreads, visited = {}, {}, []  # per mode: mean and per-episode std of the returns
    keep = "sampled" if "sampled" in modes else modes[0]  # the mode whose visited states `diagnose` reads
    for name in modes:
        scale, steps = MODES[name]
        actor.flow_steps = steps or trained_steps
        if name == "training":
            act = training_policy(runner.alg)
        elif name == "fixed":
            act = held_noise(deployed, live, actor, env.num_envs)
        else:
            act = policy_fn(actor, algorithm, True, scale, "cpu")
        if name == keep:
            act = keeping_states(act, actor.obs_groups, visited)
        torch.manual_seed(agent_cfg.seed)
        env.reset()
        ended, _, _ = run_policy(env, act)
        returns[name] = ended.mean().item() if ended.numel() else math.nan
        spreads[name] = ended.std().item() if ended.numel() > 1 else math.nan
        print(f"[deploy_modes] {result['task']} {result['algo']} seed {result['seed']}: {name} {returns[name]:.1f}")
    actor.flow_steps = trained_steps
    shape = diagnose(
        deployed, live, torch.cat(visited), actor.num_actions, actor.action_limit, torch.Generator().manual_seed(0)
    )
    env.close()
    return {"returns": returns, "return_std": spreads, **shape, "flow_steps": trained_steps, "episodes": episodes}


def held_noise(deployed, live: list, actor, num_envs: int):
    """The deployed policy at one ε per env, drawn once: every env plays one episode, so one ε per episode."""
    import torch

    noise = torch.randn(num_envs, actor.num_actions, generator=torch.Generator().manual_seed(1))

    @torch.inference_mode()
    def act(obs):
        return deployed(torch.cat([obs[g] for g in actor.obs_groups], dim=-1), noise, *live)

    return act


def keeping_states(act, obs_groups, visited: list, every: int = 10):
    """`act` that also keeps the policy's input every `every` steps."""
    import torch

    calls = [0]

    def wrapped(obs):
        if calls[0] % every == 0:
            visited.append(torch.cat([obs[g] for g in obs_groups], dim=-1).cpu().clone())
        calls[0] += 1
        return act(obs)

    return wrapped


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--suite", default="bench/suite", help="the suite's results folder (default: bench/suite)")
    parser.add_argument("--tasks", default="", help="only these tasks (comma-separated; default: all)")
    parser.add_argument("--algos", default="cppo,fpo", help="default: cppo,fpo")
    parser.add_argument("--modes", default=",".join(MODES), help=f"default: {','.join(MODES)}")
    parser.add_argument(
        "--episodes", type=int, default=EVAL_EPISODES, help=f"one per env, per mode (default: {EVAL_EPISODES})"
    )
    args = parser.parse_args(argv)
    suite = (ROOT / args.suite).resolve()
    tasks, algos = set(filter(None, args.tasks.split(","))), set(args.algos.split(","))
    modes = [m for m in args.modes.split(",") if m]
    if not modes or set(modes) - set(MODES):
        parser.error(f"--modes: choose from {','.join(MODES)}")
    rows = []
    for path in sorted((suite / "runs").glob("*_seed*.json")):
        result = json.loads(path.read_text())
        if result.get("algo") not in algos or (tasks and result["task"] not in tasks) or "run_dir" not in result:
            continue
        cache = path.with_name(path.name.replace(".json", ".modes.json"))
        cached = json.loads(cache.read_text()) if cache.is_file() else {}
        same = cached.get("episodes") == args.episodes
        missing = [m for m in modes if not same or m not in cached["returns"]]
        if missing:
            if not any((suite / result["run_dir"]).glob("model_*.pt")):
                if cached:
                    rows.append((result, cached))  # an older evaluation, kept where its checkpoints are gone
                continue  # trained on another machine: its checkpoints are not here
            found = evaluate(result, suite, args.episodes, missing)
            if same:  # add the new modes to the cached ones; the shape stays the cache's unless `sampled` is new
                shape = {} if "sampled" in missing else cached
                found = {**found, **shape, "returns": {**cached["returns"], **found["returns"]},
                         "return_std": {**cached["return_std"], **found["return_std"]}}  # fmt: skip
            partial = cache.with_suffix(".tmp")
            partial.write_text(json.dumps(found))
            os.replace(partial, cache)
        rows.append((result, json.loads(cache.read_text())))
    lines = [
        "# Deploying a flow policy: ε = 0 or sampled (`python bench/deploy_modes.py`)", "",
        f"Return of one episode of each of {args.episodes} envs per mode (episodes column: fewer where an older "
        "evaluation is kept) from each suite run's final checkpoint; action shape at "
        f"{STATES} visited states × {DRAWS} draws (see the script's docstring).", "",
        "| task | algo | seed | episodes | training run | ε = 0 | ε = 0, K = 32 | ε held per episode | ε ~ N(0, ¼I) "
        "| ε ~ N(0, I) | training sampler | at limit | bimodal | mass near a(ε=0) / near median | spread |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]  # fmt: skip
    for result, found in sorted(rows, key=lambda r: (r[0]["task"], r[0]["algo"], r[0]["seed"])):
        r = {name: f"{found['returns'][name]:.1f}" if name in found["returns"] else "–" for name in MODES}
        lines.append(
            f"| {result['task']} | {result['algo']} | {result['seed']} | {found.get('episodes', 64)} "
            f"| {result['final_return']:.1f} | {r['zero']} | {r['zero_k32']} | {r['fixed']} | {r['half']} "
            f"| {r['sampled']} | {r['training']} "
            f"| {found['at_limit']:.2f} | {found['bimodal']:.2f} | {found['mass_near_zero_vs_median']:.2f} "
            f"| {found['spread']:.2f} |"
        )
    (suite / "deploy_modes.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What `python play.py` does, in order: find the checkpoint, rebuild its exact policy from the configs it
recorded, export it for deployment (policy.onnx/.pt + deploy.yaml), then run it — in MuJoCo's viewer, headless,
recording a video, or recording a dataset — and report the returns. play.py is its command line; it picks MuJoCo's
GL backend (app/render.configure_gl) before this module imports anything that loads mujoco."""

from __future__ import annotations

from pathlib import Path

import torch
from tqdm import tqdm

from app.cli import build_configs, build_runner, locate_checkpoint, resolve_device
from app.render import make_recorder
from app.viewer import InteractiveViewer, format_command
from cppo.algorithms import REGISTRY as ALGORITHMS
from cppo.algorithms import Algorithm, get_algorithm, with_capability
from cppo.checkpoint import check_algorithm, load_checkpoint
from cppo.dipole.actor import check_omega
from cppo.dipole.config import DipoleCfg
from cppo.errors import UsageError
from cppo.export import deployable, export_metadata, export_policy, policy_inputs
from envs import make_env
from envs.deploy import write_file as write_deployment

PLAY_NUM_ENVS = 32


def replay(args, interactive: bool) -> int:
    """Play as play.py's flags say (`interactive`: a viewer window can open); returns the exit code."""
    checkpoint = locate_checkpoint(args)
    saved = load_checkpoint(str(checkpoint), "cpu")
    if args.algo:  # before a minute of env start-up
        check_algorithm(saved.get("meta"), args.algo, str(checkpoint))
    args.num_envs = args.num_envs or PLAY_NUM_ENVS
    task, env_cfg, agent_cfg = build_configs(args, saved.get("meta"))
    algorithm = get_algorithm(args.algo)
    check_policy_flags(args, algorithm, agent_cfg, saved)
    device = resolve_device(args.device)
    print(f"[cppo] playing {checkpoint} on {task.name} ({args.algo}, {env_cfg.num_envs} envs on {device})")
    torch.manual_seed(agent_cfg.seed)
    env = make_env(task, env_cfg, device)
    if args.command is not None:
        hold_command(env, task.name, args.command)
    runner = build_runner(env, task.name, args.algo, env_cfg, agent_cfg, device)
    runner.load(str(checkpoint), same_task=False)
    trained_on = (saved.get("meta") or {}).get("task", task.name)
    if trained_on != task.name:
        print(f"[cppo] note: this policy was trained on {trained_on}")
    actor = runner.alg.get_policy()
    residual = args.deployed == "flow+residual"
    export_for_deployment(actor, env, args.algo, residual, task.name, trained_on, checkpoint, saved.get("iter"))
    if args.export_only:
        return 0

    steps_kept = None
    if args.record:
        from cppo.dataset import TransitionRecorder

        steps_kept = TransitionRecorder()
    noise_scale = args.noise_scale or 0.0
    act = training_policy(runner.alg) if args.stochastic else policy_fn(actor, algorithm, residual, noise_scale, device)
    recorder = (
        make_recorder(env, checkpoint.parent / "videos" / "play", checkpoint.stem, args.camera) if args.video else None
    )
    viewer = InteractiveViewer(env, args.camera, args.command) if interactive and env.mj_model is not None else None
    returns, running, steps = run_policy(env, act, args.steps, viewer, recorder, args.video_length, steps_kept)
    report_returns(returns, running, steps, env)
    if steps_kept is not None:
        sampler = "training" if args.stochastic else "deployed"
        save_dataset(
            steps_kept, args.record, env.num_envs, task.name, args.algo, checkpoint, sampler, noise_scale, returns
        )
    env.close()
    return 0


def hold_command(env, task: str, command: list[float]) -> None:
    """--command VX VY YAW: the velocity command a joystick task holds for the whole replay."""
    if not env.has_command:
        raise UsageError(
            f"--command: {task} takes no velocity command (joystick tasks do, e.g. Go1JoystickFlatTerrain)"
        )
    env.set_command(tuple(command))
    print(f"[cppo] command: {format_command(command)}")


def save_dataset(
    steps_kept,
    path: str,
    num_envs: int,
    task: str,
    algo: str,
    checkpoint: Path,
    sampler: str,
    noise_scale: float,
    returns: torch.Tensor,
) -> None:
    """--record: every played step as a dataset for train.py --dataset / --pretrain, with where it came from."""
    meta = {
        "task": task,
        "algo": algo,
        "checkpoint": str(checkpoint),
        "noise_scale": noise_scale,
        "sampler": sampler,
        "num_envs": num_envs,
        "episodes": returns.numel(),
        "mean_return": returns.mean().item() if returns.numel() else None,
    }
    transitions = steps_kept.transitions(meta)
    transitions.save(path)
    print(f"[cppo] recorded {len(transitions)} transitions ({num_envs} envs × {len(steps_kept.steps)} steps) to {path}")


def check_flags(args) -> None:
    """The flags that need no checkpoint, before anything loads."""
    for flag in ("video_length", "steps", "num_envs"):
        if getattr(args, flag) is not None and getattr(args, flag) <= 0:
            raise UsageError(f"--{flag} must be a positive integer, got {getattr(args, flag)}")
    if args.noise_scale is not None and (args.noise_scale < 0 or args.stochastic):
        raise UsageError(
            "--noise_scale must be ≥ 0"
            if args.noise_scale < 0
            else "--stochastic samples the training policy, --noise_scale the deployed one: give one"
        )
    if args.record:
        record = Path(args.record)
        if record.exists():
            raise UsageError(
                f"--record: '{record}' already exists; pick a new file name (datasets are never overwritten)"
            )
        if not record.parent.is_dir():
            raise UsageError(f"--record: folder '{record.parent}' does not exist")


def check_policy_flags(args, algorithm: Algorithm, agent_cfg, saved: dict) -> None:
    """The flags that apply to some algorithms only (--deployed flow, --omega, --noise_scale), once the
    checkpoint's algorithm is known; --omega sets DIPOLE's greediness."""
    if args.deployed != "flow+residual" and not algorithm.flow_only_deployment:
        raise UsageError(
            f"--deployed flow applies to {', '.join(with_capability('flow_only_deployment'))} checkpoints only"
        )
    if args.omega is not None:
        if "omega" not in algorithm.live_inputs:
            raise UsageError(
                f"--omega applies to {', '.join(n for n, a in ALGORITHMS.items() if 'omega' in a.live_inputs)} "
                "checkpoints only"
            )
        assert isinstance(agent_cfg.algorithm, DipoleCfg)  # the one algorithm with this live input
        agent_cfg.algorithm.omega = check_omega(args.omega, "--omega")
        print(f"[cppo] greediness ω = {args.omega} (trained with {saved['meta']['agent_cfg']['algorithm']['omega']})")
    if args.noise_scale is not None and not algorithm.flow:
        raise UsageError(
            f"--noise_scale applies to flow policies ({', '.join(with_capability('flow'))}); --stochastic samples "
            f"{args.algo}'s Gaussian"
        )


def export_for_deployment(
    actor, env, algo: str, residual: bool, task: str, trained_on: str, checkpoint: Path, iteration
) -> None:
    """<run>/exported/: policy.onnx and policy.pt with their metadata, and deploy.yaml (what a robot needs)."""
    deployment = {**env.deployment_info, "policy": {"file": "policy.onnx", "inputs": policy_inputs(actor, residual)}}
    metadata = export_metadata(
        actor,
        algo,
        residual,
        task=task,
        trained_on=trained_on,
        checkpoint=checkpoint.name,
        iteration=iteration,
        obs_groups=actor.obs_groups,
        **deployment,
    )
    exported = export_policy(actor, checkpoint.parent / "exported", metadata, residual)
    exported.append(write_deployment(checkpoint.parent / "exported", deployment))
    for path in exported:
        print(f"[cppo] exported {path}")


def training_policy(alg):
    """obs TensorDict → actions, sampled as the algorithm's rollout samples them (`alg.act`): the policy whose
    return training logs."""

    @torch.inference_mode()
    def act(obs):
        return alg.act(obs)

    return act


def policy_fn(actor, algorithm: Algorithm, residual: bool, noise_scale: float, device: str):
    """obs TensorDict → actions, through the same module that was exported (what you see is what you deploy).
    `noise_scale` σ: a flow policy's initial noise ε ~ N(0, σ²I) (0: ε = 0, deterministic); a Gaussian policy's
    mean."""
    deployed = deployable(actor, residual).to(device)
    live = [torch.tensor(float(getattr(actor, name)), device=device) for name in algorithm.live_inputs]  # e.g. ω

    @torch.inference_mode()
    def act(obs):
        x = torch.cat([obs[group] for group in actor.obs_groups], dim=-1)
        if not algorithm.flow:
            return deployed(x)
        noise = torch.zeros(x.shape[0], actor.num_actions, device=x.device)
        return deployed(x, noise.normal_(0.0, noise_scale) if noise_scale else noise, *live)

    return act


def run_policy(env, act, steps: int | None = None, viewer=None, recorder=None, video_length: int = 0, steps_kept=None):
    """Run the policy for `steps` (default: one episode; with a viewer, until its window closes) and return the
    returns of the episodes that ended (1-D), each env's return in the episode still running, and the steps run.
    `recorder` records env 0's first `video_length` steps; `steps_kept` (a TransitionRecorder) keeps every step."""
    total = max(steps or int(env.max_episode_length), video_length if recorder is not None else 0)
    until_closed = viewer is not None and steps is None
    obs = env.get_observations()
    episode_return = torch.zeros(env.num_envs, device=env.device)
    ended = []  # per step: the return of each env whose episode ended, NaN elsewhere (no host sync)
    last_return = None  # env 0's last finished episode, for the overlay
    bar = tqdm(total=None if until_closed else total, desc="recording" if recorder else "playing", unit="step",
               leave=False, disable=None)  # fmt: skip
    step = 0
    while step < total or until_closed:
        if viewer is not None:
            if not viewer.running:
                break
            if viewer.poll():
                obs = env.reset()
                episode_return.zero_()
            if viewer.paused:
                viewer.show(step, episode_return[0].item(), last_return)
                continue
        actions = act(obs)
        next_obs, rewards, dones, extras = env.step(actions)
        if steps_kept is not None:
            steps_kept.add(obs, actions, rewards, dones, extras, next_obs)
        obs = next_obs
        episode_return += rewards
        done = dones > 0
        ended.append(torch.where(done, episode_return, torch.nan))
        if viewer is not None and done[0]:
            last_return = episode_return[0].item()
        episode_return = torch.where(done, 0.0, episode_return)
        step += 1
        bar.update(1)
        if recorder is not None:
            recorder.add()
            if step == video_length:
                print(f"[cppo] wrote {recorder.close()}")
                recorder = None
        if viewer is not None:
            viewer.show(step, episode_return[0].item(), last_return)
    bar.close()
    if recorder is not None:
        print(f"[cppo] wrote {recorder.close()}")
    if viewer is not None:
        viewer.close()
    returns = torch.stack(ended).flatten().cpu() if ended else torch.zeros(0)
    return returns[~returns.isnan()], episode_return.cpu(), step


def report_returns(returns: torch.Tensor, running: torch.Tensor, steps: int, env) -> None:
    if returns.numel():
        print(
            f"[cppo] mean return over {returns.numel()} episodes: {returns.mean():.2f} "
            f"(std {returns.std(unbiased=False):.2f}, min {returns.min():.2f}, max {returns.max():.2f})"
        )
    else:
        print(
            f"[cppo] no episode ended in {steps} steps (episodes last up to {int(env.max_episode_length)}); "
            f"return so far: mean {running.mean():.2f} over {running.numel()} envs — more --steps for a full episode"
        )

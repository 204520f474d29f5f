"""Replay a checkpoint, record it, and export the policy: `python play.py --task CartpoleBalance --algo cppo`.

Finds the newest run of <task>_<algo> (or --load_run / --checkpoint), rebuilds the exact policy from the
configs recorded in the checkpoint, exports it to <run>/exported/policy.{onnx,pt}, then runs it: in
MuJoCo's viewer when a display is present, headless otherwise; --video writes <run>/videos/play/.
Prints the mean return over the episodes that ended.
"""

from __future__ import annotations

import sys
from pathlib import Path

from app.cli import (
    Parser,
    add_task_flags,
    build_configs,
    build_runner,
    locate_checkpoint,
    print_task_list,
    resolve_device,
    run_main,
)
from app.viewer import format_command
from cppo.algorithms import REGISTRY as ALGORITHMS
from cppo.algorithms import get_algorithm, with_capability
from cppo.errors import UsageError

PLAY_NUM_ENVS = 32


def parse_args(argv: list[str] | None):
    parser = Parser(prog="play.py", description=(__doc__ or "").splitlines()[0])
    add_task_flags(parser)
    parser.add_argument(
        "--video", action="store_true", help="record env 0 to <run>/videos/play/ (MultiGoal: a trajectory PNG)"
    )
    parser.add_argument("--video_length", type=int, default=200, help="recorded steps (default: 200)")
    parser.add_argument("--headless", action="store_true", help="never open a viewer window")
    parser.add_argument(
        "--steps", type=int, default=None, help="steps to run (default: one episode; until closed in the viewer)"
    )
    parser.add_argument(
        "--stochastic",
        action="store_true",
        help="sample the policy as training did (the algorithm's rollout sampler: CPPO a random ε and a kernel sample, "
        "FPO++/DIPOLE a random ε and their exploration noise, PPO a Gaussian sample; default: ε = 0 / the mean)",
    )
    parser.add_argument(
        "--noise_scale",
        type=float,
        default=None,
        metavar="SIGMA",
        help="flow policies: draw the initial noise ε ~ N(0, σ²I) through the deployed (exported) policy (0: ε = 0, "
        "the default; 1: the training distribution of ε, without the kernel's or exploration noise)",
    )
    parser.add_argument(
        "--deployed",
        choices=["flow+residual", "flow"],
        default="flow+residual",
        help="CPPO: the flow sample through the kernel mean (default), or the distilled flow alone",
    )
    parser.add_argument(
        "--omega",
        type=float,
        default=None,
        help="DIPOLE: greediness ω of the guided sampler (0: π⁺ alone, conservative; larger: greedier; default: the "
        "training value)",
    )
    parser.add_argument(
        "--command",
        nargs=3,
        type=float,
        default=None,
        metavar=("VX", "VY", "YAW"),
        help="joystick tasks: hold the velocity command (forward m/s, lateral m/s, yaw rad/s) fixed; "
        "in the viewer the arrow keys and , . change it and 0 stops (default: the env samples commands)",
    )
    parser.add_argument(
        "--camera",
        default=None,
        help="MuJoCo camera for the viewer and --video (default: the model's 'track' camera if it has one, else a "
        "free camera framed on the robot)",
    )
    parser.add_argument("--export_only", action="store_true", help="export <run>/exported/policy.{onnx,pt} and exit")
    parser.add_argument(
        "--record",
        default=None,
        metavar="FILE",
        help="save every played step (observations, actions, rewards, dones, time-outs, next observations) as a "
        "dataset for train.py --dataset / --pretrain",
    )
    return parser.parse_intermixed_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        print_task_list()
        return 0
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

    from app.render import configure_gl

    interactive = configure_gl(args.headless or args.export_only)  # before anything imports mujoco

    import torch

    from cppo.checkpoint import check_algorithm, load_checkpoint
    from cppo.config import DipoleCfg
    from cppo.dipole_policy import check_omega
    from cppo.export import export_metadata, export_policy, policy_inputs
    from envs import make_env
    from envs.deploy import write_file as write_deployment

    checkpoint = locate_checkpoint(args)
    saved = load_checkpoint(str(checkpoint), "cpu")
    if args.algo:  # before a minute of env start-up
        check_algorithm(saved.get("meta"), args.algo, str(checkpoint))
    args.num_envs = args.num_envs or PLAY_NUM_ENVS
    task, env_cfg, agent_cfg = build_configs(args, saved.get("meta"))
    algorithm = get_algorithm(args.algo)
    residual = args.deployed == "flow+residual"
    if not residual and not algorithm.flow_only_deployment:
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

    noise_scale = args.noise_scale or 0.0
    if args.noise_scale is not None and not algorithm.flow:
        flows = ", ".join(name for name, a in ALGORITHMS.items() if a.flow)
        raise UsageError(
            f"--noise_scale applies to flow policies ({flows}); --stochastic samples {args.algo}'s Gaussian"
        )

    device = resolve_device(args.device)
    print(f"[cppo] playing {checkpoint} on {task.name} ({args.algo}, {env_cfg.num_envs} envs on {device})")
    torch.manual_seed(agent_cfg.seed)
    env = make_env(task, env_cfg, device)
    if args.command is not None:
        if not env.has_command:
            raise UsageError(
                f"--command: {task.name} takes no velocity command (joystick tasks do, e.g. Go1JoystickFlatTerrain)"
            )
        env.set_command(tuple(args.command))
        print(f"[cppo] command: {format_command(args.command)}")
    runner = build_runner(env, task.name, args.algo, env_cfg, agent_cfg, device)
    runner.load(str(checkpoint), same_task=False)
    trained_on = (saved.get("meta") or {}).get("task", task.name)
    if trained_on != task.name:
        print(f"[cppo] note: this policy was trained on {trained_on}")

    actor = runner.alg.get_policy()
    run_dir = checkpoint.parent
    deployment = {**env.deployment_info, "policy": {"file": "policy.onnx", "inputs": policy_inputs(actor, residual)}}
    metadata = export_metadata(
        actor,
        args.algo,
        residual,
        task=task.name,
        trained_on=trained_on,
        checkpoint=checkpoint.name,
        iteration=saved.get("iter"),
        obs_groups=actor.obs_groups,
        **deployment,
    )
    exported = export_policy(actor, run_dir / "exported", metadata, residual)
    exported.append(write_deployment(run_dir / "exported", deployment))
    for path in exported:
        print(f"[cppo] exported {path}")
    if args.export_only:
        return 0

    steps_kept = None
    if args.record:
        from cppo.dataset import TransitionRecorder

        steps_kept = TransitionRecorder()
    act = training_policy(runner.alg) if args.stochastic else policy_fn(actor, algorithm, residual, noise_scale, device)
    returns, running, steps = play(
        env,
        act,
        args,
        interactive,
        run_dir,
        checkpoint.stem,
        steps_kept,
    )
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
    if steps_kept is not None:
        meta = {
            "task": task.name,
            "algo": args.algo,
            "checkpoint": str(checkpoint),
            "noise_scale": noise_scale,
            "sampler": "training" if args.stochastic else "deployed",
            "num_envs": env.num_envs,
            "episodes": returns.numel(),
            "mean_return": returns.mean().item() if returns.numel() else None,
        }
        transitions = steps_kept.transitions(meta)
        transitions.save(args.record)
        print(
            f"[cppo] recorded {len(transitions)} transitions ({env.num_envs} envs × {len(steps_kept.steps)} steps) "
            f"to {args.record}"
        )
    env.close()
    return 0


def training_policy(alg):
    """obs TensorDict → actions, sampled as the algorithm's rollout samples them (`alg.act`): the policy whose
    return training logs."""
    import torch

    @torch.inference_mode()
    def act(obs):
        return alg.act(obs)

    return act


def policy_fn(actor, algorithm, residual: bool, noise_scale: float, device: str):
    """obs TensorDict → actions, through the same module that was exported (what you see is what you deploy).
    `noise_scale` σ: a flow policy's initial noise ε ~ N(0, σ²I) (0: ε = 0, deterministic); a Gaussian policy's
    mean."""
    import torch

    from cppo.export import deployable

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


def play(env, act, args, interactive: bool, run_dir, name: str, steps_kept=None):
    """Run the policy; returns the returns of the episodes that ended (a 1-D tensor) and each env's return in
    the episode still running. With a viewer it plays on across episodes until the window closes (or
    --steps). `steps_kept` (a TransitionRecorder) keeps every step."""
    import torch
    from tqdm import tqdm

    from app.render import make_recorder
    from app.viewer import InteractiveViewer

    steps = args.steps or int(env.max_episode_length)
    recorder = make_recorder(env, run_dir / "videos" / "play", name, args.camera) if args.video else None
    if recorder is not None:
        steps = max(steps, args.video_length)
    viewer = InteractiveViewer(env, args.camera, args.command) if interactive and env.mj_model is not None else None
    until_closed = viewer is not None and args.steps is None

    obs = env.get_observations()
    episode_return = torch.zeros(env.num_envs, device=env.device)
    ended = []  # per step: the return of each env whose episode ended, NaN elsewhere (no host sync)
    last_return = None  # env 0's last finished episode, for the overlay
    bar = tqdm(total=None if until_closed else steps, desc="recording" if recorder else "playing", unit="step",
               leave=False, disable=None)  # fmt: skip
    step = 0
    while step < steps or until_closed:
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
        if recorder is not None and step <= args.video_length:
            recorder.add()
            if step == args.video_length:
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


if __name__ == "__main__":
    sys.exit(run_main("play.py", main))

"""Replay a checkpoint, record it, and export the policy: `python play.py --task CartpoleBalance --algo cppo`.

Finds the newest run of <task>_<algo> (or --load_run / --checkpoint), rebuilds the exact policy from the
configs recorded in the checkpoint, exports it to <run>/exported/policy.{onnx,pt}, then runs it: in
MuJoCo's viewer when a display is present, headless otherwise; --video writes <run>/videos/play/.
Prints the mean return over the episodes that ended. What a replay does, step by step: app/playback.py.
"""

from __future__ import annotations

import sys

from app.cli import Parser, add_task_flags, check_names_early, print_task_list, run_main


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
    add_sampler_flags(parser)
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


def add_sampler_flags(parser) -> None:
    """How the policy is sampled: as trained, or the deployed module (ε, the residual, DIPOLE's ω)."""
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


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        print_task_list()
        return 0
    check_names_early(args, overrides_too=False)  # play's configs come from the checkpoint
    from app.render import configure_gl

    interactive = configure_gl(args.headless or args.export_only)  # before anything imports mujoco
    from app.playback import check_flags, replay

    check_flags(args)
    return replay(args, interactive)


if __name__ == "__main__":
    sys.exit(run_main("play.py", main))

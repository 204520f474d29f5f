"""Train a policy on a registered task: `python train.py --task CartpoleBalance --algo ppo`.

Flags follow Isaac Lab's scripts; any config field can be overridden with key=value
(e.g. `agent.algorithm.learning_rate=3e-4 env.num_envs=512`). Logs go to
<log_root>/<experiment>/<YYYY-MM-DD_HH-MM-SS>[_<run_name>]/. What a run does, step by step: app/training.py.
"""

from __future__ import annotations

import sys

from app.cli import check_names_early, parse_train_args, print_task_list, run_main
from app.cluster import restart_reason


def main(argv: list[str] | None = None) -> int:
    args = parse_train_args(argv)
    if args.list:
        print_task_list()
        return 0
    check_names_early(args, overrides_too=not args.resume and restart_reason() is None)
    from app.training import train  # after the flags are read: a usage error costs no torch import

    return train(args)


if __name__ == "__main__":
    sys.exit(run_main("train.py", main))

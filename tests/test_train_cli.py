"""train.py as a user runs it: the log layout, resume, and one clear line for every bad input."""

import re
from pathlib import Path

import pytest
import torch
import yaml

import tasks

from helpers import one_line_error, run_script, scalars

TINY = ["--max_iterations", "2", "env.num_envs=16", "agent.num_steps_per_env=8", "agent.save_interval=1"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    log_root = tmp_path_factory.mktemp("logs")
    result = run_script("train.py", "--task", "CartpoleBalance", "--log_root", str(log_root), "--run_name", "tiny", *TINY)
    assert result.returncode == 0, result.stderr[-3000:]
    return log_root


def run_dirs(log_root: Path) -> list[Path]:
    return sorted((log_root / "CartpoleBalance_ppo").iterdir())


def test_two_iterations_write_the_rsl_rl_layout(trained):
    (run_dir,) = run_dirs(trained)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}_tiny", run_dir.name)
    assert (run_dir / "model_0.pt").is_file() and (run_dir / "model_1.pt").is_file()
    assert list(run_dir.glob("events.out.tfevents.*"))
    env_cfg = yaml.safe_load((run_dir / "params" / "env.yaml").read_text())
    agent_cfg = yaml.safe_load((run_dir / "params" / "agent.yaml").read_text())
    assert env_cfg["num_envs"] == 16 and agent_cfg["num_steps_per_env"] == 8
    assert torch.load(run_dir / "model_1.pt", weights_only=True)["iter"] == 1
    for tag in ("Loss/surrogate", "Perf/total_fps", "Policy/mean_std"):
        assert [step for step, _ in scalars(run_dir, tag)] == [0, 1]


def test_resume_continues_the_iteration_count_in_the_same_run(trained):
    result = run_script("train.py", "--log_root", str(trained), "--resume", *TINY[2:], "--max_iterations", "4")
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = run_dirs(trained)  # no new run folder
    assert "resuming from" in result.stdout and "model_1.pt" in result.stdout
    assert (run_dir / "model_3.pt").is_file()
    assert torch.load(run_dir / "model_3.pt", weights_only=True)["iter"] == 3
    assert [step for step, _ in scalars(run_dir, "Loss/surrogate")] == [0, 1, 2, 3]


@pytest.mark.parametrize(
    "args, code, needles",
    [
        (["--task", "CartpoleBalanse"], 2, ["unknown task 'CartpoleBalanse'", "CartpoleBalance"]),
        (["--algo", "sac"], 2, ["unknown algorithm 'sac'", "ppo"]),
        (["agent.algorithm.lerning_rate=1"], 2, ["agent.algorithm.learning_rate"]),
        (["agent.algorithm.learning_rate=fast"], 2, ["agent.algorithm.learning_rate", "fast"]),
        (["--num_envs", "0"], 2, ["num_envs", "0"]),
        (["env.num_envs=-4"], 2, ["num_envs", "-4"]),
        (["--max_iterations", "0"], 2, ["max_iterations"]),
        (["--num_envs", "ten"], 2, ["--num_envs"]),
        (["--algo", "cppo", "agent.algorithm.distill_target=median"], 2, ["distill_target", "mean, sample"]),
    ],
)
def test_bad_input_is_one_clear_line(args, code, needles, tmp_path):
    one_line_error(run_script("train.py", "--log_root", str(tmp_path), *args), code, *needles)


def test_unwritable_log_root_is_one_clear_line(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    one_line_error(run_script("train.py", "--log_root", str(blocker / "logs")), 1, "cannot write to log directory", "--log_root")


def test_resume_without_runs_lists_what_exists(tmp_path):
    one_line_error(run_script("train.py", "--log_root", str(tmp_path), "--resume"), 1, "no run", "holds no runs")


def test_list_shows_every_task_with_its_backend():
    result = run_script("train.py", "--list")
    assert result.returncode == 0
    assert re.search(r"CartpoleBalance\s+playground\s+ppo,cppo,dipole\s+\(default\)", result.stdout)
    assert re.search(r"MultiGoal\s+builtin\s+ppo,cppo,dipole", result.stdout)
    listed = [line.split()[0] for line in result.stdout.strip().splitlines()[1:]]  # after the header
    assert listed == sorted(tasks.REGISTRY) + ["Isaac-*"]  # every registered task once, then the pass-through

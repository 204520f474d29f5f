"""Runs that survive a cluster: torchrun's elastic restart after a rank is killed, SLURM's requeue, and one
command that continues its run when re-run — each continues the same run folder, with every checkpoint loadable
and a TensorBoard curve without gaps or repeats."""

import os
import random
import signal
import subprocess
import sys
import time

import pytest
import yaml

from cppo.checkpoint import load_checkpoint
from helpers import ROOT, scalars

# MultiGoal: no JIT compilation, so a process starts in ~2 s. Checkpoints every 3 iterations, so a kill usually
# loses logged iterations that the continued run must log again (without repeating them in TensorBoard).
FAST = ["--task", "MultiGoal", "--algo", "ppo", "agent.save_interval=3", "agent.num_steps_per_env=16",
        "env.num_envs=64"]  # fmt: skip
TRIES = int(os.environ.get("CPPO_CLUSTER_TRIES", "1"))  # the acceptance: CPPO_CLUSTER_TRIES=5


def the_run_continued_whole(log_root, total: int) -> list[dict]:
    """One run folder that reached `total` iterations: every checkpoint loads, TensorBoard logged each iteration
    exactly once. Returns its launches.yaml."""
    (run_dir,) = log_root.glob("MultiGoal_ppo/*")
    saved = sorted(run_dir.glob("model_*.pt"))
    assert saved and all(load_checkpoint(str(path))["iter"] >= 0 for path in saved)
    assert load_checkpoint(str(run_dir / f"model_{total - 1}.pt"))["iter"] == total - 1
    assert [step for step, _ in scalars(run_dir, "Loss/surrogate")] == list(range(total))
    return yaml.safe_load((run_dir / "launches.yaml").read_text())


def wait_for_a_checkpoint(log_root, process: subprocess.Popen) -> None:
    while not list(log_root.glob("MultiGoal_ppo/*/model_3.pt")) and process.poll() is None:
        time.sleep(0.05)


@pytest.mark.parametrize("attempt", range(TRIES))
def test_elastic_restart_after_a_random_rank_is_killed_continues_the_run(attempt, tmp_path):
    """torchrun --max-restarts 1, kill -9 of a random rank at a random moment: the restarted workers continue the
    same run from its newest checkpoint (rank 0 picks it, both load it) and reach max_iterations."""
    rng, total = random.Random(attempt), 40
    process = subprocess.Popen(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "--max-restarts", "1",
         str(ROOT / "train.py"), "--distributed", "--device", "cpu", "--log_root", str(tmp_path), *FAST,
         "--max_iterations", str(total)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )  # fmt: skip
    wait_for_a_checkpoint(tmp_path, process)
    time.sleep(rng.uniform(0.0, 1.5))
    workers = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True).stdout.split()
    os.kill(int(rng.choice(workers)), signal.SIGKILL)
    output, _ = process.communicate(timeout=600)
    assert process.returncode == 0, output[-3000:]
    assert "torchrun restart 1: continues its run" in output and "parameters identical on all 2 ranks" in output
    launches = the_run_continued_whole(tmp_path, total)
    assert [entry["torchelastic_restart_count"] for entry in launches] == [0, 1]
    assert launches[1]["from_iteration"] > 0


def test_the_same_command_run_again_after_kill_9_continues_the_run(tmp_path):
    """`--run_name NAME --resume auto` starts the run NAME the first time and continues it every time after."""
    command = [sys.executable, str(ROOT / "train.py"), "--log_root", str(tmp_path), *FAST, "--max_iterations", "30",
               "--run_name", "walk", "--resume", "auto"]  # fmt: skip
    first = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_a_checkpoint(tmp_path, first)
    time.sleep(0.5)
    first.send_signal(signal.SIGKILL)
    first.wait()
    again = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "(--resume auto)" in again.stdout
    launches = the_run_continued_whole(tmp_path, 30)
    assert [entry["reason"] for entry in launches] == ["--resume auto: no such run yet, starting it", "--resume auto"]


def test_a_requeued_slurm_job_continues_its_run_without_any_flag(tmp_path):
    """SLURM requeues a preempted job with the same SLURM_JOB_ID and SLURM_RESTART_COUNT + 1: the unchanged command
    continues that job's run, and a new job (another id) starts its own."""
    command = [sys.executable, str(ROOT / "train.py"), "--log_root", str(tmp_path), *FAST, "--max_iterations", "30"]
    job = {**os.environ, "SLURM_JOB_ID": "4242"}
    first = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=job)
    wait_for_a_checkpoint(tmp_path, first)
    first.send_signal(signal.SIGKILL)
    first.wait()
    requeued = subprocess.run(
        command, cwd=ROOT, capture_output=True, text=True, timeout=600, env={**job, "SLURM_RESTART_COUNT": "1"}
    )
    assert requeued.returncode == 0, requeued.stderr[-3000:]
    launches = the_run_continued_whole(tmp_path, 30)
    assert [(entry["slurm_job_id"], entry["reason"]) for entry in launches] == [
        ("4242", "new run"),
        ("4242", "SLURM requeue 1: continues its run"),
    ]


def test_a_continued_run_logs_each_iteration_once_in_tensorboard(tmp_path):
    """Iterations logged after the newest checkpoint are run again when a run continues (here: the final
    checkpoint removed, as a kill before that save would): TensorBoard shows each iteration once, the new value."""
    command = [sys.executable, str(ROOT / "train.py"), "--log_root", str(tmp_path), *FAST]
    assert subprocess.run([*command, "--max_iterations", "6"], cwd=ROOT, capture_output=True).returncode == 0
    (run_dir,) = tmp_path.glob("MultiGoal_ppo/*")
    (run_dir / "model_5.pt").unlink()  # the run continues from model_3.pt: iterations 4 and 5 again
    before = dict(scalars(run_dir, "Loss/surrogate"))
    again = subprocess.run([*command, "--max_iterations", "8", "--resume"], cwd=ROOT, capture_output=True, text=True)
    assert again.returncode == 0 and "resuming from" in again.stdout and "model_3.pt" in again.stdout, again.stderr
    assert [step for step, _ in scalars(run_dir, "Loss/surrogate")] == list(range(8))
    after = dict(scalars(run_dir, "Loss/surrogate"))
    assert all(after[step] == before[step] for step in range(4))

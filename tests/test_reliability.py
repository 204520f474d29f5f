"""Never lose a run: SIGKILL at random moments and resume, refuse pickled code, stop on NaN with the last
checkpoint intact, determinism, full disks, and multi-process training (torchrun, gloo)."""

import math
import os
import random
import re
import resource
import signal
import subprocess
import sys
import time

import pytest
import torch

from cppo.checkpoint import load_checkpoint
from cppo.errors import CppoError
from cppo.runner import Runner
from cppo.runs import checkpoints
from envs.multigoal import MultiGoalCfg, MultiGoalEnv
from helpers import ROOT, one_line_error, run_script, scalars
from tasks import get_task

# MultiGoal: no JIT compilation, so a process starts in ~2 s and many kills fit in the suite.
FAST = [
    "--task",
    "MultiGoal",
    "--algo",
    "ppo",
    "agent.save_interval=1",
    "agent.num_steps_per_env=16",
    "env.num_envs=64",
]


def train_process(log_root, *args) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "train.py"), "--log_root", str(log_root), *FAST, *args],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def newest_checkpoint_time(log_root) -> float:
    return max((p.stat().st_mtime for p in log_root.glob("MultiGoal_ppo/*/model_*.pt")), default=0.0)


def test_sigkill_at_random_moments_then_resume_never_loses_the_run(tmp_path):
    """6 SIGKILLs at random moments of training (checkpoints every iteration, and large networks so
    writes take a good share of the time), each followed by --resume: every checkpoint on disk loads and
    the run ends at the requested total, in one run folder. (Each kill costs a process start, ~6 s.)"""
    kills, total, rng, mid_write = 6, 40, random.Random(0), 0
    big = ["agent.policy.actor_hidden_dims=512,512,512", "agent.policy.critic_hidden_dims=512,512,512"]
    for _ in range(kills):
        started = newest_checkpoint_time(tmp_path) > 0
        launched = time.time()
        process = train_process(tmp_path, "--max_iterations", str(total), *big, *(["--resume"] if started else []))
        while newest_checkpoint_time(tmp_path) < launched and process.poll() is None:  # training is under way
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 1.0))
        process.send_signal(signal.SIGKILL)
        process.wait()
        mid_write += bool(list(tmp_path.glob("MultiGoal_ppo/*/*.tmp*")))
        for path in tmp_path.glob("MultiGoal_ppo/*/model_*.pt"):
            load_checkpoint(str(path))  # raises on a truncated or corrupt file
    print(f"{mid_write} of {kills} kills landed inside a checkpoint write")
    finish = train_process(tmp_path, "--max_iterations", str(total), *big, "--resume")
    assert finish.stderr is not None
    assert finish.wait(timeout=600) == 0, finish.stderr.read()[-3000:]
    (run_dir,) = tmp_path.glob("MultiGoal_ppo/*")  # every resume continued the same run
    assert load_checkpoint(str(run_dir / f"model_{total - 1}.pt"))["iter"] == total - 1
    assert not list(run_dir.glob("*.tmp*"))  # interrupted writes were cleaned up
    logged = [step for step, _ in scalars(run_dir, "Loss/surrogate")]
    assert set(range(total)) <= set(logged)


@pytest.mark.parametrize(
    "signum, exit_code",
    [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGUSR1, 138)],
    ids=["SIGINT", "SIGTERM", "SIGUSR1"],
)
def test_interrupt_saves_the_iteration_it_finished_and_resume_continues_from_it(signum, exit_code, tmp_path):
    """Ctrl-C (SIGINT), a cluster's SIGTERM or SLURM's time-limit SIGUSR1 mid-run: the iteration in progress
    finishes and is saved as model_<it>.pt (none would be otherwise: save_interval 1000), one line says where and
    how to resume."""
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "train.py"), "--log_root", str(tmp_path), *FAST, "agent.save_interval=1000",
         "--max_iterations", "1000"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    for line in process.stdout:  # wait until a few iterations are done
        if "Learning iteration 5/" in line:
            break
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == exit_code, stderr[-3000:]
    last = stderr.strip().splitlines()[-1]
    assert "Traceback" not in stderr and "interrupted by" in last and "--resume" in last, stderr
    saved = re.search(r"saved (\S+model_(\d+)\.pt)", last)
    assert saved, last
    iteration = int(saved.group(2))
    assert iteration >= 5 and load_checkpoint(saved.group(1))["iter"] == iteration
    (run_dir,) = tmp_path.glob("MultiGoal_ppo/*")
    assert [p.name for p in checkpoints(run_dir)] == [
        "model_0.pt",
        f"model_{iteration}.pt",
    ]  # (rsl_rl saves iteration 0)
    assert [step for step, _ in scalars(run_dir, "Loss/surrogate")] == list(range(iteration + 1))

    resumed = run_script(
        "train.py", "--log_root", str(tmp_path), *FAST, "--resume", "--max_iterations", str(iteration + 3)
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resuming from {saved.group(1)}" in resumed.stdout
    assert load_checkpoint(str(run_dir / f"model_{iteration + 2}.pt"))["iter"] == iteration + 2


def test_second_ctrl_c_quits_at_once_without_saving(tmp_path):
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "train.py"), "--log_root", str(tmp_path), *FAST, "agent.save_interval=1000",
         "--max_iterations", "1000", "agent.policy.actor_hidden_dims=1024,1024,1024"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    for line in process.stdout:
        if "Learning iteration 2/" in line:
            break
    process.send_signal(signal.SIGINT)
    assert process.stderr is not None
    for line in process.stderr:  # the first one was heard (signals sent back to back may merge into one)
        if "stopping after this iteration" in line:
            break
    process.send_signal(signal.SIGINT)  # an iteration of these wide networks takes seconds: it is still running
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130 and "Traceback" not in stderr, stderr[-3000:]
    assert stderr.strip().splitlines()[-1] == "interrupted; checkpoints written so far are intact"
    assert [p.name for p in checkpoints(next(tmp_path.glob("MultiGoal_ppo/*")))] == ["model_0.pt"]


def test_checkpoint_with_pickled_code_is_refused_and_the_code_does_not_run(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    crafted = tmp_path / "model_3.pt"
    torch.save({"actor_state_dict": {}, "iter": 3, "payload": Payload()}, crafted)
    result = run_script("play.py", "--checkpoint", str(crafted), "--headless")
    one_line_error(result, 1, "refused to load", "pickled code")
    with pytest.raises(CppoError, match="pickled code"):
        load_checkpoint(str(crafted))
    assert not marker.exists()


class NonFiniteAfter(MultiGoalEnv):
    """The real MultiGoal env, emitting NaN in one source from env step `step` on."""

    def __init__(self, cfg, step: int, source: str):
        super().__init__(cfg)
        self.countdown, self.source = step, source

    def step(self, actions):
        obs, rewards, dones, extras = super().step(actions)
        self.countdown -= 1
        if self.countdown <= 0:
            if self.source == "rewards":
                rewards = rewards.clone()
                rewards[3] = math.nan
            else:
                obs["policy"] = obs["policy"].clone()
                obs["policy"][5, 1] = math.inf
        return obs, rewards, dones, extras


@pytest.mark.parametrize("source", ["rewards", "observations"])
def test_nan_guard_names_iteration_and_source_and_keeps_the_last_checkpoint(source, tmp_path):
    agent = get_task("MultiGoal").agent_cfg("ppo")
    agent.save_interval, agent.num_steps_per_env = 1, 10
    env = NonFiniteAfter(MultiGoalCfg(num_envs=32), step=25, source=source)  # step 25: iteration 2
    runner = Runner(env, agent.to_runner_dict("policy"), log_dir=str(tmp_path))
    with pytest.raises(CppoError) as raised:
        runner.learn(10)
    message = str(raised.value)
    assert message.startswith("iteration 2: the env returned non-finite") and source in message
    assert "model_1.pt, is intact" in message
    assert not (tmp_path / "model_2.pt").exists()
    last = load_checkpoint(str(tmp_path / "model_1.pt"))
    assert all(t.isfinite().all() for t in last["actor_state_dict"].values())


def test_same_seed_gives_identical_losses(tmp_path):
    losses = []
    for attempt in range(2):
        log_root = tmp_path / str(attempt)
        result = run_script(
            "train.py",
            "--task",
            "MultiGoal",
            "--algo",
            "cppo",
            "--log_root",
            str(log_root),
            "--max_iterations",
            "3",
            "--seed",
            "7",
        )
        assert result.returncode == 0, result.stderr[-3000:]
        (run_dir,) = log_root.glob("MultiGoal_cppo/*")
        losses.append({tag: scalars(run_dir, tag) for tag in ("Loss/surrogate", "Loss/value", "Loss/flow_matching")})
    assert losses[0] == losses[1]
    assert len(losses[0]["Loss/surrogate"]) == 3


def test_resume_restores_learning_rate_and_rng_streams(tmp_path):
    agent = get_task("MultiGoal").agent_cfg("ppo")
    agent.num_steps_per_env = 10
    env = MultiGoalEnv(MultiGoalCfg(num_envs=32))
    runner = Runner(env, agent.to_runner_dict("policy"), log_dir=str(tmp_path))
    runner.learn(2)
    runner.alg.learning_rate = 3.3e-4
    runner.save(str(tmp_path / "model_1.pt"))
    next_draws, env_stream = torch.rand(3), env.rng_state()

    other_env = MultiGoalEnv(MultiGoalCfg(num_envs=32, seed=99))
    fresh = Runner(other_env, agent.to_runner_dict("policy"), log_dir=str(tmp_path / "b"))
    fresh.load(str(tmp_path / "model_1.pt"))
    assert fresh.current_learning_iteration == 2 and fresh.alg.learning_rate == 3.3e-4
    assert all(group["lr"] == 3.3e-4 for group in fresh.alg.optimizer.param_groups)
    assert torch.equal(torch.rand(3), next_draws)  # the torch stream continues from the saved point
    assert torch.equal(other_env.rng_state(), env_stream)


def test_full_disk_while_saving_is_one_clear_line_and_keeps_earlier_checkpoints(tmp_path):
    """A file-size limit (RLIMIT_FSIZE) makes checkpoint writes fail the way a full disk does."""
    big = ["agent.policy.actor_hidden_dims=256,256", "agent.policy.critic_hidden_dims=256,256"]

    def limit_file_size():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write (EFBIG) instead of killing the process
        resource.setrlimit(resource.RLIMIT_FSIZE, (400_000, 400_000))

    result = subprocess.run(
        [sys.executable, str(ROOT / "train.py"), "--log_root", str(tmp_path), *FAST, *big, "--max_iterations", "3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        preexec_fn=limit_file_size,
        timeout=300,
    )
    one_line_error(result, 1, "cannot write checkpoint", "model_0.pt", "File too large")
    (run_dir,) = tmp_path.glob("MultiGoal_ppo/*")
    assert not list(run_dir.glob("*.pt*"))  # no half-written file left behind


def test_resume_with_a_checkpoint_of_another_size_names_both(tmp_path):
    assert run_script("train.py", "--log_root", str(tmp_path), *FAST, "--max_iterations", "1").returncode == 0
    (checkpoint,) = tmp_path.glob("MultiGoal_ppo/*/model_0.pt")
    result = run_script(
        "train.py",
        "--task",
        "CartpoleBalance",
        "--resume",
        "--checkpoint",
        str(checkpoint),
        "--log_root",
        str(tmp_path),
    )
    one_line_error(result, 1, "MultiGoal", "CartpoleBalance", "size 4", "size 5")


def test_torchrun_two_ranks_on_gloo_end_with_identical_parameters(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            str(ROOT / "train.py"),
            "--distributed",
            "--log_root",
            str(tmp_path),
            *FAST,
            "--max_iterations",
            "3",
            "--device",
            "cpu",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "parameters identical on all 2 ranks" in result.stdout
    (run_dir,) = tmp_path.glob("MultiGoal_ppo/*")  # only rank 0 writes
    assert (run_dir / "model_2.pt").is_file()


def test_distributed_flag_needs_torchrun(tmp_path):
    one_line_error(run_script("train.py", "--distributed", "--log_root", str(tmp_path)), 2, "torchrun")

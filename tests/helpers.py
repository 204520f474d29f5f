"""Shared by the CLI tests: run a script as a user would, read back TensorBoard scalars."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# A locomotion smoke run's sizes: 2 iterations of 16 envs × 8 steps. Every smoke run and conftest's Go1 run use the
# same env count, so that JAX's compilation cache serves the later processes.
SMOKE_ENVS = 16
SMOKE_FLAGS = ("--num_envs", str(SMOKE_ENVS), "--max_iterations", "2", "agent.num_steps_per_env=8")


def run_script(script: str, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / script), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def run_in_process(capsys, script: str, *args: str) -> subprocess.CompletedProcess:
    """`script`'s entry point called in this process, as its `__main__` calls it: the exit code and the streams
    run_script would give, without a new interpreter's ~4 s of imports — for the many refusals that end before an
    env starts. One test per script still runs the real process (run_script), which sees what imports print."""
    import importlib

    from app.cli import run_main

    capsys.readouterr()  # what the test printed before
    code = run_main(script, importlib.import_module(Path(script).stem).main, list(args))
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess([script, *args], code, out, err)


def scalars(run_dir: Path, tag: str) -> list[tuple[int, float]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir))
    events.Reload()
    return [(e.step, e.value) for e in events.Scalars(tag)]


def one_line_error(result: subprocess.CompletedProcess, exit_code: int, *needles: str) -> str:
    """The CLI failed the way users should see it: the exit code, one line on stderr, no traceback."""
    assert result.returncode == exit_code, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def train_cartpole(log_root: Path, *args: str, timeout: float = 600) -> Path:
    """Run train.py on CartpoleBalance and return the run folder."""
    result = run_script("train.py", "--task", "CartpoleBalance", "--log_root", str(log_root), *args, timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    return max(p for p in log_root.glob("CartpoleBalance_*/*") if p.is_dir())


def make_algorithm(agent, obs_dim: int = 3, num_actions: int = 2, num_envs: int = 8, run_left: float | None = 1.0):
    """The algorithm (PPO, CPPO or DIPOLE) an `AgentCfg` describes, built exactly as the runner builds it."""
    from cppo.algorithms import build_without_env

    return build_without_env(agent, obs_dim, num_actions, num_envs, run_left=run_left)


def check_backend_contract(env) -> None:
    """envs/vec_env.py's contract, as every backend must meet it (tests/test_backends.py, tests/test_isaaclab.py)."""
    import torch

    from cppo.errors import UsageError
    from envs.vec_env import CppoVecEnv

    assert isinstance(env, CppoVecEnv)
    n = env.num_envs
    obs = env.get_observations()
    assert "policy" in obs.keys() and obs.batch_size[0] == n
    assert env.episode_length_buf.shape == (n,) and env.max_episode_length > 0
    state = env.rng_state()
    obs = env.reset()
    assert obs.batch_size[0] == n
    # One step before the horizon: every env ends on the next step and reports its true last observation.
    env.episode_length_buf = torch.full((n,), int(env.max_episode_length) - 1, device=env.device)
    obs, rewards, dones, extras = env.step(torch.zeros(n, env.num_actions, device=env.device))
    assert rewards.shape == (n,) and dones.shape == (n,) and extras["time_outs"].shape == (n,)
    assert bool(dones.bool().all()), "an env that reached max_episode_length did not end"
    final = extras["final_observations"]
    assert set(final.keys()) == set(obs.keys())
    assert all(final[key].shape == obs[key].shape for key in obs.keys())
    assert isinstance(env.deployment_info, dict) and env.deployment_info
    if env.mj_model is not None:  # a MuJoCo scene: the viewer and videos need these too
        assert env.step_dt > 0 and "qpos" in env.physics_state(0)
    plane = env.plane_positions()
    assert plane is None or plane.shape == (n, 2)
    assert isinstance(env.has_command, bool)
    if not env.has_command:
        try:
            env.set_command((0.5, 0.0, 0.0))
            raise AssertionError("set_command accepted by an env without a command")
        except UsageError:
            pass
    if state is not None:  # restoring the env's random stream replays the same steps
        env.set_rng_state(env.rng_state())

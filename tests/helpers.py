"""Shared by the CLI tests: run a script as a user would, read back TensorBoard scalars."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_script(script: str, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / script), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


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


def make_algorithm(agent, obs_dim: int = 3, num_actions: int = 2, num_envs: int = 8):
    """The algorithm (PPO, CPPO or DIPOLE) an `AgentCfg` describes, built exactly as the runner builds it."""
    from cppo.algorithms import build_without_env

    return build_without_env(agent, obs_dim, num_actions, num_envs)

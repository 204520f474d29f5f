"""Run directories and checkpoints, laid out like rsl_rl / Isaac Lab:
`<log_root>/<experiment>/<YYYY-MM-DD_HH-MM-SS>[_<run_name>]/model_<iteration>.pt`."""

from __future__ import annotations

import os
import re
from datetime import datetime
from pathlib import Path

from cppo.errors import CppoError

CHECKPOINT_PATTERN = re.compile(r"model_(\d+)\.pt$")


def new_run_dir(log_root: str, experiment: str, run_name: str = "") -> Path:
    """Create and return a fresh, writable run directory."""
    stamp = datetime.now().strftime("%Y-%m-%d_%H-%M-%S")
    path = Path(log_root).expanduser().resolve() / experiment / (f"{stamp}_{run_name}" if run_name else stamp)
    try:
        path.mkdir(parents=True, exist_ok=False)
        probe = path / ".write_test"
        probe.write_bytes(b"")
        probe.unlink()
    except FileExistsError:
        raise CppoError(f"run directory {path} already exists (two runs started in the same second?); retry") from None
    except OSError as err:
        raise CppoError(
            f"cannot write to log directory {path.parent}: {err.strerror}; pass a writable --log_root"
        ) from None
    return path


def find_run(log_root: str, experiment: str, load_run: str = "") -> Path:
    """The newest run of an experiment, or the newest whose name matches the regex `load_run`."""
    root = Path(log_root).expanduser().resolve() / experiment
    runs = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    if load_run:
        runs = [p for p in runs if named(load_run, p.name)]
    if not runs:
        existing = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
        if not root.is_dir():
            listing = "the folder does not exist"
        else:
            listing = f"runs there: {', '.join(existing[-5:])}" if existing else "it holds no runs"
        raise CppoError(f"no run {'matching ' + repr(load_run) + ' ' if load_run else ''}in {root}: {listing}")
    return runs[-1]


def named(pattern: str, name: str) -> bool:
    """`name` is `pattern`, or matches it as a regex (a pattern that is no regex, e.g. "[", only as a name)."""
    try:
        return name == pattern or re.fullmatch(pattern, name) is not None
    except re.error:
        return False


def checkpoints(run_dir: Path) -> list[Path]:
    """model_<it>.pt files of a run, by iteration."""
    found = [(int(m.group(1)), p) for p in run_dir.iterdir() if (m := CHECKPOINT_PATTERN.match(p.name))]
    return [p for _, p in sorted(found)]


def find_checkpoint(run_dir: Path, checkpoint: str = "") -> Path:
    """A checkpoint by path, by file name / regex inside the run, or the newest one."""
    if checkpoint and (os.path.sep in checkpoint or Path(checkpoint).exists()):
        path = Path(checkpoint).expanduser()
        if path.is_file():
            return path
        if path.is_dir():
            raise CppoError(f"checkpoint {path} is a directory; {listing(path)}")
        raise CppoError(f"checkpoint {path} does not exist; {listing(path.parent)}")
    if checkpoint and (run_dir / checkpoint).is_file():  # an exact name, e.g. model_best.pt
        return run_dir / checkpoint
    found = checkpoints(run_dir)
    if checkpoint:
        found = [p for p in found if named(checkpoint, p.name)]
    if not found:
        raise CppoError(f"no checkpoint {repr(checkpoint) + ' ' if checkpoint else ''}in {run_dir}; {listing(run_dir)}")
    return found[-1]


def locate_checkpoint(log_root: str, experiment: str, load_run: str = "", checkpoint: str = "") -> Path:
    """The checkpoint train.py's and play.py's flags name: `checkpoint` as a file path; otherwise the newest run
    of the experiment (or the one `load_run` names) and its newest checkpoint (or `checkpoint`'s name/regex;
    "latest" is the newest)."""
    if checkpoint and checkpoint != "latest" and (os.sep in checkpoint or Path(checkpoint).exists()):
        return find_checkpoint(Path(checkpoint).parent, checkpoint)
    run_dir = find_run(log_root, experiment, load_run)
    return find_checkpoint(run_dir, "" if checkpoint == "latest" else checkpoint)


def listing(run_dir: Path) -> str:
    """What checkpoints a folder does hold, for error messages."""
    if not run_dir.is_dir():
        return f"{run_dir} does not exist either"
    names = [p.name for p in checkpoints(run_dir)]
    if not names:
        return f"{run_dir} holds no model_<iteration>.pt"
    shown = ", ".join(names[-5:])
    return f"checkpoints there: {shown}" if len(names) <= 5 else f"checkpoints there ({len(names)}): ..., {shown}"

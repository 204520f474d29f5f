import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(ROOT))
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")


@pytest.fixture(scope="session")
def menagerie_dir() -> Path:
    path = SHARED / "menagerie"
    if not path.is_dir():
        pytest.skip(f"{path} is missing (CI clones the repo with ../shared beside it)")
    return path


@pytest.fixture(scope="session")
def balanced_cartpole(tmp_path_factory) -> Path:
    """A run of the main job (`python train.py`: CartpoleBalance, CPPO, the default 150 iterations), trained to
    balance: about two minutes on 2 cores. Shared by the learning test and the play/export/sim2sim tests."""
    from helpers import train_cartpole

    return train_cartpole(tmp_path_factory.mktemp("balanced"), "--seed", "1", timeout=1800)


@pytest.fixture(scope="session")
def go1_run(menagerie_dir, tmp_path_factory) -> tuple[Path, list[str]]:
    """A Go1JoystickFlatTerrain CPPO smoke run (two small CPU iterations: enough for the viewer, the export parity
    tests and test_locomotion's smoke checks, not for walking): its log root and the task flags that find it."""
    from helpers import SMOKE_FLAGS, run_script

    root = tmp_path_factory.mktemp("go1")
    task = ["--task", "Go1JoystickFlatTerrain", "--menagerie_dir", str(menagerie_dir), "--log_root", str(root)]
    trained = run_script("train.py", *task, *SMOKE_FLAGS)
    assert trained.returncode == 0, trained.stderr[-3000:]
    return root, task

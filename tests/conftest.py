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

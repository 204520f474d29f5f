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

# Isaac Lab 3 lives in its own venv (envs/install_isaaclab.sh), not in the Python pyright checks with;
# typed as Any here rather than flagging every use.
from typing import Any

def __getattr__(name: str) -> Any: ...

# MuJoCo's Python bindings are a compiled extension without type stubs, so pyright cannot see its
# functions and enums; this stub types the module as Any rather than flagging every use.
from typing import Any

def __getattr__(name: str) -> Any: ...

"""Files that appear whole or not at all: written under a temporary name in the same folder, then renamed
(rename is atomic), so a crash, kill -9 or full disk mid-write never leaves half a checkpoint, export,
dataset or video behind."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def partial_path(final: str | Path, keep_suffix: bool = False) -> Path:
    """The temporary name `final` is written under: `<name>.tmp<pid>`, or hidden `.<stem>.tmp<pid><suffix>`
    when the writer picks its format by suffix (ffmpeg)."""
    final = Path(final)
    name = f".{final.stem}.tmp{os.getpid()}{final.suffix}" if keep_suffix else f"{final.name}.tmp{os.getpid()}"
    return final.with_name(name)


@contextmanager
def atomic_path(final: str | Path, keep_suffix: bool = False) -> Iterator[str]:
    """`with atomic_path(final) as tmp:` write tmp; it replaces `final` only if the block succeeds."""
    tmp = partial_path(final, keep_suffix)
    try:
        yield str(tmp)
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write_bytes(data: bytes | memoryview, final: str | Path) -> None:
    """Write, flush to disk (fsync), then rename: what a checkpoint needs to survive a power cut."""
    with atomic_path(final) as tmp, open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())

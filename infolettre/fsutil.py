"""Atomic file writes: a reader sees the old file or the new one, never half of one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write", "fingerprint"]


def atomic_write(path: Path, data: str | bytes, mode: int | None = None) -> None:
    """Write ``data`` to a temporary file beside ``path``, flush it, then rename it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode if mode is not None else 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def fingerprint(*places: Path) -> tuple:
    """What changes when a file below ``places`` (folders or files) is added, edited or
    removed: paths, sizes and modification times, sorted."""
    files: list[Path] = []
    for place in places:
        if place.is_dir():
            files += [p for p in place.rglob("*") if p.is_file()]
        elif place.is_file():
            files.append(place)
    return tuple(sorted((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files))


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current

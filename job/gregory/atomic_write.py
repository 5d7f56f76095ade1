"""Files and directories that a reader sees whole or not at all: the one way this project writes
what another process may read meanwhile (the current.json pointer, cached summaries, checkpoints,
the launcher's run records).

A file is written to a unique temporary name beside its target (so two writers never share one),
flushed and fsynced, then renamed over the target with os.replace, and the directory fsynced, so
neither a kill nor a power cut leaves a half-written file under the real name. Pure Python: the
launcher uses it too.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


def process_umask() -> int:
    """The process umask, read without setting it (os.umask would race other threads)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_file(
    path: Path, *, text: bool = True, mode: int | None = None, durable: bool = True
) -> Iterator[IO[Any]]:
    """A handle on a temporary file that becomes `path` when the block ends without error.

    `mode` defaults to what a plain open() would create (0666 less the umask), not mkstemp's
    0600: the site, the launcher and other pods read these files. `durable=False` keeps the
    all-or-nothing rename but skips both fsyncs: for a cache, where an entry lost to a power
    cut is only a miss.
    """
    handle_fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(handle_fd, (0o666 & ~process_umask()) if mode is None else mode)
        with os.fdopen(
            handle_fd, "w" if text else "wb", encoding="utf-8" if text else None
        ) as handle:
            yield handle
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    if durable:
        fsync_directory(path.parent)


def write_atomic(
    path: Path, content: str | bytes, *, mode: int | None = None, durable: bool = True
) -> None:
    """Replace `path` with `content`, all or nothing."""
    with atomic_file(path, text=isinstance(content, str), mode=mode, durable=durable) as handle:
        handle.write(content)


def fsync_directory(path: Path) -> None:
    """Make a rename or a new entry in `path` durable."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def fsync_tree(root: Path) -> None:
    """Every file under `root`, then `root` itself, on disk: before a rename publishes them."""
    for path in root.rglob("*"):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
    fsync_directory(root)

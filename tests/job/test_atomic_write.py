"""gregory.atomic_write: a reader sees the old file or the new one, never a part, never a temp."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from gregory.atomic_write import atomic_file, write_atomic


def test_a_failed_write_leaves_the_old_content_and_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "current.json"
    write_atomic(target, "old\n")
    with pytest.raises(RuntimeError), atomic_file(target) as handle:
        handle.write("half of the new")
        raise RuntimeError("killed mid-write")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["current.json"]


def test_the_file_gets_a_plain_files_mode_not_mkstemps(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        write_atomic(tmp_path / "a", b"\x00bytes")
        write_atomic(tmp_path / "b", "text", mode=0o600)
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "b").stat().st_mode) == 0o600
    assert (tmp_path / "a").read_bytes() == b"\x00bytes"


def test_concurrent_writers_of_one_file_never_share_a_temporary_name(tmp_path: Path) -> None:
    target = tmp_path / "entry.json"
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for _ in range(50):
                write_atomic(target, f"{n}" * 1000)
        except BaseException as error:  # collected: a thread's failure must fail the test
            errors.append(error)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    content = target.read_text()
    assert len(content) == 1000 and len(set(content)) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["entry.json"]

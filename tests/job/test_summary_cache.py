"""The summary cache's files: keys, damaged entries, and two processes writing the same keys."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from gregory.ml.data.summary_cache import SummaryCache, cache_root
from tests.support.paths import REPO


@pytest.fixture
def cache(tmp_path: Path) -> SummaryCache:
    return SummaryCache(
        root=tmp_path / "cache",
        model="facebook/bart-large-cnn",
        revision="37f520fa929c961707657b28798b30c003dd100b",
        precision="float32",
        max_summary_tokens=300,
        max_input_tokens=1024,
    )


def test_off_unless_a_directory_is_set(settings, tmp_path):
    settings.GREGORY_SUMMARY_CACHE_DIR = ""
    assert cache_root() is None
    settings.GREGORY_SUMMARY_CACHE_DIR = str(tmp_path)
    assert cache_root() == tmp_path


def test_a_stored_summary_comes_back_in_a_sharded_file(cache):
    assert cache.get("an abstract") is None
    assert cache.put("an abstract", "a summary")
    assert cache.get("an abstract") == "a summary"
    key = cache.key("an abstract")
    assert cache.path(key) == cache.root / key[:2] / key[2:4] / f"{key}.json"
    assert [p.name for p in cache.root.rglob("*") if p.is_file()] == [f"{key}.json"]


@pytest.mark.parametrize(
    "change",
    [
        {"model": "sshleifer/distilbart-cnn-12-6"},
        {"revision": "0000000000000000000000000000000000000000"},
        {"revision": None},
        {"precision": "bfloat16"},
        {"max_summary_tokens": 200},
        {"max_input_tokens": 512},
    ],
)
def test_the_key_changes_with_the_model_revision_precision_and_limits(cache, change):
    cache.put("an abstract", "a summary")
    other = replace(cache, **change)
    assert other.key("an abstract") != cache.key("an abstract")
    assert other.get("an abstract") is None


def test_the_key_changes_with_the_text(cache):
    assert cache.key("an abstract") != cache.key("an abstract.")


@pytest.mark.parametrize(
    "content",
    [b"", b'{"key": "', b"\xff\xfe", b"[]", b'{"key": "other", "summary": "x"}', b'{"key": 1}'],
)
def test_a_damaged_entry_is_a_miss_and_is_rewritten(cache, content):
    cache.put("an abstract", "a summary")
    path = cache.path(cache.key("an abstract"))
    path.write_bytes(content)
    assert cache.get("an abstract") is None
    assert cache.put("an abstract", "a summary")
    assert cache.get("an abstract") == "a summary"


def test_a_read_only_volume_does_not_fail_the_caller(cache):
    cache.root.parent.mkdir(exist_ok=True)
    cache.root.write_text("a file where the cache directory should be")
    assert cache.put("an abstract", "a summary") is False
    assert cache.get("an abstract") is None


WRITER = """
import sys
from pathlib import Path
from gregory.ml.data.summary_cache import SummaryCache

cache = SummaryCache(Path(sys.argv[1]), "m", "r", "float32", 300, 1024)
for round in range(5):
    for i in range(200):
        assert cache.put(f"text {i}", f"summary {i}")
        # The other writer may replace the file at any moment: never half of it.
        assert cache.get(f"text {i}") == f"summary {i}"
"""


def test_two_processes_writing_the_same_keys(cache):
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(cache.root)],
            env={"PYTHONPATH": str(REPO / "job")},
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for writer in writers:
        _, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
    files = [p for p in cache.root.rglob("*") if p.is_file()]
    assert len(files) == 200  # one per key, no temporary file left behind
    stored = SummaryCache(cache.root, "m", "r", "float32", 300, 1024)
    for i in range(200):
        assert stored.get(f"text {i}") == f"summary {i}"
        entry = json.loads(stored.path(stored.key(f"text {i}")).read_text())
        assert entry == {"key": stored.key(f"text {i}"), "summary": f"summary {i}"}

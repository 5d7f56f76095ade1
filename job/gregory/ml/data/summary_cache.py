"""An opt-in cache of summaries on disk (`GREGORY_SUMMARY_CACHE_DIR`; unset or empty: off).

The same article is summarised again every night by every subject that holds it; with the cache
BART sees only texts it has not summarised before with the same model, revision, precision and
length limits. One small JSON file per summary, in directories sharded by the key's first bytes,
written to a temporary name and renamed (os.replace): concurrent Jobs on a shared RWX (NFS)
volume never see half a file, and two writers of one key write the same summary. No SQLite: its
locking is not safe on NFS. A file that cannot be read or does not match its key is a miss.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from gregory.atomic_write import write_atomic
from gregory.ml.core import config

SETTING = "GREGORY_SUMMARY_CACHE_DIR"
# Bumped when the entries' format or meaning changes, so old entries stop matching.
FORMAT = 1


def cache_root() -> Path | None:
    value = config.setting(SETTING).strip()
    return Path(value) if value else None


@dataclass(frozen=True)
class SummaryCache:
    """Summaries under `root` for one summariser set-up: everything that shapes its output."""

    root: Path
    model: str
    revision: str | None
    precision: str
    max_summary_tokens: int
    max_input_tokens: int

    def _prefix(self) -> bytes:
        setup = {
            "format": FORMAT,
            "model": self.model,
            "revision": self.revision,
            "precision": self.precision,
            "max_summary_tokens": self.max_summary_tokens,
            "max_input_tokens": self.max_input_tokens,
        }
        return json.dumps(setup, sort_keys=True).encode() + b"\0"

    def key(self, text: str) -> str:
        digest = hashlib.sha256(self._prefix())
        digest.update(hashlib.sha256(text.encode()).digest())
        return digest.hexdigest()

    def path(self, key: str) -> Path:
        return self.root / key[:2] / key[2:4] / f"{key}.json"

    def get(self, text: str) -> str | None:
        """The cached summary of `text`, or None (absent, unreadable or not this key's)."""
        key = self.key(text)
        try:
            entry = json.loads(self.path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(entry, dict) or entry.get("key") != key:
            return None
        summary = entry.get("summary")
        return summary if isinstance(summary, str) else None

    def put(self, text: str, summary: str) -> bool:
        """Store a summary; False when the volume refused (the run goes on without caching)."""
        key = self.key(text)
        path = self.path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # One write per summary in the summarising loop: no fsync, a lost entry is a miss.
            entry = json.dumps({"key": key, "summary": summary})
            write_atomic(path, entry, durable=False)
        except OSError:
            return False
        return True

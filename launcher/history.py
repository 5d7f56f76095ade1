"""History: every PredictionRunLog row (any trigger), joined to the launcher's runs where the
names match, with what the version it published measured (its metrics.json). A version directory
gregory-train did not write (GregoryAI's own, in a shared models directory) is named as refused
and its metrics.json is not read as ours."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from launcher import db
from launcher.backends.base import RunInfo
from launcher.outcomes import row_outcome


@dataclass(frozen=True)
class Entry:
    row: db.RunRow
    outcome: str
    run: RunInfo | None = None
    model_dir: Path | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    # metrics.json of the version trained before this one (same team/subject/algorithm).
    previous: dict[str, Any] | None = None
    previous_version: str | None = None
    # The one-line refusal when the row's version directory is not one gregory-train wrote.
    foreign: str | None = None
    # The version is the one current.json promotes (a training row of ours only).
    promoted: bool = False

    def number(self, key: str) -> float | None:
        value = self.metrics.get(key)
        return value if isinstance(value, int | float) and not isinstance(value, bool) else None

    @property
    def roc_auc(self) -> str:
        return roc_auc_text(self.metrics)

    @property
    def f1(self) -> str:
        value = self.number("test_f1")
        return "-" if value is None else f"{value:.3f}"

    @property
    def n_train(self) -> str:
        value = self.number("n_train")
        return "-" if value is None else str(int(value))

    @property
    def decision(self) -> str:
        if self.foreign:
            return "foreign"
        return str(self.metrics.get("decision") or "-")

    @property
    def duration(self) -> str:
        if self.row.finished is None:
            return "-"
        seconds = int((self.row.finished - self.row.started).total_seconds())
        return f"{seconds // 60}m{seconds % 60:02d}s"

    @property
    def report(self) -> Path | None:
        from gregory.ml.core.layout import REPORT_FILE

        if self.foreign or self.model_dir is None or not (self.model_dir / REPORT_FILE).is_file():
            return None
        return self.model_dir / REPORT_FILE

    def changes(self) -> list[tuple[str, str, str, str]]:
        """(metric, value, previous value, change) for every metric of this version."""
        before = self.previous or {}
        out = []
        for key, value in self.metrics.items():
            old = before.get(key)
            change = ""
            if _is_number(value) and _is_number(old):
                change = f"{value - old:+.4g}"
            out.append((key, _show(value), "" if old is None else _show(old), change))
        return out


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _show(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return str(value)


def version_dir(row: db.RunRow) -> Path | None:
    """Where the row's version is published, if it names one that exists."""
    from gregory.ml.core.layout import algorithm_dir

    if not row.model_version or not row.algorithm:
        return None
    try:
        path = algorithm_dir(row.team, row.subject, row.algorithm) / row.model_version
    except ValueError:  # not slugs: nothing of ours on disk
        return None
    return path if path.is_dir() else None


def refused(path: Path | None) -> str | None:
    """The refusal line when `path` holds a version gregory-train did not write."""
    from gregory.ml.store.provenance import foreign

    return None if path is None else foreign(path)


def read_metrics(path: Path | None) -> dict[str, Any]:
    from gregory.ml.core.layout import METRICS_FILE

    if path is None:
        return {}
    try:
        data = json.loads((path / METRICS_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def promoted_version(team: str, subject: str, algorithm: str | None) -> str | None:
    """The version current.json promotes for this team/subject/algorithm; None when there is no
    pointer, or one that cannot be trusted (it names nothing until promote_version repairs it)."""
    from gregory.ml.core.layout import algorithm_dir
    from gregory.ml.store.promotion import read_current
    from gregory.ml.store.provenance import PointerDamaged

    if not algorithm:
        return None
    try:
        pointer = read_current(algorithm_dir(team, subject, algorithm))
    except (ValueError, PointerDamaged):  # not slugs, or a damaged pointer
        return None
    return None if pointer is None else str(pointer["version"])


def row_metrics(row: db.RunRow) -> dict[str, Any]:
    """The metrics.json of the version a training row published; {} for a prediction row, a
    version not (or no longer) there, or one gregory-train did not write."""
    path = version_dir(row) if row.run_type == "train" else None
    return {} if refused(path) else read_metrics(path)


def roc_auc_text(metrics: dict[str, Any]) -> str:
    """`0.912 [0.880-0.940]`: the test ROC-AUC with its interval where known, else `-`."""
    value, low, high = (
        metrics.get(key) for key in ("test_roc_auc", "test_roc_auc_ci_low", "test_roc_auc_ci_high")
    )
    if not _is_number(value):
        return "-"
    interval = f" [{low:.3f}-{high:.3f}]" if _is_number(low) and _is_number(high) else ""
    return f"{value:.3f}{interval}"


def headline(metrics: dict[str, Any]) -> dict[str, Any]:
    """The test metrics a table or a script compares first, None where not measured."""
    keys = ("test_roc_auc", "test_roc_auc_ci_low", "test_roc_auc_ci_high", "test_f1")
    found: dict[str, Any] = {
        key: metrics.get(key) if _is_number(metrics.get(key)) else None for key in keys
    }
    found["decision"] = (
        metrics.get("decision") if isinstance(metrics.get("decision"), str) else None
    )
    return found


def build(rows: Sequence[db.RunRow], runs: Sequence[RunInfo]) -> list[Entry]:
    """Entries newest first, as the rows come; each training version knows the one before."""
    names = {run.name: run for run in runs}
    entries: list[Entry] = []
    published: dict[tuple[str, str, str | None], list[Entry]] = {}
    # current.json read once per team/subject/algorithm.
    promoted: dict[tuple[str, str, str | None], str | None] = {}
    for row in reversed(rows):  # oldest first, to know each version's predecessor
        run = names.get(row.triggered_by or "")
        path = version_dir(row) if row.run_type == "train" else None
        foreign = refused(path)
        metrics = {} if foreign else read_metrics(path)
        key = (row.team, row.subject, row.algorithm)
        # The newest earlier version; rows naming this same version do not count.
        earlier = published.get(key, []) if row.run_type == "train" else []
        before = next(
            (e for e in reversed(earlier) if e.row.model_version != row.model_version), None
        )
        is_promoted = False
        if path is not None and not foreign:
            if key not in promoted:
                promoted[key] = promoted_version(*key)
            is_promoted = promoted[key] == row.model_version
        entry = Entry(
            row,
            row_outcome(row, run),
            run,
            path,
            metrics,
            before.metrics if before else None,
            before.row.model_version if before else None,
            foreign,
            is_promoted,
        )
        if metrics and row.run_type == "train":
            published.setdefault(key, []).append(entry)
        entries.append(entry)
    entries.reverse()
    return entries


# The keys a history search knows, with the field each one reads.
KEYS: dict[str, Callable[[Entry], str]] = {
    "team": lambda e: e.row.team,
    "subject": lambda e: e.row.subject,
    "algo": lambda e: e.row.algorithm or "",
    "algorithm": lambda e: e.row.algorithm or "",
    "state": lambda e: e.outcome,
    "type": lambda e: e.row.run_type,
    "version": lambda e: e.row.model_version,
    "by": lambda e: e.row.triggered_by or "",
    "decision": lambda e: e.decision,
    "promoted": lambda e: "yes" if e.promoted else "no",
}
# `name:value` with a name of letters: a key, known or not. "ValueError:" (no value) or a URL's
# "https://…" stays free text.
_KEYED = re.compile(r"^([a-z_]+):(.+)$")


@dataclass(frozen=True)
class Query:
    """A parsed search: `key:value` terms and free words, all of which must match."""

    keyed: tuple[tuple[str, str], ...] = ()
    words: tuple[str, ...] = ()
    # Keys the search names that KEYS does not know: such a term matches nothing.
    unknown: tuple[str, ...] = ()

    @property
    def problem(self) -> str | None:
        """One line naming the unknown keys and the known ones, None when every key is known."""
        if not self.unknown:
            return None
        names = ", ".join(self.unknown)
        plural = "s" if len(self.unknown) > 1 else ""
        return f"unknown key{plural} {names} (keys: {', '.join(KEYS)})"

    def matches(self, entry: Entry) -> bool:
        if self.unknown:
            return False
        for name, value in self.keyed:
            if value not in KEYS[name](entry).lower():
                return False
        if not self.words:
            return True
        row = entry.row
        text = " ".join([*(read(entry) for read in KEYS.values()), row.error or ""]).lower()
        return all(word in text for word in self.words)


def parse_query(text: str) -> Query:
    """`team:x algo:lstm state:failed oom` → Query; unknown keys are named, not guessed at."""
    keyed: list[tuple[str, str]] = []
    words: list[str] = []
    unknown: list[str] = []
    for term in text.lower().split():
        found = _KEYED.match(term)
        if found is None:
            words.append(term)
        elif found[1] in KEYS:
            keyed.append((found[1], found[2]))
        elif found[1] not in unknown:
            unknown.append(found[1])
    return Query(tuple(keyed), tuple(words), tuple(unknown))

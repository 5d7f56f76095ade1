"""What articles.ml_score and articles.relevant should be, computed in plain Python from the rows.

Written from GregoryAI's rules as words (docs/prediction.md, gregory.ml.derived_fields'
docstring), not from any SQL, so the job's set-based UPDATEs are checked against an independent
reading:

- ml_score: for every (subject, algorithm) of the article, its latest row among those with a
  score (latest: greatest created_date; a tie goes to the row written last, the greatest id);
  the mean of those scores; None when the article has no scored row.
- relevant: some relevance row of the article says is_relevant True, or some subject linked to
  the article, with auto_predict on, has enough agreeing algorithms: an algorithm agrees when a
  row at its latest created_date for (article, subject, algorithm) has predicted_relevant True
  and a score of at least 0.8; enough is 3 for 'all', 2 for 'majority', 1 otherwise.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

THRESHOLD = 0.8
NEEDED = {"all": 3, "majority": 2}


@dataclass(frozen=True)
class Prediction:
    id: int
    article_id: int
    subject_id: int
    algorithm: str
    created: dt.datetime
    score: float | None
    predicted_relevant: bool | None


@dataclass(frozen=True)
class Rows:
    predictions: list[Prediction]
    # Articles some reviewer marked relevant, for any subject.
    marked_relevant: set[int]
    # (article_id, subject_id) pairs of articles_subjects.
    links: set[tuple[int, int]]
    # subject id -> (auto_predict, ml_consensus_type)
    subjects: dict[int, tuple[bool, str]]


def ml_score(rows: Rows, article_id: int) -> float | None:
    latest: dict[tuple[int, str], Prediction] = {}
    for p in rows.predictions:
        if p.article_id != article_id or p.score is None:
            continue
        key = (p.subject_id, p.algorithm)
        if key not in latest or (p.created, p.id) > (latest[key].created, latest[key].id):
            latest[key] = p
    if not latest:
        return None
    return sum(p.score for p in latest.values()) / len(latest)


def relevant(rows: Rows, article_id: int) -> bool:
    if article_id in rows.marked_relevant:
        return True
    by_pair: dict[tuple[int, str], list[Prediction]] = defaultdict(list)
    for p in rows.predictions:
        if p.article_id == article_id:
            by_pair[(p.subject_id, p.algorithm)].append(p)
    agreeing: dict[int, set[str]] = defaultdict(set)
    for (subject_id, algorithm), predictions in by_pair.items():
        newest = max(p.created for p in predictions)
        for p in predictions:
            confident = p.score is not None and p.score >= THRESHOLD
            if p.created == newest and p.predicted_relevant is True and confident:
                agreeing[subject_id].add(algorithm)
    for subject_id, algorithms in agreeing.items():
        auto_predict, consensus = rows.subjects[subject_id]
        linked = (article_id, subject_id) in rows.links
        if linked and auto_predict and len(algorithms) >= NEEDED.get(consensus, 1):
            return True
    return False


def expected(rows: Rows, article_ids: Iterable[int]) -> dict[int, tuple[float | None, bool]]:
    return {a: (ml_score(rows, a), relevant(rows, a)) for a in article_ids}


def read_rows(cursor) -> Rows:
    """The rows, read with plain SELECTs through any DB-API cursor (Django's or psycopg's)."""
    cursor.execute(
        "SELECT id, article_id, subject_id, algorithm, created_date, probability_score, "
        "predicted_relevant FROM gregory_mlpredictions WHERE article_id IS NOT NULL"
    )
    predictions = [
        Prediction(
            id=i,
            article_id=a,
            subject_id=s,
            algorithm=algorithm,
            created=_as_datetime(created),
            score=score,
            predicted_relevant=None if said is None else bool(said),
        )
        for i, a, s, algorithm, created, score, said in cursor.fetchall()
    ]
    cursor.execute("SELECT article_id, is_relevant FROM gregory_articlesubjectrelevance")
    marked = {a for a, is_relevant in cursor.fetchall() if is_relevant}
    cursor.execute("SELECT articles_id, subject_id FROM articles_subjects")
    links = {(a, s) for a, s in cursor.fetchall()}
    cursor.execute("SELECT id, auto_predict, ml_consensus_type FROM subjects")
    subjects = {s: (bool(auto), consensus) for s, auto, consensus in cursor.fetchall()}
    return Rows(predictions, marked, links, subjects)


def read_fields(cursor) -> dict[int, tuple[float | None, bool]]:
    """What the articles table holds: article id -> (ml_score, relevant)."""
    cursor.execute("SELECT article_id, ml_score, relevant FROM articles")
    return {a: (score, bool(flag)) for a, score, flag in cursor.fetchall()}


def _as_datetime(value) -> dt.datetime:
    # A raw SQLite cursor hands back text; PostgreSQL's, a datetime.
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)


def mismatches(cursor, article_ids: Iterable[int] | None = None) -> list[str]:
    """One line per article whose stored fields differ from the oracle's (scores to 1e-9)."""
    rows, stored = read_rows(cursor), read_fields(cursor)
    ids = sorted(stored if article_ids is None else article_ids)
    problems = []
    for article_id, (score, flag) in expected(rows, ids).items():
        have_score, have_flag = stored[article_id]
        same_score = (score is None and have_score is None) or (
            score is not None and have_score is not None and abs(score - have_score) <= 1e-9
        )
        if not same_score or flag != have_flag:
            problems.append(
                f"article {article_id}: stored ({have_score}, {have_flag}), "
                f"expected ({score}, {flag})"
            )
    return problems

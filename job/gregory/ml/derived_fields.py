"""articles.ml_score and articles.relevant: what GregoryAI's readers take from our predictions.

GregoryAI derives both columns from `gregory_mlpredictions` and the relevance rows, and keeps
them in step with signals that `bulk_create` never fires; its own predict_articles recomputes
them after each batch. So do we, for the batch's articles, with GregoryAI's rules (7183020):

- ml_score: the mean probability_score of the article's latest prediction per (subject,
  algorithm), over every subject, ignoring rows without a score; NULL when none is left.
- relevant: a reviewer marked the article relevant for any subject, or, for a subject linked
  through `articles_subjects` with auto_predict on, enough algorithms agree: their latest row
  (all rows at the latest created_date count) says predicted_relevant with a score of at least
  CONSENSUS_THRESHOLD, from at least 1 ('any'), 2 ('majority') or 3 ('all') algorithms.

Each field is one set-based UPDATE per batch, touching only the rows whose value changes. Two
rows of a pair at the same created_date are a tie GregoryAI leaves to the planner; for
ml_score we take the one written last (greatest id), so the result does not depend on a plan.
SQLite needs 3.35 (UPDATE ... FROM, RETURNING); Django 5.2's floor is lower, Debian's is 3.40.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from django.db import connection, transaction

from gregory.models import Articles

# GregoryAI's constant for the consensus, whatever threshold a prediction run used.
CONSENSUS_THRESHOLD = 0.8
# Algorithms that must agree, by subjects.ml_consensus_type; any other value means 1.
CONSENSUS_MINIMUM = {"all": 3, "majority": 2}

# "is one of the batch's ids", one parameter whatever the batch size: PostgreSQL's array lets
# the planner reach articles through its primary key; SQLite reads a JSON list.
_IN_IDS = {
    "postgresql": "= ANY(%s::integer[])",
    "sqlite": "IN (SELECT value FROM json_each(%s))",
}
# NULL-safe inequality, so a NULL ml_score that stays NULL is not rewritten.
_DIFFERS = {"postgresql": "IS DISTINCT FROM", "sqlite": "IS NOT"}

# Each statement is set-based over the batch: the window functions and the grouping run once
# over the batch's rows, never once per article.
_ML_SCORE = """
WITH latest AS (
    SELECT p.article_id, p.probability_score,
           ROW_NUMBER() OVER (
               PARTITION BY p.article_id, p.subject_id, p.algorithm
               ORDER BY p.created_date DESC, p.id DESC
           ) AS position
    FROM gregory_mlpredictions p
    WHERE p.article_id {in_ids} AND p.probability_score IS NOT NULL
),
computed AS (
    SELECT a.article_id, AVG(l.probability_score) AS value
    FROM articles a
    LEFT JOIN latest l ON l.article_id = a.article_id AND l.position = 1
    WHERE a.article_id {in_ids}
    GROUP BY a.article_id
)
UPDATE articles SET ml_score = computed.value
FROM computed
WHERE articles.article_id = computed.article_id AND articles.article_id {in_ids}
  AND articles.ml_score {differs} computed.value
RETURNING articles.article_id
"""

_RELEVANT = """
WITH latest AS (
    SELECT p.article_id, p.subject_id, p.algorithm, p.probability_score, p.predicted_relevant,
           RANK() OVER (
               PARTITION BY p.article_id, p.subject_id, p.algorithm ORDER BY p.created_date DESC
           ) AS position
    FROM gregory_mlpredictions p
    WHERE p.article_id {in_ids}
),
consensus AS (
    SELECT l.article_id
    FROM latest l
    JOIN articles_subjects link
        ON link.articles_id = l.article_id AND link.subject_id = l.subject_id
    JOIN subjects s ON s.id = l.subject_id AND s.auto_predict IS TRUE
    WHERE l.position = 1 AND l.predicted_relevant IS TRUE AND l.probability_score >= %s
    GROUP BY l.article_id, l.subject_id, s.ml_consensus_type
    HAVING COUNT(DISTINCT l.algorithm) >= CASE s.ml_consensus_type
        WHEN 'all' THEN %s WHEN 'majority' THEN %s ELSE 1 END
),
marked AS (
    SELECT r.article_id FROM gregory_articlesubjectrelevance r
    WHERE r.article_id {in_ids} AND r.is_relevant IS TRUE
),
computed AS (
    SELECT a.article_id,
           (a.article_id IN (SELECT article_id FROM marked)
            OR a.article_id IN (SELECT article_id FROM consensus)) AS value
    FROM articles a
    WHERE a.article_id {in_ids}
)
UPDATE articles SET relevant = computed.value
FROM computed
WHERE articles.article_id = computed.article_id AND articles.article_id {in_ids}
  AND articles.relevant {differs} computed.value
RETURNING articles.article_id
"""


def _ids_parameter(article_ids: Sequence[int]) -> object:
    ids = sorted({int(i) for i in article_ids})
    return ids if connection.vendor == "postgresql" else json.dumps(ids)


def _statement(template: str) -> str:
    vendor = connection.vendor
    if vendor not in _IN_IDS:
        raise NotImplementedError(f"articles' derived fields on {vendor}: PostgreSQL or SQLite")
    return template.format(in_ids=_IN_IDS[vendor], differs=_DIFFERS[vendor])


def recompute(article_ids: Sequence[int]) -> set[int]:
    """Bring ml_score and relevant of these articles up to date; the ids of those that changed.

    Call it in the transaction that wrote the predictions: the articles' rows are locked first
    (in id order), so a concurrent writer of the same articles recomputes after this one commits
    and sees its rows, instead of both working from snapshots that miss the other's. The lock is
    FOR NO KEY UPDATE, as the UPDATE's own: the foreign key checks of a concurrent writer's
    predictions (FOR KEY SHARE) do not wait on it, so two writers cannot deadlock there.
    """
    if not article_ids:
        return set()
    ids = _ids_parameter(article_ids)
    changed: set[int] = set()
    with transaction.atomic(), connection.cursor() as cursor:
        locked = Articles.objects.select_for_update(no_key=True).filter(pk__in=list(article_ids))
        list(locked.order_by("pk").values_list("pk", flat=True))
        cursor.execute(_statement(_ML_SCORE), [ids] * 3)
        changed.update(row[0] for row in cursor.fetchall())
        minimum = [CONSENSUS_MINIMUM["all"], CONSENSUS_MINIMUM["majority"]]
        cursor.execute(_statement(_RELEVANT), [ids, CONSENSUS_THRESHOLD, *minimum, ids, ids, ids])
        changed.update(row[0] for row in cursor.fetchall())
    return changed

"""Reviewers' labels, written into GregoryAI's ArticleSubjectRelevance.is_relevant.

A label is written only where the pair is still unreviewed (no row, or is_relevant NULL), in
one conditional UPDATE, so two reviewers never overwrite each other: the second one gets
AlreadyLabelled and the first one's value stays. A missing row is created, and a concurrent
creation of the same row (the unique constraint) is retried as an update. Nothing but
GregoryAI's own columns is written.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction

from gregory.models import Articles, ArticleSubjectRelevance, Subject


class LabelError(ValueError):
    """A label that cannot be recorded; the message says why in one line."""


class NotInSubject(LabelError):
    """The article does not exist or does not belong to the subject."""


class AlreadyLabelled(LabelError):
    """Someone labelled the pair first; their label is kept."""

    def __init__(self, message: str, current: bool) -> None:
        super().__init__(message)
        self.current = current


def describe(relevant: bool) -> str:
    return "relevant" if relevant else "not relevant"


@dataclass(frozen=True)
class Written:
    article_id: int
    relevant: bool
    # The pair had no relevance row: this label made it.
    created_row: bool


def _scope(subject: Subject) -> str:
    return f"{subject.team.slug}/{subject.subject_slug}" if subject.team else subject.subject_slug


def record(subject: Subject, article_id: int, relevant: bool) -> Written:
    """Label one unreviewed article of `subject`; raises AlreadyLabelled or NotInSubject."""
    pair = ArticleSubjectRelevance.objects.filter(subject=subject, article_id=article_id)
    # Two rounds at most: the second follows a concurrent creation of the same row.
    for _ in range(2):
        if pair.filter(is_relevant__isnull=True).update(is_relevant=relevant):
            return Written(article_id, relevant, created_row=False)
        current = pair.values_list("is_relevant", flat=True).first()
        if current is not None:
            raise AlreadyLabelled(
                f"article {article_id} is already labelled {describe(current)} for "
                f"{_scope(subject)}; left unchanged",
                current,
            )
        if pair.exists():
            continue  # a NULL row appeared between the update and the read: update it
        if not Articles.objects.filter(article_id=article_id, subjects=subject).exists():
            raise NotInSubject(f"article {article_id} is not an article of {_scope(subject)}")
        try:
            with transaction.atomic():
                ArticleSubjectRelevance.objects.create(
                    subject=subject, article_id=article_id, is_relevant=relevant
                )
        except IntegrityError:
            continue  # another reviewer created the row first: decide on its value
        return Written(article_id, relevant, created_row=True)
    current = pair.values_list("is_relevant", flat=True).first()
    raise AlreadyLabelled(
        f"article {article_id} was labelled by someone else meanwhile for {_scope(subject)}; "
        "left unchanged",
        bool(current),
    )


def undo(subject: Subject, written: Written) -> bool:
    """Make the pair unreviewed again (NULL) if it still holds the label `written` set.

    False when the value changed since (someone relabelled it in GregoryAI): it is left alone.
    """
    return bool(
        ArticleSubjectRelevance.objects.filter(
            subject=subject, article_id=written.article_id, is_relevant=written.relevant
        ).update(is_relevant=None)
    )

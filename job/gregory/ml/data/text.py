"""An article's text as the models see it, the same in training and in prediction.

GregoryAI's way (django/gregory/utils/text_utils.py): HTML stripped from title and summary with
BeautifulSoup's html.parser, then the composed text (title and generated summary, or the title
alone) lowercased with DOIs, PMIDs, symbols and English stopwords removed. A text left with fewer
than ten words carries too little to score and is dropped, in training and prediction alike.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import stopwords
from bs4 import BeautifulSoup

# Recorded in every version's metrics.json: a loader can tell which preparation a model expects.
PREPARATION = {"text_preparation": "gregoryai-clean", "text_preparation_version": 1}
MIN_WORD_COUNT = 10

Summarise = Callable[[Sequence[str]], list[str]]

_WHITESPACE = re.compile(r"[\n\t\r]+")
_DOI = re.compile(r"doi:?\s?\d{2}\.\d{4}/\S+", re.IGNORECASE)
_DOI_BARE = re.compile(r"\d{2}\.\d{4}/\S+")
_PMID = re.compile(r"pmid:?\s?\d{8}", re.IGNORECASE)
_PMID_BARE = re.compile(r"\b\d{8}\b")
_TO_SPACE = re.compile(r"[/(){}\[\]\|@,;]")
_NOT_KEPT = re.compile(r"[^0-9a-z #+_]")
_SPACES = re.compile(r"\s+")
_STOPWORDS = frozenset(stopwords.get_stopwords("en"))


def strip_html(text: str | None) -> str:
    """The text content of an HTML fragment (`<p>`, `<jats:p>`, entities), as GregoryAI gets it."""
    if not text:
        return ""
    # Without a tag or an entity the parser returns the text unchanged; most titles skip it.
    if "<" not in text and "&" not in text:
        return text
    return BeautifulSoup(text, "html.parser").get_text()


def clean(text: str | None, min_words: int | None = MIN_WORD_COUNT) -> str | None:
    """GregoryAI's cleaning; None when nothing, or fewer than `min_words` words, is left."""
    if not text:
        return None
    text = _WHITESPACE.sub(" ", text).lower()
    for pattern in (_DOI, _DOI_BARE, _PMID, _PMID_BARE):
        text = pattern.sub("", text)
    text = _NOT_KEPT.sub("", _TO_SPACE.sub(" ", text))
    words = [word for word in _SPACES.sub(" ", text).strip().split() if word not in _STOPWORDS]
    if not words or (min_words is not None and len(words) < min_words):
        return None
    return " ".join(words)


@dataclass(frozen=True)
class PreparedTexts:
    texts: list[str]
    # Positions in the input of the articles that kept a text, in input order.
    kept: list[int]
    # Positions of the articles dropped for having too few words.
    dropped: list[int]


def prepare(
    titles: Sequence[str], summaries: Sequence[str | None], summarise: Summarise
) -> PreparedTexts:
    """Model texts for articles: HTML stripped, summaries summarised, composed, then cleaned.

    HTML goes before summarisation so markup never reaches the summariser; an empty summary
    never reaches it either, and the title stands alone.
    """
    titles = [strip_html(title) for title in titles]
    plain = [strip_html(summary) for summary in summaries]
    with_summary = [i for i, summary in enumerate(plain) if summary.strip()]
    generated = summarise([plain[i] for i in with_summary]) if with_summary else []
    composed = list(titles)
    for i, summary in zip(with_summary, generated, strict=True):
        if summary.strip():
            composed[i] = f"{titles[i]}\n{summary}"
    cleaned = [clean(text) for text in composed]
    kept = [i for i, text in enumerate(cleaned) if text is not None]
    dropped = [i for i, text in enumerate(cleaned) if text is None]
    texts = [text for text in cleaned if text is not None]
    return PreparedTexts(texts=texts, kept=kept, dropped=dropped)

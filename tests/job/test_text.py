"""Text preparation: HTML stripped before summarisation, GregoryAI's cleaning, short texts out."""

import pytest
from bs4 import BeautifulSoup

from gregory.ml.data import text
from tests.support.data import load_sample

LONG = (
    "Natalizumab reduced relapse rates in patients with relapsing multiple sclerosis over two years"
)


class Recorder:
    """A summarise callable that records what reached it and returns a fixed summary."""

    def __init__(
        self,
        summary: str = "natalizumab lowered the relapse rate versus placebo across both cohorts",
    ) -> None:
        self.seen: list[str] = []
        self.summary = summary

    def __call__(self, texts):
        self.seen.extend(texts)
        return [self.summary for _ in texts]


def test_html_and_jats_never_reach_the_summariser():
    summarise = Recorder()
    prepared = text.prepare(
        ["<i>Natalizumab</i> in MS &amp; NMOSD", "A plain title"],
        [
            "<jats:title>Abstract</jats:title><jats:p>Background: MS lesions &lt;3 mm.</jats:p>",
            "<p>First paragraph.</p>",
        ],
        summarise,
    )
    assert summarise.seen == ["AbstractBackground: MS lesions <3 mm.", "First paragraph."]
    assert not any("jats" in seen or "&lt;" in seen for seen in summarise.seen)
    assert prepared.kept == [0, 1]


def test_an_empty_summary_never_reaches_the_summariser_and_the_title_stands_alone():
    summarise = Recorder()
    prepared = text.prepare([LONG, LONG + " again"], ["", "<p> </p>"], summarise)
    assert summarise.seen == []
    assert prepared.texts == [text.clean(LONG), text.clean(LONG + " again")]


def test_an_empty_generated_summary_leaves_the_title_alone():
    prepared = text.prepare([LONG], ["a summary the model could not shorten"], Recorder(""))
    assert prepared.texts == [text.clean(LONG)]


def test_title_and_generated_summary_are_composed_then_cleaned():
    summary = "Natalizumab lowered the annualised relapse rate, versus placebo, across cohorts."
    prepared = text.prepare(["Phase III: title here"], ["a long abstract"], Recorder(summary))
    # "the" and "here" are stopwords; ten words are left.
    assert prepared.texts == [
        "phase iii title natalizumab lowered annualised relapse rate versus placebo across cohorts"
    ]


def test_cleaning_follows_gregoryai_rule_by_rule():
    raw = (
        "Relapsing/remitting MS (RRMS):\tthe [2020] study;\nsee doi:10.1016/j.msard.2020.102 and "
        "PMID: 12345678, 87654321 vs 1234567 & C++ #tags_ok — done."
    )
    # doi and pmid forms removed, 8-digit numbers removed but not 7-digit ones, /()[];, become
    # spaces, other symbols vanish except # + _, stopwords (the, and) dropped.
    assert text.clean(raw, min_words=None) == (
        "relapsing remitting ms rrms 2020 study see vs 1234567 c++ #tags_ok done"
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Blood–brain barrier", "bloodbrain barrier"),
        ("doi 10.1212/WNL.0000000000200 remains", "remains"),
        ("see 10.1212/wnl.123 lesions", "see lesions"),
        ("pmid12345678 trial", "trial"),
        ("ids 123456789 and 12345678", "ids 123456789"),
        ("a|b{c}d@e", "b c d e"),
        ("The AND of", None),
        ("", None),
        (None, None),
    ],
)
def test_cleaning_examples(raw, expected):
    assert text.clean(raw, min_words=None) == expected


def test_texts_under_ten_words_after_stopwords_are_dropped():
    nine = "one two three four five six seven eight nine"
    assert text.clean(nine) is None
    assert text.clean(nine + " ten") == nine + " ten"
    # Twelve words, but three are stopwords: nine count.
    assert text.clean("the " + nine + " and of") is None


def test_prepare_reports_which_articles_kept_a_text():
    summarise = Recorder()
    prepared = text.prepare(["too short", LONG, "also short"], ["", "", None], summarise)
    assert prepared.kept == [1]
    assert prepared.dropped == [0, 2]
    assert prepared.texts == [text.clean(LONG)]
    # The generated summary's words count: seven are not enough, ten are.
    saved = text.prepare(["short title"], ["abstract"], Recorder("placebo arm cohort relapse rate"))
    assert saved.kept == [] and saved.dropped == [0]
    summary = "placebo arm cohort relapse rate versus natalizumab arm"
    assert text.prepare(["short title"], ["abstract"], Recorder(summary)).kept == [0]


def test_the_shortcut_for_text_without_markup_matches_the_parser():
    texts, _, _ = load_sample()
    odd = ["a\r\nb", "x > y", "tab\there", "é ü ß", "R&D", "AT&amp;T", "<b>bold</b>", "1 < 2"]
    for sample in [*texts, *odd]:
        assert text.strip_html(sample) == BeautifulSoup(sample, "html.parser").get_text()


def test_the_preparation_is_named_for_metrics_json():
    assert text.PREPARATION["text_preparation"] == "gregoryai-clean"
    assert isinstance(text.PREPARATION["text_preparation_version"], int)

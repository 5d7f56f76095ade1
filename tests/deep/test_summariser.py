"""The BART summariser with the tiny offline checkpoint: order, empties, batching, loading once."""

from __future__ import annotations

import subprocess
import sys

import pytest

from gregory.ml.data import summariser
from tests.support.data import load_sample


@pytest.fixture(scope="module")
def texts() -> list[str]:
    sample, _, _ = load_sample()
    return sample[:9]


def test_bulk_keeps_input_order_and_empty_strings(texts):
    mixed = ["", texts[0], "   ", None, texts[1], texts[2]]
    out = summariser.summarise_bulk(mixed)
    assert len(out) == len(mixed)
    assert out[0] == out[2] == out[3] == ""
    assert all(out[i] for i in (1, 4, 5))
    # The tiny BART copies each text's first words, so a mix-up of order would show.
    assert len({out[1], out[4], out[5]}) == 3
    # Each text's summary is the one it gets alone: sorting and batching never mix them up.
    assert [out[1], out[4], out[5]] == [summariser.summarise(t) for t in texts[:3]]


def test_length_sorting_changes_nothing_but_speed(texts):
    assert summariser.summarise_bulk(texts, sort_by_length=True) == summariser.summarise_bulk(
        texts, sort_by_length=False
    )
    assert summariser.summarise_bulk(texts, batch_size=1) == summariser.summarise_bulk(texts)


def test_summaries_stay_within_300_tokens(texts):
    loaded = summariser.load_summariser()
    for summary in summariser.summarise_bulk(texts):
        assert len(loaded.tokenizer(summary)["input_ids"]) <= summariser.MAX_SUMMARY_TOKENS


def test_model_is_loaded_once_per_process(tiny_models):
    first = summariser.load_summariser()
    assert summariser.load_summariser() is first
    assert summariser.load_summariser(str(tiny_models["bart"])) is first
    assert first.device.type in ("cpu", "cuda")


def test_off_passes_texts_through(settings, texts):
    settings.GREGORY_SUMMARISER = "off"
    assert summariser.summarise_bulk([texts[0], "", None]) == [texts[0], "", ""]


def test_all_empty_never_loads_a_model(settings):
    settings.GREGORY_SUMMARISER_MODEL = "/nowhere/bart"
    assert summariser.summarise_bulk(["", " "]) == ["", ""]
    with pytest.raises(OSError):
        summariser.summarise_bulk(["some text"])


def test_progress_bar_on_stderr_only_when_asked(capfd, texts):
    summariser.summarise_bulk(texts[:2])
    assert capfd.readouterr().err == ""
    summariser.summarise_bulk(texts[:5], batch_size=2, progress=True)
    captured = capfd.readouterr()
    assert "summarising" in captured.err and "3/3" in captured.err
    assert captured.out == ""


def test_importing_the_summariser_does_not_import_torch():
    code = "import sys, gregory.ml.data.summariser; sys.exit('torch' in sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True, cwd="job")

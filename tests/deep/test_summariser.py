"""The BART summariser with the tiny offline checkpoint: order, empties, batching, loading once."""

from __future__ import annotations

import subprocess
import sys

import pytest

from gregory.ml.core import config
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


# --- batching ----------------------------------------------------------------------------------


def test_token_budget_batches_fill_the_budget_and_keep_every_text_once():
    lengths = [5, 40, 12, 40, 7, 90, 3]
    batches = summariser.token_budget_batches(lengths, 80)
    assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
    # Longest first; a text over the budget is a batch of its own.
    assert batches == [[5], [1, 3], [2, 4, 0, 6]]
    for batch in batches[1:]:
        assert len(batch) * max(lengths[i] for i in batch) <= 80
    # In a given order (unsorted), the padded size is the batch's longest, wherever it stands.
    assert summariser.token_budget_batches(lengths, 80, order=[0, 1, 4, 2]) == [[0, 1], [4, 2]]


def test_budget_batches_give_the_batch_4_summaries(texts, monkeypatch):
    loaded = summariser.load_summariser()
    lengths = [len(ids) for ids in loaded.tokenizer(texts, truncation=True)["input_ids"]]
    budget = 2 * max(lengths)  # pairs of the long texts, then more of the short ones
    sizes = [len(b) for b in summariser.token_budget_batches(lengths, budget)]
    # Not the batches of 4, and of unequal sizes: the comparison below means something.
    assert sizes != [4, 4, 1] and len(set(sizes)) > 1, sizes

    generate = loaded.model.generate
    widths: list[tuple[int, int]] = []

    def recording_generate(*args, **kwargs):
        widths.append(tuple(kwargs["input_ids"].shape))
        return generate(*args, **kwargs)

    monkeypatch.setattr(loaded.model, "generate", recording_generate)
    by_four = summariser.summarise_bulk(texts, batch_size=4)
    assert [rows for rows, _ in widths] == [4, 4, 1]
    widths.clear()
    assert summariser.summarise_bulk(texts, token_budget=budget) == by_four
    assert [rows for rows, _ in widths] == sizes
    assert all(rows * width <= budget for rows, width in widths)


def test_the_settings_choose_the_batching(monkeypatch, texts):
    assert summariser.summariser_batching("cpu") == summariser.Batching(size=4)
    assert summariser.summariser_batching("cuda") == summariser.Batching(token_budget=32768)
    monkeypatch.setenv("GREGORY_SUMMARISER_TOKEN_BUDGET", "2000")
    assert summariser.summariser_batching("cuda") == summariser.Batching(token_budget=2000)
    monkeypatch.setenv("GREGORY_SUMMARISER_BATCH", "4")  # the spec's batches, on CUDA too
    assert summariser.summariser_batching("cuda") == summariser.Batching(size=4)
    monkeypatch.setenv("GREGORY_SUMMARISER_BATCH", "tokens")  # the budget on the CPU too
    assert summariser.summariser_batching("cpu") == summariser.Batching(token_budget=2000)
    # What the run records says which batching it used.
    assert summariser.text_pipeline()["batch_size"] is None
    assert summariser.text_pipeline()["batch_token_budget"] == 2000
    loaded = summariser.load_summariser()
    calls: list[int] = []
    generate = loaded.model.generate

    def counting_generate(*args, **kwargs):
        calls.append(len(kwargs["input_ids"]))
        return generate(*args, **kwargs)

    monkeypatch.setattr(loaded.model, "generate", counting_generate)
    summariser.summarise_bulk(texts)
    lengths = [len(ids) for ids in loaded.tokenizer(texts, truncation=True)["input_ids"]]
    expected = [len(batch) for batch in summariser.token_budget_batches(lengths, 2000)]
    assert calls == expected and calls != [4, 4, 1]
    for bad in ("0", "four", "-2"):
        monkeypatch.setenv("GREGORY_SUMMARISER_BATCH", bad)
        with pytest.raises(config.SettingError, match="GREGORY_SUMMARISER_BATCH"):
            summariser.summariser_batching("cpu")


def test_the_cpu_default_is_recorded_as_before(monkeypatch):
    monkeypatch.delenv("GREGORY_SUMMARISER_BATCH", raising=False)
    monkeypatch.setenv("GREGORY_DEVICE", "cpu")
    recorded = summariser.text_pipeline()
    assert recorded["batch_size"] == 4 and "batch_token_budget" not in recorded


def test_each_batch_is_cached_once_its_generate_returned(settings, tmp_path, texts, monkeypatch):
    settings.GREGORY_SUMMARY_CACHE_DIR = str(tmp_path / "cache")
    loaded = summariser.load_summariser()
    generate = loaded.model.generate
    calls: list[int] = []

    def failing_second_batch(*args, **kwargs):
        calls.append(len(kwargs["input_ids"]))
        if len(calls) == 2:
            raise RuntimeError("CUDA out of memory (a test's)")
        return generate(*args, **kwargs)

    monkeypatch.setattr(loaded.model, "generate", failing_second_batch)
    with pytest.raises(RuntimeError, match="out of memory"):
        summariser.summarise_bulk(texts, batch_size=4)
    # The first batch's four summaries were written; the failed one's were not.
    assert len(list((tmp_path / "cache").rglob("*.json"))) == 4

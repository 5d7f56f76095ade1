"""build_tiny_models: offline checkpoints that load with the Auto classes; idempotent."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command

from gregory_dev.tiny_models import WORDS, build_tiny_models


def test_checkpoints_load_and_tokenise_offline(tiny_models):
    from transformers import AutoModel, AutoModelForSeq2SeqLM, AutoTokenizer

    bert = AutoModel.from_pretrained(tiny_models["bert"])
    assert bert.config.hidden_size == 32 and bert.config.num_hidden_layers == 2
    tokenizer = AutoTokenizer.from_pretrained(tiny_models["bert"])
    ids = tokenizer(" ".join(WORDS))["input_ids"]
    assert tokenizer.unk_token_id not in ids
    assert len(ids) == len(WORDS) + 2  # every listed word is one WordPiece, plus [CLS] [SEP]
    assert (tiny_models["bert"] / "vocab.txt").read_text().startswith("[PAD]\n")

    bart = AutoModelForSeq2SeqLM.from_pretrained(tiny_models["bart"])
    assert type(bart).__name__ == "BartForConditionalGeneration"
    bpe = AutoTokenizer.from_pretrained(tiny_models["bart"])
    text = "Relapsing multiple sclerosis patients showed lesions."
    assert bpe.decode(bpe(text)["input_ids"], skip_special_tokens=True) == text


def test_second_build_is_a_no_op(tiny_models):
    out = tiny_models["bert"].parent
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    stdout = StringIO()
    call_command("build_tiny_models", "--out", str(out), stdout=stdout)
    assert f"bert: {tiny_models['bert'].resolve()}" in stdout.getvalue()
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == before
    assert build_tiny_models(out) == tiny_models

"""gregory.ml.fingerprint: every input of a training changes the fingerprint, nothing else does."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import pytest

from gregory.ml import fingerprint
from gregory.ml.data import text
from gregory.ml.data.dataset import PreparedArticles
from gregory.ml.trainers import lgbm_tfidf

LABELLED = PreparedArticles(
    article_ids=[3, 1, 2],
    texts=["multiple sclerosis cohort", "relapse rate trial", "unrelated cardiology note"],
    labels=[1, 1, 0],
    dropped_ids=[9],
)
POOL = PreparedArticles(
    article_ids=[7, 8], texts=["new ms lesion study", "heart"], labels=[None, None], dropped_ids=[]
)


def fp(labelled=LABELLED, algorithm="lgbm_tfidf", window_days=90, pool=None) -> str:
    return fingerprint.training_fingerprint(algorithm, labelled, window_days=window_days, pool=pool)


def test_a_sha256_that_does_not_depend_on_the_order_or_the_dropped_articles():
    assert re.fullmatch(r"[0-9a-f]{64}", fp())
    shuffled = PreparedArticles(
        article_ids=[1, 2, 3],
        texts=[LABELLED.texts[1], LABELLED.texts[2], LABELLED.texts[0]],
        labels=[1, 0, 1],
        dropped_ids=[],
    )
    assert fp(shuffled) == fp()


@pytest.mark.parametrize(
    "changed",
    [
        pytest.param({"labels": [1, 0, 0]}, id="a label"),
        pytest.param({"article_ids": [3, 1, 4]}, id="an article id"),
        pytest.param({"texts": [*LABELLED.texts[:2], "unrelated cardiology notes"]}, id="a text"),
    ],
)
def test_each_article_input_counts(changed):
    assert fp(replace(LABELLED, **changed)) != fp()


def test_the_settings_count():
    base = fp()
    assert fp(algorithm="lstm") != base
    assert fp(window_days=30) != base and fp(window_days=None) != base
    assert fp(pool=POOL) != base
    assert fp(pool=POOL) != fp(pool=replace(POOL, texts=["new ms lesion study", "hearts"]))
    assert fp() == base  # and nothing else moves it between two calls


def test_hyper_parameters_and_preparation_count(monkeypatch):
    base = fp()
    monkeypatch.setattr(lgbm_tfidf, "BOOSTING_ROUNDS", 50)
    assert fp() != base
    monkeypatch.undo()
    monkeypatch.setitem(lgbm_tfidf.TFIDF_PARAMS, "min_df", 3)
    assert fp() != base
    monkeypatch.undo()
    monkeypatch.setitem(text.PREPARATION, "text_preparation_version", 99)
    assert fp() != base
    monkeypatch.undo()
    assert fp() == base


def test_the_base_model_and_its_revision_count(settings):
    base = fp(algorithm="pubmed_bert")
    settings.GREGORY_BERT_MODEL = "some/other-bert"
    moved = fp(algorithm="pubmed_bert")
    assert moved != base
    settings.GREGORY_BERT_REVISION = "0123456789abcdef"
    assert fp(algorithm="pubmed_bert") != moved


def test_hyper_parameters_are_what_the_trainers_expose():
    lgbm = fingerprint.hyper_parameters("lgbm_tfidf")
    assert lgbm["lgbm_params"]["learning_rate"] == 0.05
    assert lgbm["constants"]["BOOSTING_ROUNDS"] == lgbm_tfidf.BOOSTING_ROUNDS
    lstm = fingerprint.hyper_parameters("lstm")["attributes"]
    assert {"epochs", "units", "learning_rate", "seq_len"} <= set(lstm)
    # Where a run happens is not what it learns.
    assert not {"device", "progress", "checkpoint_dir", "notify"} & set(lstm)
    bert = fingerprint.hyper_parameters("pubmed_bert")["attributes"]
    assert {"model_name", "revision", "max_len", "epochs"} <= set(bert)
    json.dumps(bert)  # plain values only


def test_recorded_fingerprint(tmp_path):
    assert fingerprint.recorded_fingerprint(tmp_path) is None  # no metrics.json
    metrics = tmp_path / "metrics.json"
    for content, expected in [
        ("{broken", None),
        ("[]", None),
        (json.dumps({"algorithm": "lgbm_tfidf"}), None),
        (json.dumps({fingerprint.KEY: ""}), None),
        (json.dumps({fingerprint.KEY: "ab" * 32}), "ab" * 32),
    ]:
        metrics.write_text(content)
        assert fingerprint.recorded_fingerprint(tmp_path) == expected

"""train_models end to end with all three algorithms, tiny BART summaries and pseudo-labelling."""

from __future__ import annotations

import csv
import datetime as dt
import json
from io import StringIO

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from gregory.ml.evaluation.metrics import classification_metrics
from gregory.ml.evaluation.report import PLOTS
from gregory.ml.store.loading import load_version
from gregory.ml.trainers import trainer_class
from gregory.models import Articles, ArticleSubjectRelevance, PredictionRunLog, Subject, Team
from tests.support.data import load_sample

TODAY = timezone.now().strftime("%Y%m%d")
ARTIFACTS = {
    "pubmed_bert": {"bert_weights.h5", "bert_config.json", "bert_tokenizer"},
    "lstm": {"lstm_weights.h5", "tokenizer.json"},
    "lgbm_tfidf": {"lgbm_classifier.joblib", "tfidf_vectorizer.joblib"},
}


@pytest.fixture
def subject(db) -> Subject:
    """Real sample rows as articles: 12 words of title, 30 of summary; 60 labelled, 12 not."""
    team = Team.objects.create(name="Deep", slug="deep")
    subject = Subject.objects.create(
        team=team, subject_name="MS", subject_slug="ms", auto_predict=True
    )
    texts, labels, _ = load_sample()
    # Alternate classes so 60 rows hold both in train, validation and test.
    pos = [i for i, y in enumerate(labels) if y == 1][:36]
    neg = [i for i, y in enumerate(labels) if y == 0][:36]
    rows = [(i, bool(labels[i])) for pair in zip(pos[:30], neg[:30], strict=True) for i in pair]
    rows += [(i, None) for i in pos[30:] + neg[30:]]
    now = timezone.now()
    for n, (i, label) in enumerate(rows):
        words = texts[i].split()
        article = Articles.objects.create(
            title=" ".join(words[:12]),
            link=f"urn:gregory-test:{n}",  # the sample repeats some texts, so titles repeat
            summary=" ".join(words[12:42]) or None,
        )
        # discovery_date is auto_now_add: set the spread after the insert.
        Articles.objects.filter(pk=article.pk).update(
            discovery_date=now - dt.timedelta(days=n % 30)
        )
        ArticleSubjectRelevance.objects.create(article=article, subject=subject, is_relevant=label)
    return subject


def run(*argv: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("train_models", *argv, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.slow
@pytest.mark.postgres
def test_all_three_algorithms_with_pseudo_labels(subject, models_dir, capsys):
    from gregory.flags import TrainFlags
    from gregory.ml.algorithm_run import SubjectData

    out, _ = run("--team", "deep", "--pseudo-label", "--verbose", "1")
    bars = capsys.readouterr().err  # tqdm writes to the process's stderr
    # The same data again (summaries are deterministic); pseudo-labels never touch test.
    test_split = SubjectData(subject, TrainFlags(team="deep")).splits().test
    logs = {log.algorithm: log for log in PredictionRunLog.objects.all()}
    assert set(logs) == set(ARTIFACTS)
    for algorithm, files in ARTIFACTS.items():
        log = logs[algorithm]
        assert log.success is True, log.error_message
        version = models_dir / "deep" / "ms" / algorithm / TODAY
        assert {p.name for p in version.iterdir()} == files | {
            "metrics.json",
            "training_history.json",
            "calibrator.joblib",
            "split.json",
            "report.html",
            *(f"{plot}.png" for plot in PLOTS),
        }
        metrics = json.loads((version / "metrics.json").read_text())
        assert metrics["n_train"] + metrics["n_val"] + metrics["n_test"] >= 60
        # The count lives in metrics.json: GregoryAI's PredictionRunLog has no column for it.
        assert metrics["n_pseudo_labelled"] >= 0
        assert metrics["text_preparation"] == "gregoryai-clean"
        n_pseudo_labelled = metrics["n_pseudo_labelled"]
        history = json.loads((version / "training_history.json").read_text())
        if algorithm != "lgbm_tfidf":
            assert len(history["val_loss"]) == 10
            assert metrics["lib_torch"] and metrics["lib_transformers"]
            # The published version reloads and reproduces the probabilities behind its metrics.
        # Raw scores behind the *_uncalibrated figures, the loader's (calibrated) behind the rest.
        reloaded = trainer_class(algorithm).load(version)
        raw = reloaded.evaluate(test_split, 0.8, prefix="test_")
        expected_raw = {k: metrics[f"{k}_uncalibrated"] for k in raw}
        assert raw == pytest.approx(expected_raw, nan_ok=True)
        calibrated = load_version(version).predict_proba(test_split.texts)
        fresh = classification_metrics(test_split.labels, calibrated, 0.8, prefix="test_")
        assert fresh == pytest.approx({k: metrics[k] for k in fresh}, nan_ok=True)
        assert metrics["decision"] in ("DEPLOY", "REVIEW", "FAIL")
    # Unlabelled articles were pseudo-labelled (or not) into one CSV under the subject.
    csvs = list((models_dir / "deep" / "ms" / "pseudo_labels").glob("*.csv"))
    assert len(csvs) == 1
    with csvs[0].open(newline="") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == [
            "article_id",
            "text",
            "pseudo_label",
            "confidence",
            "iteration",
        ]
        rows = list(reader)
    assert len(rows) == n_pseudo_labelled
    unlabelled = set(
        ArticleSubjectRelevance.objects.filter(is_relevant=None).values_list(
            "article_id", flat=True
        )
    )
    assert {int(r["article_id"]) for r in rows} <= unlabelled
    # Progress bars went to stderr: summarisation batches and training epochs.
    assert "summarising" in bars and "pubmed_bert" in bars and "lstm:" in bars
    assert "Finished pubmed_bert" in out and "Finished lstm" in out


def test_a_failing_algorithm_fails_only_its_own_run(subject, models_dir, settings):
    settings.GREGORY_BERT_MODEL = str(models_dir / "no-such-model")
    with pytest.raises(CommandError, match="1 of 2 training runs failed"):
        run("--team", "deep", "--algo", "pubmed_bert,lstm", "--verbose", "0")
    logs = {log.algorithm: log for log in PredictionRunLog.objects.all()}
    assert (
        logs["pubmed_bert"].success is False
        and "no-such-model" in logs["pubmed_bert"].error_message
    )
    assert logs["lstm"].success is True
    assert not (models_dir / "deep" / "ms" / "pubmed_bert" / TODAY).exists()
    assert (models_dir / "deep" / "ms" / "lstm" / TODAY / "lstm_weights.h5").exists()


def test_verbosity_zero_is_silent(subject, models_dir, capsys):
    out, err = run("--team", "deep", "--algo", "lstm", "--verbose", "0")
    assert out == "" and err == ""
    assert capsys.readouterr() == ("", "")
    assert PredictionRunLog.objects.get().success is True
    assert np.isfinite(
        json.loads((models_dir / "deep" / "ms" / "lstm" / TODAY / "metrics.json").read_text())[
            "test_roc_auc"
        ]
    )

"""`make bench`: the job's speed and memory figures, printed as one JSON line.

Each figure is measured in this one run on this machine; compare ratios, not seconds, across
machines.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import memory
from tests.support.data import SAMPLE_CSV
from tests.support.paths import MANAGE, REPO

N_ASSEMBLY = 100_000


def _setup_django(work: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{work / 'bench.sqlite3'}"
    os.environ["GREGORY_MODELS_DIR"] = str(work / "models")
    os.environ["GREGORY_SUMMARISER"] = "off"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gregory_train.settings")
    sys.path[:0] = [str(REPO / "job"), str(REPO)]
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


BENCH_TITLE = "relapsing sclerosis cohort, ten years, lesions"


def bench_assembly() -> dict:
    """100,000 labelled articles of one subject: queries and seconds to texts and splits."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from gregory.ml.data import dataset
    from gregory.ml.data.splits import stratified_split
    from gregory.models import Articles, ArticleSubjectRelevance, Subject, Team

    team = Team.objects.create(name="Bench", slug="bench")
    subject = Subject.objects.create(
        team=team, subject_name="Bench", subject_slug="bench", auto_predict=True
    )
    articles = Articles.objects.bulk_create(
        [
            Articles(
                # Long enough to pass the 10-word minimum once cleaned, as real articles are.
                title=f"article {i}, topic {i % 97}: {BENCH_TITLE}",
                link=f"https://bench.example/{i}",
                summary=f"summary of article {i}: cohort, methods and outcomes" if i % 5 else "",
            )
            for i in range(N_ASSEMBLY)
        ],
        batch_size=5000,
    )
    ArticleSubjectRelevance.objects.bulk_create(
        [
            ArticleSubjectRelevance(article=a, subject=subject, is_relevant=a.pk % 3 == 0)
            for a in articles
        ],
        batch_size=5000,
    )
    start = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        raw = dataset.labelled_articles(subject, dataset.window_start(90))
    prepared = dataset.prepare_articles(raw, lambda summaries: list(summaries))
    splits = stratified_split(prepared.texts, prepared.labels, prepared.article_ids)
    seconds = time.perf_counter() - start
    assert len(splits.train) + len(splits.val) + len(splits.test) == N_ASSEMBLY
    return {
        "assembly_articles": N_ASSEMBLY,
        "assembly_queries": len(queries),
        "assembly_seconds": round(seconds, 3),
    }


def bench_lgbm_sample() -> dict:
    """LightGBM + TF-IDF on the real sample: training seconds and test roc_auc."""
    import csv

    from gregory.ml.data.splits import stratified_split
    from gregory.ml.trainers import get_trainer

    with SAMPLE_CSV.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    splits = stratified_split(
        [r["text_processed"] for r in rows], [int(r["relevant"]) for r in rows], range(len(rows))
    )
    trainer = get_trainer("lgbm_tfidf")
    start = time.perf_counter()
    trainer.train(splits.train, splits.val)
    seconds = time.perf_counter() - start
    auc = trainer.evaluate(splits.test, 0.5)["roc_auc"]
    return {
        "lgbm_sample_train_seconds": round(seconds, 3),
        "lgbm_sample_test_roc_auc": round(auc, 3),
    }


def bench_text_preparation() -> dict:
    """GregoryAI's cleaning (ml.data.text) on the real sample: its cost, and LightGBM + TF-IDF
    test roc_auc without and with it, on the same rows and the same split."""
    import csv

    from gregory.ml.data import text
    from gregory.ml.data.splits import stratified_split
    from gregory.ml.trainers import get_trainer

    with SAMPLE_CSV.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    raw = [r["text_processed"] for r in rows]
    start = time.perf_counter()
    prepared = text.prepare(raw, [""] * len(raw), lambda summaries: list(summaries))
    seconds = time.perf_counter() - start
    labels = [int(rows[i]["relevant"]) for i in prepared.kept]
    aucs = {}
    for name, texts in (("raw", [raw[i] for i in prepared.kept]), ("clean", prepared.texts)):
        splits = stratified_split(texts, labels, prepared.kept)
        trainer = get_trainer("lgbm_tfidf")
        trainer.train(splits.train, splits.val)
        aucs[name] = (trainer.evaluate(splits.test, 0.5)["roc_auc"], splits.test.article_ids)
    assert aucs["raw"][1] == aucs["clean"][1], "both variants must be tested on the same rows"
    return {
        "text_preparation_articles": len(raw),
        "text_preparation_dropped": len(prepared.dropped),
        "text_preparation_ms_per_article": round(1000 * seconds / len(raw), 3),
        "lgbm_sample_test_roc_auc_uncleaned": round(aucs["raw"][0], 4),
        "lgbm_sample_test_roc_auc_cleaned": round(aucs["clean"][0], 4),
    }


def bench_full_run(work: Path) -> dict:
    """A three-algorithm train_models run on the demo data with tiny models: seconds, peak RSS."""
    env = dict(os.environ)
    tiny = work / "tiny-models"
    run = [sys.executable, str(MANAGE)]
    subprocess.run(
        [*run, "build_tiny_models", "--out", str(tiny)], env=env, check=True, capture_output=True
    )
    env.update(
        GREGORY_SUMMARISER="bart",
        GREGORY_SUMMARISER_MODEL=str(tiny / "bart"),
        GREGORY_BERT_MODEL=str(tiny / "bert"),
    )
    csv_path = work / "demo.csv"
    subprocess.run(
        [*run, "demo_data", "--out", str(csv_path)], env=env, check=True, capture_output=True
    )
    subprocess.run(
        [*run, "import_articles", "--create", "--team", "demo", "--subject", "ms", str(csv_path)],
        env=env,
        check=True,
        capture_output=True,
    )
    done = memory.peak_rss([*run, "train_models", "--team", "demo", "--verbose", "0"], env)
    if done.returncode != 0:
        raise RuntimeError(f"train_models failed: {done.stderr_tail.strip()}")
    return {
        "full_run_seconds": round(done.seconds, 1),
        "full_run_peak_rss_mib": round(done.peak_rss_mib),
    }


def bench_evaluation_share(work: Path) -> dict:
    """What evaluation, calibration, the gate and the report add to an lgbm_tfidf train_models
    run on the real sample: the second of two runs, so the gate scores a promoted version too."""
    from io import StringIO

    from django.core.management import call_command

    from gregory.ml import algorithm_run, gate
    from gregory.ml.evaluation import calibration, report
    from gregory.models import Subject, Team
    from tests.support.articles import sample_as_import_csv

    team = Team.objects.create(name="Eval", slug="eval")
    Subject.objects.create(team=team, subject_name="MS", subject_slug="ms", auto_predict=True)
    csv_path = sample_as_import_csv(work / "eval.csv")
    call_command("import_articles", str(csv_path), team="eval", subject="ms", stdout=StringIO())
    spent = {"seconds": 0.0}

    def timed(function):
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent["seconds"] += time.perf_counter() - start

        return wrapper

    originals = {
        (algorithm_run, "_evaluation"): algorithm_run._evaluation,
        (gate, "against_promoted"): gate.against_promoted,
        (calibration, "choose_scale"): calibration.choose_scale,
        (report, "write_report"): report.write_report,
    }
    argv = ["--team", "eval", "--algo", "lgbm_tfidf", "--all-articles", "--verbose", "0"]
    # The first run pays the one-off imports (matplotlib among them) and has nothing to compare.
    call_command("train_models", *argv, stdout=StringIO())
    for (module, name), function in originals.items():
        setattr(module, name, timed(function))
    try:
        start = time.perf_counter()
        call_command("train_models", *argv, stdout=StringIO())
        total = time.perf_counter() - start
    finally:
        for (module, name), function in originals.items():
            setattr(module, name, function)
    return {
        "evaluation_seconds": round(spent["seconds"], 3),
        "evaluation_run_seconds": round(total, 3),
        "evaluation_share": round(spent["seconds"] / total, 3),
    }


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="gregory-bench-") as tmp:
        work = Path(tmp)
        _setup_django(work)
        figures: dict = {}
        figures.update(bench_assembly())
        figures.update(bench_lgbm_sample())
        figures.update(bench_text_preparation())
        figures.update(bench_evaluation_share(work))
        try:
            from bench import deep
        except ImportError:
            deep = None
        if deep is not None:
            figures.update(deep.run())
            from bench import summary_cache

            figures.update(summary_cache.run())
        figures.update(bench_full_run(work))
        # The real job with a real small BERT on the real sample (minutes: one MiniLM epoch).
        figures.update(memory.run())
        from bench import active_learning

        figures.update(active_learning.run())
        from bench import score_scale

        figures.update(score_scale.run())
    print(json.dumps(figures, sort_keys=True))


if __name__ == "__main__":
    main()

"""The review queue on a large pool: `gregory-launch review --count 5` over 50,000 unreviewed
articles, as a subprocess, its wall time and peak RSS.

- stored: every article of the pool has the served version's MLPredictions row (what
  predict_articles leaves behind); the queue ranks from the rows and scores nothing.
- unstored: no rows at all; the queue scores the pool itself, in bounded batches.

The subject is the real sample (imported, one lgbm_tfidf version from the real train_models)
plus the synthetic pool, in SQLite under a work directory (DATABASE_URL overrides it, e.g. a
scratch PostgreSQL database). `--keep DIR` builds the data once and reuses it, so one run
measures the code before a change and another after it on the same data.

    .venv/bin/python -m bench.review_scale [--pool 50000] [--keep DIR] [--only stored]

Measured on a 2-core machine shared with other work (load average 6-8), 50,020 articles, the
code before the batched queue (b80a12d) against after: stored 4.1-9.9 s and 180 MiB before,
3.2-6.4 s and 171 MiB after (run to run noise dominates); unstored 52.9 s and 493 MiB before,
57.5-86.8 s and 178 MiB after (batches of 256 cost about 10% in time, in-process).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.support.paths import MANAGE, REPO

LAUNCH = str(Path(sys.executable).parent / "gregory-launch")
SCOPE = ("--team", "demo", "--subject", "ms")


def _env(work: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("DATABASE_URL", f"sqlite:///{work / 'review.sqlite3'}")
    env.update(
        GREGORY_MODELS_DIR=str(work / "models"),
        GREGORY_LAUNCHER_DIR=str(work / "launcher"),
        GREGORY_SUMMARISER="off",
        DJANGO_SETTINGS_MODULE="gregory_train.settings",
    )
    return env


def _manage(env: dict[str, str], *argv: str) -> None:
    subprocess.run([sys.executable, str(MANAGE), *argv], env=env, check=True, capture_output=True)


def build(work: Path, pool: int) -> None:
    """The sample imported and trained, then `pool` unreviewed articles with stored scores."""
    env = _env(work)
    os.environ.update(env)
    sys.path[:0] = [str(REPO / "job"), str(REPO)]
    from tests.support.review import review_sample_csv

    _manage(env, "migrate", "--verbosity", "0")
    csv_path = review_sample_csv(work / "sample.csv", 20)
    _manage(env, "import_articles", "--create", *SCOPE, str(csv_path))
    _manage(env, "train_models", "--team", "demo", "--algo", "lgbm_tfidf", "--verbose", "0")
    _manage(env, "predict_articles", "--team", "demo", "--algo", "lgbm_tfidf", "--verbose", "0")

    import django

    django.setup()
    from gregory.ml.review import ranking
    from gregory.models import Articles, ArticleSubjectRelevance, MLPredictions, Subject

    subject = Subject.objects.get(team__slug="demo", subject_slug="ms")
    (version,) = ranking.promoted_versions(subject).values()
    words = " ".join(filter(None, Articles.objects.values_list("summary", flat=True))).split()
    rng = random.Random(7)
    for start in range(0, pool, 5000):
        articles = Articles.objects.bulk_create(
            [
                Articles(
                    title=f"pool article {i}: " + " ".join(rng.choices(words, k=10)),
                    link=f"https://bench.example/review/{i}",
                    summary=" ".join(rng.choices(words, k=120)),
                )
                for i in range(start, min(start + 5000, pool))
            ]
        )
        Articles.subjects.through.objects.bulk_create(
            [Articles.subjects.through(articles_id=a.pk, subject_id=subject.pk) for a in articles]
        )
        ArticleSubjectRelevance.objects.bulk_create(
            [ArticleSubjectRelevance(article=a, subject=subject) for a in articles]
        )
        MLPredictions.objects.bulk_create(
            [
                MLPredictions(
                    subject=subject,
                    article=a,
                    model_version=version,
                    algorithm="lgbm_tfidf",
                    probability_score=rng.random(),
                    predicted_relevant=False,
                )
                for a in articles
            ]
        )
    store_the_rest(version)


def store_the_rest(version: str) -> None:
    """A row for the unreviewed sample articles predict_articles left out (a title alone), so
    that every article of the pool has one: the case "once predictions exist"."""
    from gregory.ml.review import ranking
    from gregory.models import MLPredictions, Subject

    subject = Subject.objects.get(team__slug="demo", subject_slug="ms")
    ids = ranking.unreviewed_article_ids(subject, None)
    have = set(
        MLPredictions.objects.filter(subject=subject, model_version=version).values_list(
            "article_id", flat=True
        )
    )
    MLPredictions.objects.bulk_create(
        MLPredictions(
            subject=subject,
            article_id=article,
            model_version=version,
            algorithm="lgbm_tfidf",
            probability_score=0.5,
            predicted_relevant=False,
        )
        for article in ids
        if article not in have
    )


def measure(work: Path, argv: list[str]) -> dict:
    """Wall seconds and peak RSS (MiB) of one `gregory-launch` run, in a child of its own."""
    probe = (
        "import json, resource, subprocess, sys, time; t = time.perf_counter(); "
        "done = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
        "print(done.returncode, time.perf_counter() - t, "
        "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, json.dumps(done.stderr[-400:]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, LAUNCH, *argv],
        env=_env(work),
        capture_output=True,
        text=True,
        check=True,
    )
    code, seconds, rss_kib, stderr = done.stdout.split(" ", 3)
    return {
        "exit": int(code),
        "seconds": round(float(seconds), 2),
        "peak_rss_mib": round(int(rss_kib) / 1024),
        "stderr_tail": json.loads(stderr),
    }


def drop_predictions(work: Path) -> None:
    from gregory.models import MLPredictions

    MLPredictions.objects.all().delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pool", type=int, default=50_000)
    parser.add_argument("--keep", type=Path, help="work directory, built once and reused")
    parser.add_argument("--only", choices=("stored", "unstored"))
    options = parser.parse_args()
    work = options.keep or Path(tempfile.mkdtemp(prefix="review-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        measure_in(work, options)
    finally:
        if options.keep is None:
            shutil.rmtree(work, ignore_errors=True)


def measure_in(work: Path, options: argparse.Namespace) -> None:
    started = time.perf_counter()
    if not (work / "built").exists():
        build(work, options.pool)
        (work / "built").touch()
    else:
        os.environ.update(_env(work))
        sys.path[:0] = [str(REPO / "job"), str(REPO)]
        import django

        django.setup()
    built = time.perf_counter() - started
    argv = ["review", *SCOPE, "--count", "5", "--seed", "1", "-o", "json"]
    figures: dict = {"pool": options.pool, "setup_seconds": round(built, 1)}
    if options.only in (None, "stored"):
        figures["stored"] = measure(work, argv)
    if options.only in (None, "unstored"):
        if options.keep is not None:
            sys.exit("unstored deletes the stored rows: run it without --keep")
        drop_predictions(work)
        figures["unstored"] = measure(work, argv)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

"""Two nights on GregoryAI's own schema: the second, over unchanged labels, changes nothing.

Night one trains and scores; night two runs what the CronJobs run (`train_models
--skip-unchanged`, then `predict_articles`) as separate processes, and must publish no version
and write no MLPredictions row, only the run rows that say why.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.contract.test_gregoryai_schema import SUBJECT, TEAM, fill_like_gregoryai

# Four job processes and two trainings: 104-180 s measured on a shared 2-core machine.
pytestmark = [pytest.mark.postgres, pytest.mark.slow]

# A torch trainer too: its fingerprint must come out the same in another process.
ALGOS = ("lgbm_tfidf", "lstm")


def published(models_dir: Path) -> dict[str, list[str]]:
    subject_dir = models_dir / TEAM / SUBJECT
    return {
        algo: sorted(
            p.name
            for p in (subject_dir / algo).iterdir()
            if p.is_dir() and not p.name.startswith(".")
        )
        for algo in ALGOS
    }


def test_a_second_night_over_unchanged_labels_publishes_and_scores_nothing(gregoryai, models_dir):
    def job(*argv: str) -> str:
        done = gregoryai.manage(
            *argv,
            "--team",
            TEAM,
            "--algo",
            ",".join(ALGOS),
            models_dir=models_dir,
            timeout=600,
            GREGORY_SUMMARISER="off",
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    with gregoryai.connect() as conn:

        def count(table: str, where: str = "TRUE") -> int:
            return conn.execute(f"SELECT count(*) FROM {table} WHERE {where}").fetchone()[0]

        fill_like_gregoryai(conn)
        # Night one.
        job("train_models")
        job("predict_articles")
        versions = published(models_dir)
        assert all(len(names) == 1 for names in versions.values()), versions
        predictions = count("gregory_mlpredictions")
        assert predictions > 0
        (last_run,) = conn.execute("SELECT max(id) FROM gregory_predictionrunlog").fetchone()

        # Night two: the CronJobs' commands, nothing relabelled in between.
        out = job("train_models", "--skip-unchanged")
        job("predict_articles")

        assert published(models_dir) == versions
        assert count("gregory_mlpredictions") == predictions
        skips = conn.execute(
            "SELECT algorithm, model_version, success, error_message, run_finished "
            "FROM gregory_predictionrunlog WHERE run_type = 'train' AND id > %s "
            "ORDER BY algorithm",
            (last_run,),
        ).fetchall()
        assert [(algo, version, ok) for algo, version, ok, _, _ in skips] == [
            (algo, versions[algo][0], True) for algo in sorted(ALGOS)
        ]
        for algo, version, _, message, finished in skips:
            assert message.startswith(
                f"Skipped {algo} for {TEAM}/{SUBJECT}: training data unchanged since version "
                f"{version} (fingerprint "
            )
            assert finished is not None and message in out
        # Night two's prediction runs are logged as usual; they found nothing new to score.
        new_predict_runs = count(
            "gregory_predictionrunlog", f"run_type = 'predict' AND id > {last_run}"
        )
        assert new_predict_runs == len(ALGOS)

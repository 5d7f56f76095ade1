"""Per-epoch checkpoints: a Job killed mid-training resumes where it stopped, with the result of
an uninterrupted run; a checkpoint of other data or settings is never resumed."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from gregory.ml.core import layout
from gregory.ml.core.torch_utils import load_state_dict_h5
from gregory.ml.data.splits import DatasetSplits, TextSplit
from gregory.ml.pseudo_label import add_pseudo_labels, stage_fingerprint
from gregory.ml.trainers import checkpoints
from gregory.ml.trainers.checkpoints import Checkpoint
from gregory.ml.trainers.lstm import LstmTrainer
from gregory.models import Articles, ArticleSubjectRelevance, Subject, Team
from tests.support.data import load_sample, shorten

JOB = "gregory-train-test-xyz"
WEIGHTS = {"pubmed_bert": "bert_weights.h5", "lstm": "lstm_weights.h5"}


def run_job(manage_argv, env, *argv: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*manage_argv, *argv], env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def sample_env(job_env) -> dict[str, str]:
    """60 real sample articles of demo/ms, by their first 14 words (a few seconds an epoch), and
    12 more left unreviewed for pseudo-labelling."""
    team = Team.objects.create(name="Demo", slug="demo")
    subject = Subject.objects.create(
        team=team, subject_name="MS", subject_slug="ms", auto_predict=True
    )
    texts, labels, _ = load_sample()
    positives = [i for i, label in enumerate(labels) if label == 1][:36]
    negatives = [i for i, label in enumerate(labels) if label == 0][:36]
    pairs = zip(positives[:30], negatives[:30], strict=True)
    rows = [(i, bool(labels[i])) for pair in pairs for i in pair]
    rows += [(i, None) for i in positives[30:] + negatives[30:]]
    for n, (i, label) in enumerate(rows):
        article = Articles.objects.create(
            title=" ".join(texts[i].split()[:14]), link=f"urn:gregory-test:{n}"
        )
        ArticleSubjectRelevance.objects.create(article=article, subject=subject, is_relevant=label)
    # Summaries are not what is tested; one thread keeps epochs steady beside other tests.
    # Epochs of seconds: a checkpoint after every one (the default waits 10 minutes).
    return {
        **job_env,
        "GREGORY_SUMMARISER": "off",
        "GREGORY_CPU_LIMIT": "1",
        "GREGORY_CHECKPOINT_EVERY_S": "0",
    }


def newest_version(models_dir: Path, algorithm: str) -> Path:
    algo_dir = models_dir / "demo" / "ms" / algorithm
    return algo_dir / layout.published_versions(algo_dir)[-1]


def kill_after_first_checkpoint(manage_argv, env, argv, stage_dir: Path) -> int:
    """Start the job, SIGKILL it once a checkpoint file exists; the epoch that file holds."""
    process = subprocess.Popen(
        [*manage_argv, *argv], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 300
        while not list(stage_dir.glob(f"{checkpoints.PREFIX}*")):
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, "no checkpoint appeared"
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
        process.stderr.close()
    assert process.returncode == -signal.SIGKILL
    [path] = stage_dir.glob(f"{checkpoints.PREFIX}*")
    return int(torch.load(path, weights_only=True)["epoch"])


@pytest.mark.slow
@pytest.mark.parametrize("algorithm", ["pubmed_bert", "lstm"])
def test_a_run_killed_mid_training_resumes_from_its_last_epoch(
    manage_argv, sample_env, models_dir, algorithm
):
    argv = ["train_models", "--team", "demo", "--algo", algorithm, "--all-articles"]
    # Uninterrupted, as a manual run: no Job name, so no checkpoint is ever written.
    done = run_job(manage_argv, sample_env, *argv, "--verbose", "2")
    assert done.returncode == 0, done.stderr
    assert not (models_dir / layout.CHECKPOINTS).exists()
    uninterrupted = newest_version(models_dir, algorithm)
    expected = json.loads((uninterrupted / layout.HISTORY_FILE).read_text())

    env = {**sample_env, "GREGORY_TRIGGERED_BY": JOB}
    stage_dir = layout.checkpoint_dir(JOB, "demo", "ms", algorithm)
    killed_at = kill_after_first_checkpoint(manage_argv, env, argv, stage_dir)
    assert 1 <= killed_at < 10

    done = run_job(manage_argv, env, *argv, "--verbose", "2")
    assert done.returncode == 0, done.stderr
    resumed_at = int(done.stdout.split(f"Resumed {algorithm} from epoch ")[1].split()[0])
    assert resumed_at >= killed_at
    version = newest_version(models_dir, algorithm)
    history = json.loads((version / layout.HISTORY_FILE).read_text())
    assert len(history["val_loss"]) == 10
    # Same seed, restored RNG states and data-loader generator: the same run on CPU.
    assert history["val_loss"] == pytest.approx(expected["val_loss"], rel=1e-6, abs=1e-9)
    assert history["train_loss"] == pytest.approx(expected["train_loss"], rel=1e-6, abs=1e-9)
    weights = WEIGHTS[algorithm]
    expected_state, _ = load_state_dict_h5(uninterrupted / weights)
    state, _ = load_state_dict_h5(version / weights)
    assert state.keys() == expected_state.keys()
    for key, tensor in state.items():
        torch.testing.assert_close(tensor, expected_state[key], rtol=1e-5, atol=1e-7, msg=key)
    metrics = json.loads((version / layout.METRICS_FILE).read_text())
    assert metrics["resumed_from_epoch"] == resumed_at
    # GREGORY_CPU_LIMIT=1 sized torch's pool (two cores here would give it two threads).
    assert metrics["n_threads"] == 1
    # Removed on success, with the Job's directories it leaves empty.
    assert not (models_dir / layout.CHECKPOINTS / JOB).exists()


@pytest.mark.slow
def test_a_run_killed_mid_pseudo_labelling_resumes_it(manage_argv, sample_env, models_dir):
    argv = ["train_models", "--team", "demo", "--algo", "lgbm_tfidf", "--all-articles"]
    argv += ["--pseudo-label", "--verbose", "2"]
    env = {**sample_env, "GREGORY_TRIGGERED_BY": JOB}
    stage_dir = layout.checkpoint_dir(JOB, "demo", "ms", layout.PSEUDO_LABELS)
    # The first iteration's BERT checkpoints its epochs below the stage's own directory.
    killed_at = kill_after_first_checkpoint(manage_argv, env, argv, stage_dir / "bert")
    assert killed_at >= 1

    done = run_job(manage_argv, env, *argv)
    assert done.returncode == 0, done.stderr
    resumed_at = int(done.stdout.split("Resumed pubmed_bert from epoch ")[1].split()[0])
    assert resumed_at >= killed_at
    version = newest_version(models_dir, "lgbm_tfidf")
    metrics = json.loads((version / layout.METRICS_FILE).read_text())
    assert Path(metrics["pseudo_label_csv"]).exists()
    assert not (models_dir / layout.CHECKPOINTS / JOB).exists()


def test_a_checkpoint_of_other_data_or_settings_is_deleted_not_resumed(small_splits, tmp_path):
    stage = tmp_path / "stage"
    trainer = LstmTrainer(checkpoint_dir=stage, epochs=2)
    mine = trainer._checkpoint(small_splits.train, small_splits.val)
    other_settings = LstmTrainer(checkpoint_dir=stage, epochs=3)
    theirs = other_settings._checkpoint(small_splits.train, small_splits.val)
    flipped = small_splits.train.with_rows([], [], [])  # a copy
    flipped.labels[0] = 1 - flipped.labels[0]
    relabelled = trainer._checkpoint(flipped, small_splits.val)
    assert len({mine.fingerprint, theirs.fingerprint, relabelled.fingerprint}) == 3

    theirs.save({"epoch": 1})
    assert mine.load() is None
    assert not theirs.path.exists()
    # A damaged file (or a writer's temporary leftover) is no checkpoint either.
    mine.save({"epoch": 1})
    assert mine.load()["epoch"] == 1
    mine.path.write_bytes(mine.path.read_bytes()[:40])
    (stage / ".tmp-leftover.pt").write_bytes(b"partial")
    assert mine.load() is None
    assert list(stage.iterdir()) == []


class CheckpointProbe(LstmTrainer):
    """The real trainer; each validation (after an epoch's training, before its checkpoint)
    notes whether a checkpoint file exists at that moment."""

    def __init__(self, **options) -> None:
        super().__init__(**options)
        self.seen: list[bool] = []

    def _loss(self, *args, **kwargs) -> float:
        assert self.checkpoint_dir is not None
        self.seen.append(any(self.checkpoint_dir.glob(f"{checkpoints.PREFIX}*")))
        return super()._loss(*args, **kwargs)


@pytest.mark.parametrize(("every_s", "seen"), [("3600", [False] * 3), ("0", [False, True, True])])
def test_checkpoints_wait_for_their_interval(monkeypatch, small_splits, tmp_path, every_s, seen):
    monkeypatch.setenv("GREGORY_CHECKPOINT_EVERY_S", every_s)
    stage = tmp_path / "stage"
    trainer = CheckpointProbe(checkpoint_dir=stage, epochs=3)
    history = trainer.train(small_splits.train, small_splits.val)
    assert len(history["val_loss"]) == 3
    # Epochs 2 and 3 found epoch 1's (then 2's) checkpoint only with an interval of 0.
    assert trainer.seen == seen
    assert not stage.exists()  # removed when training completed, either way


def test_a_bad_interval_is_refused_in_one_line(monkeypatch):
    from gregory.ml.core.config import SettingError

    for bad in ("-1", "ten", "nan"):
        monkeypatch.setenv("GREGORY_CHECKPOINT_EVERY_S", bad)
        with pytest.raises(SettingError, match="GREGORY_CHECKPOINT_EVERY_S") as caught:
            checkpoints.interval_s()
        assert "\n" not in str(caught.value)
    monkeypatch.setenv("GREGORY_CHECKPOINT_EVERY_S", "0")
    assert checkpoints.interval_s() == 0
    monkeypatch.delenv("GREGORY_CHECKPOINT_EVERY_S")
    assert checkpoints.interval_s() == 600


def test_no_job_name_means_no_checkpoint(monkeypatch, settings, tmp_path):
    settings.GREGORY_MODELS_DIR = tmp_path
    monkeypatch.delenv("GREGORY_TRIGGERED_BY", raising=False)
    assert checkpoints.stage_options("demo", "ms", "pubmed_bert", None) == {}
    monkeypatch.setenv("GREGORY_TRIGGERED_BY", JOB)
    options = checkpoints.stage_options("demo", "ms", "pubmed_bert", None)
    assert options["checkpoint_dir"] == tmp_path / ".checkpoints" / JOB / "demo" / "ms" / (
        "pubmed_bert"
    )
    assert checkpoints.stage_options("demo", "ms", "lgbm_tfidf", None) == {}


# A tiny random BERT at 1e-3 becomes confident enough to adopt rows (tests/deep/test_pseudo_label).
FAST = {"learning_rate": 1e-3, "epochs": 6}


@pytest.mark.slow
def test_pseudo_labelling_resumes_after_its_last_iteration(sample_splits, tmp_path):
    labelled = DatasetSplits(
        train=shorten(sample_splits.train, 173, 20),
        val=shorten(sample_splits.val, 50, 20),
        test=shorten(sample_splits.test, 50, 20),
    )
    rest = shorten(sample_splits.train, len(sample_splits.train), 20)
    pool = TextSplit(rest.texts[173:], np.zeros(0, dtype=np.int8), rest.article_ids[173:])
    # Iteration 1 trains the same model whatever the threshold: its median confidence makes it
    # adopt about half the pool, so iteration 2 has rows left to adopt.
    _, probe_csv = add_pseudo_labels(
        labelled,
        pool,
        csv_dir=tmp_path / "probe",
        confidence=0.5,
        max_iterations=1,
        trainer_options=FAST,
    )
    with probe_csv.open(newline="") as handle:
        confidence = float(np.median([float(r["confidence"]) for r in csv.DictReader(handle)]))
    settings = {"confidence": confidence, "max_iterations": 2, "seed": 69, "trainer_options": FAST}
    expected, expected_csv = add_pseudo_labels(
        labelled, pool, csv_dir=tmp_path / "uninterrupted", **settings
    )
    with expected_csv.open(newline="") as handle:
        expected_rows = list(csv.DictReader(handle))
    first_iteration = [row for row in expected_rows if row["iteration"] == "1"]
    assert first_iteration and len(first_iteration) < len(expected_rows)

    # The checkpoint the stage writes after iteration 1, as a disrupted Job would have left it.
    stage = tmp_path / "stage"
    position = {article: k for k, article in enumerate(pool.article_ids)}
    adopted = [
        (position[int(r["article_id"])], int(r["pseudo_label"]), float(r["confidence"]), 1)
        for r in first_iteration
    ]
    fingerprint = stage_fingerprint(labelled, pool, **settings)
    Checkpoint(stage, fingerprint).save({"iteration": 1, "finished": False, "adopted": adopted})

    notes: list[str] = []
    resumed, resumed_csv = add_pseudo_labels(
        labelled,
        pool,
        csv_dir=tmp_path / "resumed",
        checkpoint_dir=stage,
        notify=notes.append,
        **settings,
    )
    assert notes == ["Resumed pseudo-labelling from iteration 1 checkpoint"]
    with resumed_csv.open(newline="") as handle:
        assert list(csv.DictReader(handle)) == expected_rows
    assert resumed.train.article_ids == expected.train.article_ids
    assert resumed.train.labels.tolist() == expected.train.labels.tolist()
    # Kept once finished (the subject's next algorithms may yet be disrupted): a retry takes the
    # result whole, trains nothing and writes no second CSV.
    again, again_csv = add_pseudo_labels(
        labelled,
        pool,
        csv_dir=tmp_path / "resumed",
        checkpoint_dir=stage,
        notify=notes.append,
        **settings,
    )
    assert notes[1:] == ["Resumed pseudo-labelling from iteration 2 checkpoint"]
    assert again_csv == resumed_csv and list((tmp_path / "resumed").iterdir()) == [resumed_csv]
    assert again.train.article_ids == expected.train.article_ids
    checkpoints.clear_stage(stage)
    assert not stage.exists()


def test_checkpoints_of_a_job_that_gave_up_are_swept(tmp_path):
    root = tmp_path / layout.CHECKPOINTS
    now = time.time()
    for job, age_days in (("gave-up", 8), ("recent", 1), ("gregory-train-this", 30)):
        stage = root / job / "demo" / "ms" / "lstm"
        stage.mkdir(parents=True)
        (stage / "checkpoint-x.pt").write_bytes(b"x")
        old = now - age_days * 24 * 3600
        inside = [path for path in (stage, *stage.parents) if root in path.parents]
        for path in (stage / "checkpoint-x.pt", *inside):
            os.utime(path, (old, old))
    removed = checkpoints.sweep_stale(root, keep="gregory-train-this", now=now)
    assert removed == ["gave-up"]
    assert sorted(p.name for p in root.iterdir()) == ["gregory-train-this", "recent"]

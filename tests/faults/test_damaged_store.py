"""A damaged version store: every reader fails that one algorithm in one line naming the file.

Real versions (lgbm_tfidf and lstm, trained once by the real train_models and copied into each
test's models directory), damaged on disk as a bad night or a careless hand would: a truncated or
foreign current.json, a truncated artifact, a metrics.json with the wrong types, a directory that
is not a version. Then the real commands: the damaged algorithm's run row is closed with one line
naming the file, the other algorithm goes on, nothing prints a traceback, train_models spends no
version name on a pointer it cannot read, and promote_version refuses what is not a version but
can always rewrite a damaged pointer.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import stat
from collections.abc import Callable
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from gregory import exit_codes
from gregory.ml.core import layout
from gregory.ml.store import promotion
from gregory.models import MLPredictions, PredictionRunLog, Subject
from gregory_dev.demo import write_demo_csv
from launcher import db, history
from tests.faults.conftest import Run, assert_one_line_error
from tests.support.launcher import add_row

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TODAY = dt.date.today().strftime("%Y%m%d")
ALGOS = "lgbm_tfidf,lstm"
# Trained once per session, copied into each test's models directory.
_TRAINED: dict[str, Path] = {}


def algo_dir(algorithm: str = "lgbm_tfidf") -> Path:
    return layout.algorithm_dir("demo", "ms", algorithm)


def pointer(algorithm: str = "lgbm_tfidf") -> Path:
    return algo_dir(algorithm) / layout.CURRENT_FILE


@pytest.fixture
def store(
    subject: Subject, models_dir: Path, manage: Run, tmp_path_factory: pytest.TempPathFactory
) -> Subject:
    """demo/ms with its articles, and version v1 of lgbm_tfidf and lstm, each promoted."""
    csv_path = write_demo_csv(tmp_path_factory.mktemp("csv") / "demo.csv", n_articles=120)
    call_command("import_articles", str(csv_path), team="demo", subject="ms", stdout=StringIO())
    if "tree" not in _TRAINED:
        done = manage("train_models", "--team", "demo", "--algo", ALGOS, "--version", "v1")
        assert done.returncode == 0, done.stderr
        cache = tmp_path_factory.mktemp("trained") / "demo"
        shutil.copytree(models_dir / "demo", cache)
        _TRAINED["tree"] = cache
        PredictionRunLog.objects.all().delete()
    else:
        shutil.copytree(_TRAINED["tree"], models_dir / "demo")
    for algorithm in ALGOS.split(","):
        promotion.write_current(algo_dir(algorithm), "v1", "test", "set up")
    return subject


def predict(*argv: str) -> tuple[str, CommandError | None]:
    out = StringIO()
    try:
        call_command(
            "predict_articles", "--team", "demo", "--algo", ALGOS, *argv, stdout=out, stderr=out
        )
    except CommandError as error:
        return out.getvalue(), error
    return out.getvalue(), None


def rows(run_type: str, algorithm: str) -> list[PredictionRunLog]:
    return list(
        PredictionRunLog.objects.filter(run_type=run_type, algorithm=algorithm).order_by("pk")
    )


def assert_failed_in_one_line(row: PredictionRunLog, *words: str) -> None:
    assert row.success is False, row.error_message
    assert row.run_finished is not None
    assert "\n" not in row.error_message and "Traceback" not in row.error_message
    for word in words:
        assert word in row.error_message, row.error_message


def assert_lstm_went_on(run_type: str = "predict") -> None:
    (row,) = rows(run_type, "lstm")
    assert row.success is True, row.error_message
    if run_type == "predict":
        assert MLPredictions.objects.filter(algorithm="lstm").exists()


def truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def write(text: str | bytes) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)

    return damage


def make_directory(path: Path) -> None:
    path.unlink()
    path.mkdir()


POINTER_DAMAGE: dict[str, Callable[[Path], None]] = {
    "truncated": truncate,
    "empty object": write("{}"),
    "empty file": write(""),
    "not an object": write('["v1"]'),
    "version of the wrong type": write('{"version": 7, "history": []}'),
    "history of the wrong type": write('{"version": "v1", "history": "v0"}'),
    "a path, not a version name": write('{"version": "../../../../etc", "history": []}'),
    "not UTF-8": write(b"\xff\xfe{\x00"),
    "a directory": make_directory,
}


@pytest.mark.parametrize("damage", POINTER_DAMAGE.values(), ids=POINTER_DAMAGE.keys())
def test_predict_fails_that_algorithm_in_one_line_naming_the_pointer(store, damage) -> None:
    damage(pointer())
    out, error = predict()
    assert error is not None and error.returncode == exit_codes.RUN_FAILED
    assert str(error) == "1 of 2 prediction runs failed"
    (row,) = rows("predict", "lgbm_tfidf")
    assert_failed_in_one_line(row, str(pointer()), "promote_version")
    assert f"Failed lgbm_tfidf for demo/ms: {row.error_message}" in out
    assert "Traceback" not in out
    assert not MLPredictions.objects.filter(algorithm="lgbm_tfidf").exists()
    assert_lstm_went_on()


def test_predict_as_a_process_prints_no_traceback_for_a_truncated_pointer(
    store, manage: Run
) -> None:
    truncate(pointer())
    done = manage("predict_articles", "--team", "demo", "--algo", ALGOS)
    assert_one_line_error(done, exit_codes.RUN_FAILED, "1 of 2 prediction runs failed")
    assert f"Failed lgbm_tfidf for demo/ms: {pointer()}" in done.stdout
    assert "Finished lstm for demo/ms" in done.stdout
    (row,) = rows("predict", "lgbm_tfidf")
    assert_failed_in_one_line(row, str(pointer()))


def _metrics_edit(**changes: object) -> Callable[[Path], None]:
    def damage(version: Path) -> None:
        path = version / layout.METRICS_FILE
        path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))

    return damage


def _truncate_file(name: str) -> Callable[[Path], None]:
    return lambda version: truncate(version / name)


def _remove_file(name: str) -> Callable[[Path], None]:
    return lambda version: (version / name).unlink()


# (algorithm damaged, damage to its v1, the file the error must name)
VERSION_DAMAGE = {
    "truncated classifier": ("lgbm_tfidf", _truncate_file("lgbm_classifier.joblib")),
    "missing vectorizer": ("lgbm_tfidf", _remove_file("tfidf_vectorizer.joblib")),
    "truncated calibrator": ("lgbm_tfidf", _truncate_file(layout.CALIBRATOR_FILE)),
    "truncated metrics": ("lgbm_tfidf", _truncate_file(layout.METRICS_FILE)),
    "threshold of the wrong type": ("lgbm_tfidf", _metrics_edit(prob_threshold="high")),
    "algorithm of the wrong type": ("lgbm_tfidf", _metrics_edit(algorithm=["lgbm_tfidf"])),
    "another algorithm's version": ("lgbm_tfidf", _metrics_edit(algorithm="lstm")),
    "truncated lstm weights": ("lstm", _truncate_file("lstm_weights.h5")),
}
NAMED_FILE: dict[str, str | None] = {
    "truncated classifier": "lgbm_classifier.joblib",
    "missing vectorizer": "tfidf_vectorizer.joblib",
    "truncated calibrator": layout.CALIBRATOR_FILE,
    "truncated metrics": layout.METRICS_FILE,
    "threshold of the wrong type": layout.METRICS_FILE,
    "algorithm of the wrong type": None,  # refused as foreign: the version is named
    "another algorithm's version": layout.METRICS_FILE,
    "truncated lstm weights": "lstm_weights.h5",
}


def named(algorithm: str, file: str | None) -> str:
    version = algo_dir(algorithm) / "v1"
    return f"version v1 in {algo_dir(algorithm)}" if file is None else str(version / file)


@pytest.mark.parametrize("case", VERSION_DAMAGE, ids=VERSION_DAMAGE.keys())
def test_predict_fails_that_algorithm_in_one_line_naming_the_damaged_file(store, case) -> None:
    algorithm, damage = VERSION_DAMAGE[case]
    other = "lstm" if algorithm == "lgbm_tfidf" else "lgbm_tfidf"
    damage(algo_dir(algorithm) / "v1")
    out, error = predict()
    assert error is not None and str(error) == "1 of 2 prediction runs failed"
    (row,) = rows("predict", algorithm)
    assert_failed_in_one_line(row, named(algorithm, NAMED_FILE[case]))
    # A foreign version is refused before it is taken for one: no version on its row.
    assert row.model_version == ("" if NAMED_FILE[case] is None else "v1")
    assert "Traceback" not in out
    assert not MLPredictions.objects.filter(algorithm=algorithm).exists()
    (went_on,) = rows("predict", other)
    assert went_on.success is True, went_on.error_message


def versions(algorithm: str = "lgbm_tfidf") -> list[str]:
    return sorted(p.name for p in algo_dir(algorithm).iterdir() if p.is_dir())


def test_train_refuses_a_damaged_pointer_before_training_and_spends_no_version_name(
    store, manage: Run
) -> None:
    truncate(pointer("lgbm_tfidf"))
    for _attempt in range(2):
        done = manage("train_models", "--team", "demo", "--algo", "lgbm_tfidf")
        assert_one_line_error(done, exit_codes.RUN_FAILED, "1 of 1 training runs failed")
        assert "Started lgbm_tfidf" not in done.stdout  # refused before any training
        assert f"Failed lgbm_tfidf for demo/ms: {pointer()}" in done.stdout
    assert versions() == ["v1"]  # no version published, none left in staging
    first, second = rows("train", "lgbm_tfidf")
    for row in (first, second):
        assert_failed_in_one_line(row, str(pointer()), "promote_version")
        assert row.model_version == ""
    # The repair the line names works, and the next run takes today's first name.
    repaired = manage(*_promote_argv("v1"))
    assert repaired.returncode == 0, repaired.stderr
    done = manage("train_models", "--team", "demo", "--algo", "lgbm_tfidf")
    assert done.returncode == 0, done.stderr
    assert versions() == [TODAY, "v1"]


def test_train_goes_on_with_the_other_algorithm(store) -> None:
    (pointer("lgbm_tfidf")).write_text("{}")
    out = StringIO()
    with pytest.raises(CommandError, match="^1 of 2 training runs failed$"):
        argv = ["--team", "demo", "--algo", ALGOS, "--version", "v2"]
        call_command("train_models", *argv, stdout=out, stderr=out)
    (failed,) = rows("train", "lgbm_tfidf")
    assert_failed_in_one_line(failed, str(pointer()))
    assert versions("lgbm_tfidf") == ["v1"]
    assert_lstm_went_on("train")
    assert versions("lstm") == ["v1", "v2"]


@pytest.mark.parametrize(
    "damage", [truncate, write('{"train": "all of them"}')], ids=["truncated", "wrong types"]
)
def test_the_gate_names_a_damaged_split_record_and_leaves_the_pointer(store, damage) -> None:
    damage(algo_dir() / "v1" / layout.SPLIT_FILE)
    argv = ["--team", "demo", "--algo", "lgbm_tfidf", "--version", "v2"]
    call_command("train_models", *argv, stdout=StringIO(), stderr=StringIO())
    metrics = json.loads((algo_dir() / "v2" / layout.METRICS_FILE).read_text())
    assert metrics["decision"] == "REVIEW"
    split = str(algo_dir() / "v1" / layout.SPLIT_FILE)
    assert any(split in reason for reason in metrics["decision_reasons"])
    assert promotion.read_current(algo_dir())["version"] == "v1"


def _promote_argv(version: str, algorithm: str = "lgbm_tfidf") -> list[str]:
    return [
        "promote_version",
        "--team",
        "demo",
        "--subject",
        "ms",
        "--algo",
        algorithm,
        "--version",
        version,
    ]


@pytest.mark.parametrize("damage", POINTER_DAMAGE.values(), ids=POINTER_DAMAGE.keys())
def test_promote_version_repairs_a_damaged_pointer(store, damage) -> None:
    damage(pointer())
    damaged = sorted(algo_dir().glob(f"{layout.CURRENT_FILE}.damaged-*"))
    out = StringIO()
    call_command(*_promote_argv("v1"), stdout=out)
    assert "Promoted lgbm_tfidf for demo/ms: version v1" in out.getvalue()
    current = promotion.read_current(algo_dir())
    assert current["version"] == "v1"
    assert current["previous"] is None
    assert "damaged" in current["reason"]
    # What was there is kept aside for the post-mortem, not silently dropped.
    assert len(sorted(algo_dir().glob(f"{layout.CURRENT_FILE}.damaged-*"))) == len(damaged) + 1
    predict()
    assert rows("predict", "lgbm_tfidf")[0].success is True


def test_promote_version_as_a_process_repairs_a_truncated_pointer(store, manage: Run) -> None:
    truncate(pointer())
    done = manage(*_promote_argv("v1"))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert promotion.read_current(algo_dir())["version"] == "v1"


NOT_A_VERSION = {
    "an empty directory": lambda version: version.mkdir(),
    "a copy with truncated weights": lambda version: (
        shutil.copytree(algo_dir() / "v1", version),
        truncate(version / "lgbm_classifier.joblib"),
    ),
    "a copy without its vectorizer": lambda version: (
        shutil.copytree(algo_dir() / "v1", version),
        (version / "tfidf_vectorizer.joblib").unlink(),
    ),
    "a copy with a truncated metrics.json": lambda version: (
        shutil.copytree(algo_dir() / "v1", version),
        truncate(version / layout.METRICS_FILE),
    ),
    "a copy of another algorithm's version": lambda version: shutil.copytree(
        algo_dir("lstm") / "v1", version
    ),
}


@pytest.mark.parametrize("make", NOT_A_VERSION.values(), ids=NOT_A_VERSION.keys())
def test_promote_version_refuses_what_is_not_a_complete_version(store, manage: Run, make) -> None:
    make(algo_dir() / "20991231")
    before = pointer().read_bytes()
    done = manage(*_promote_argv("20991231"))
    assert_one_line_error(done, exit_codes.USAGE, str(algo_dir() / "20991231"))
    assert pointer().read_bytes() == before


def test_the_pointer_has_the_version_tree_permissions(store) -> None:
    call_command(*_promote_argv("v1"), stdout=StringIO())
    metrics_mode = stat.S_IMODE((algo_dir() / "v1" / layout.METRICS_FILE).stat().st_mode)
    assert stat.S_IMODE(pointer().stat().st_mode) == metrics_mode
    assert metrics_mode & stat.S_IROTH  # readable by the site, as the versions are


def test_the_launcher_history_survives_a_damaged_metrics_file(store) -> None:
    _metrics_edit(algorithm=["lgbm_tfidf"])(algo_dir() / "v1")
    add_row("demo", "ms", version="v1")
    entries = history.build(db.run_rows(limit=10, every_type=True), [])
    (entry,) = [e for e in entries if e.row.model_version == "v1"]
    assert entry.foreign is not None and layout.METRICS_FILE in entry.foreign
    assert entry.metrics == {}

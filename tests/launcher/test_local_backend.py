"""The local backend: the real job end to end on SQLite, plus cancel, lost runs and logs."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from io import StringIO
from pathlib import Path

import pytest

from gregory.flags import PredictFlags, TrainFlags
from launcher.app import LauncherApp
from launcher.backends.base import BackendError, RunState
from launcher.backends.local import LocalBackend
from launcher.cli import main
from launcher.operations import Operations
from launcher.widgets.tables import RowsTable, RunsTable
from tests.support.launcher import add_row, import_demo, make_scope, sleeper_backend


def wait_for(predicate, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


@pytest.mark.asyncio
async def test_real_job_end_to_end_then_status_and_the_tui_show_its_rows(
    job_env: dict[str, str], launcher_dir: Path, tmp_path: Path
) -> None:
    # Setup in a thread of its own: Django refuses synchronous ORM calls inside the event loop.
    from asgiref.sync import sync_to_async

    await sync_to_async(import_demo)(tmp_path)
    backend = LocalBackend(launcher_dir, env=job_env)
    operations = Operations(backend, "test")
    planned = await sync_to_async(operations.plan)(TrainFlags(team="demo", algos=("lgbm_tfidf",)))
    (submission,) = operations.submit(planned)
    name = submission.run.name
    assert submission.run.argv[-5:] == ("train_models", "--team", "demo", "--algo", "lgbm_tfidf")

    run = await sync_to_async(backend.wait)(name, timeout=180)
    log = "\n".join(backend.stream_logs(name, follow=False))
    assert run.state is RunState.SUCCEEDED, log
    assert "Started lgbm_tfidf for demo/ms-research" in log

    overview = await sync_to_async(operations.overview)()
    (view,) = overview.runs
    (row,) = view.rows
    assert (row.outcome, row.row.algorithm, row.row.triggered_by) == ("ok", "lgbm_tfidf", name)

    out = StringIO()
    assert await sync_to_async(main)(["--backend", "local", "status", name], out=out) == 0
    text = out.getvalue()
    assert f"{name}  succeeded" in text
    assert "demo/ms-research  lgbm_tfidf   ok" in text

    app = LauncherApp(operations, refresh_seconds=0)
    async with app.run_test(size=(140, 36)) as pilot:
        await pilot.press("f3")  # the runs screen
        await app.workers.wait_for_complete()
        await pilot.pause()
        runs = app.screen.query_one(RunsTable)
        rows = app.screen.query_one(RowsTable)
        assert runs.highlighted_name() == name
        assert rows.row_count == 1
        cells = [str(cell) for cell in rows.get_row_at(0)]
        assert cells[:2] == ["lgbm_tfidf", "ok"]
        assert 0.0 <= float(cells[2]) <= 1.0  # the version's test ROC-AUC
        assert cells[3:5] == [row.row.model_version, "ms-research"]


@pytest.mark.slow
def test_train_then_predict_through_the_cli_with_the_real_job(
    job_env: dict[str, str], launcher_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_demo(tmp_path)
    # The CLI's jobs inherit this process's environment: point them at the test database.
    for key in ("DATABASE_URL", "GREGORY_MODELS_DIR"):
        monkeypatch.setenv(key, job_env[key])
    base = ["--backend", "local", "submit", "--team", "demo", "--algo", "lgbm_tfidf", "--follow"]
    trained, predicted = StringIO(), StringIO()
    assert main([*base, "--run-id", "t1"], out=trained) == 0, trained.getvalue()
    assert main([*base, "--command", "predict", "--run-id", "p1"], out=predicted) == 0, (
        predicted.getvalue()
    )
    assert "--- predict-demo-all-p1: succeeded" in predicted.getvalue()

    views = {view.run.name: view for view in Operations(LocalBackend(launcher_dir)).overview().runs}
    (train_row,) = views["demo-all-t1"].rows
    (predict_row,) = views["predict-demo-all-p1"].rows
    assert (train_row.row.run_type, predict_row.row.run_type) == ("train", "predict")
    assert predict_row.outcome == "ok"
    # The prediction used the version the training just published.
    assert predict_row.row.model_version == train_row.row.model_version


def test_cancel_sends_sigterm_through_the_supervisor(tmp_path: Path) -> None:
    backend = sleeper_backend(tmp_path)
    run = backend.submit(TrainFlags(team="demo"), "r1").run
    assert run.state is RunState.RUNNING
    wait_for(lambda: "tick 1" in (tmp_path / "runs" / run.name / "log").read_text())
    backend.cancel(run.name)
    final = backend.wait(run.name, timeout=10)
    assert final.state is RunState.CANCELLED
    assert "SIGTERM" in final.detail or "-15" in final.detail
    with pytest.raises(BackendError, match="already cancelled"):
        backend.cancel(run.name)


def test_the_same_run_twice_is_already_submitted(tmp_path: Path) -> None:
    backend = sleeper_backend(tmp_path)
    first = backend.submit(TrainFlags(team="demo"), "r1")
    again = backend.submit(TrainFlags(team="demo"), "r1")
    assert again.already_existed and again.run.name == first.run.name
    backend.cancel(first.run.name)
    backend.wait(first.run.name, timeout=10)


def test_a_killed_job_fails_and_a_vanished_supervisor_is_lost(tmp_path: Path, db) -> None:
    make_scope("demo", "ms-research")
    backend = sleeper_backend(tmp_path)
    oom = backend.submit(TrainFlags(team="demo", subject="ms-research"), "oom").run
    gone = backend.submit(TrainFlags(team="demo", subject="ms-research"), "gone").run
    for run in (oom, gone):
        add_row("demo", "ms-research", success=None, triggered_by=run.name)
        wait_for(lambda run=run: "tick" in (tmp_path / "runs" / run.name / "log").read_text())

    # The kernel's OOM killer takes the job: the supervisor records SIGKILL.
    child = next(
        int(pid)
        for pid in os.listdir("/proc")
        if pid.isdigit()
        and _parent(int(pid))
        == json.loads((tmp_path / "runs" / oom.name / "meta.json").read_text())["pid"]
    )
    os.kill(child, signal.SIGKILL)
    assert backend.wait(oom.name, timeout=10).state is RunState.FAILED
    assert "SIGKILL" in backend.status(oom.name).detail

    # Supervisor and job both die (a reboot, kill -9 of the group): nothing records an outcome.
    os.killpg(
        json.loads((tmp_path / "runs" / gone.name / "meta.json").read_text())["pid"], signal.SIGKILL
    )
    wait_for(lambda: backend.status(gone.name).state is RunState.LOST)

    overview = Operations(backend).overview()
    outcomes = {view.run.name: [row.outcome for row in view.rows] for view in overview.runs}
    assert outcomes == {oom.name: ["lost"], gone.name: ["lost"]}


def _parent(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat[stat.rindex(")") + 2 :].split()[1])


def test_logs_follow_and_stop(tmp_path: Path) -> None:
    backend = sleeper_backend(tmp_path)
    run = backend.submit(TrainFlags(team="demo", version="v1"), "logs").run
    stream = backend.stream_logs(run.name)
    lines = []
    for line in stream:
        lines.append(line)
        if line == "tick 3":
            stream.stop()
    assert lines[0] == "sleeper train_models --team demo --version v1"
    assert lines[-1] == "tick 3"
    backend.cancel(run.name)
    backend.wait(run.name, timeout=10)
    # After the fact, without follow, the whole log is still there.
    assert "tick 3" in list(backend.stream_logs(run.name, follow=False))


def test_cli_reports_an_unreachable_database_in_one_line(
    launcher_dir, monkeypatch, capsys, django_db_blocker
):
    from django.db import connection

    monkeypatch.setitem(connection.settings_dict, "NAME", "/nonexistent/dir/gregory.sqlite3")
    connection.close()
    with django_db_blocker.unblock():
        code = main(["submit", "--team", "demo"], out=StringIO())
    connection.close()
    backend, *err = capsys.readouterr().err.splitlines()
    assert code == 1
    assert backend.startswith("backend: local")
    assert len(err) == 1
    assert err[0].startswith("gregory-launch: error: database unavailable (sqlite /nonexistent")


def test_the_job_runs_as_the_installed_module_from_anywhere(
    job_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No checkout on the path and another working directory: only the installed package.
    monkeypatch.chdir(tmp_path)
    env = {key: value for key, value in job_env.items() if key != "PYTHONPATH"}
    backend = LocalBackend(tmp_path / "launcher", env=env)
    run = backend.submit(TrainFlags(team="nope"), "module").run
    assert run.argv[:4] == (sys.executable, "-m", "gregory_train", "train_models")
    final = backend.wait(run.name, timeout=60)
    log = "\n".join(backend.stream_logs(run.name, follow=False))
    assert (final.state, final.detail) == (RunState.FAILED, "exit 2 (usage error)"), log
    assert "unknown team 'nope'" in log


def test_a_prediction_runs_predict_articles_under_its_own_name(tmp_path: Path) -> None:
    backend = sleeper_backend(tmp_path)
    train = backend.submit(TrainFlags(team="demo"), "r1").run
    predict = backend.submit(PredictFlags(team="demo", model_version="v1"), "r1").run
    assert (train.name, predict.name) == ("demo-all-r1", "predict-demo-all-r1")
    every = backend.submit(PredictFlags(all_teams=True), "r1").run
    assert every.name == "predict-all-teams-r1"
    for run in (train, predict, every):
        backend.cancel(run.name)
        backend.wait(run.name, timeout=10)
    log = list(backend.stream_logs(predict.name, follow=False))
    assert log[0] == "sleeper predict_articles --team demo --model-version v1"


def test_a_damaged_run_record_hides_no_other_run_and_closes_no_row(launcher_dir: Path, db) -> None:
    make_scope("demo", "ms-research")
    backend = sleeper_backend(launcher_dir)
    kept = backend.submit(TrainFlags(team="demo", subject="ms-research"), "kept").run
    damaged = backend.submit(TrainFlags(team="demo", subject="ms-research"), "damaged").run
    add_row("demo", "ms-research", success=None, triggered_by=damaged.name)
    (launcher_dir / "runs" / damaged.name / "meta.json").write_text('{"name": "half a rec')

    states = {run.name: run.state for run in backend.list_runs()}
    assert states == {kept.name: RunState.RUNNING, damaged.name: RunState.UNKNOWN}
    assert "cannot be read" in backend.status(damaged.name).detail
    overview = Operations(backend).overview()
    outcomes = {view.run.name: [row.outcome for row in view.rows] for view in overview.runs}
    assert outcomes[damaged.name] == ["running"]  # nothing says it ended: its row stays open

    out, err = StringIO(), StringIO()
    assert main(["--backend", "local", "status"], out=out, err=err) == 0, err.getvalue()
    assert kept.name in out.getvalue() and damaged.name in out.getvalue()
    backend.cancel(kept.name)
    backend.wait(kept.name, timeout=10)

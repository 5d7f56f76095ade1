"""Launcher test helpers: scopes and run-log rows in the database, runs in the local registry,
and a local backend whose job runs until stopped."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

from launcher.backends.local import LocalBackend

FIXED = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)

# Stands in for manage.py where a test needs a job that runs until stopped; the backend, its
# supervisor and the registry are the real ones.
SLEEPER = (
    "import sys, time\n"
    "print('sleeper', *sys.argv[1:], flush=True)\n"
    "for i in range(600):\n"
    "    print('tick', i, flush=True)\n"
    "    time.sleep(0.1)\n"
)


def sleeper_backend(root: Path) -> LocalBackend:
    return LocalBackend(root, manage_argv=[sys.executable, "-c", SLEEPER])


def make_scope(team_slug: str = "demo", *subjects: str, opted_out: tuple[str, ...] = ()):
    """A team with subjects to train (auto_predict on) and `opted_out` ones (auto_predict off)."""
    from gregory.models import Subject, Team

    team = Team.objects.create(name=team_slug.title(), slug=team_slug)
    chosen = [(slug, True) for slug in subjects or (() if opted_out else ("ms-research",))]
    for slug, auto_predict in [*chosen, *((slug, False) for slug in opted_out)]:
        Subject.objects.create(
            team=team,
            subject_name=slug.replace("-", " "),
            subject_slug=slug,
            auto_predict=auto_predict,
        )
    return team


def import_demo(tmp_path: Path) -> None:
    """Team demo, subject ms-research and 60 labelled demo articles, through import_articles."""
    from io import StringIO

    from django.core.management import call_command

    from gregory_dev.demo import write_demo_csv

    make_scope("demo", "ms-research")
    csv_path = write_demo_csv(tmp_path / "articles.csv", n_articles=60, seed=5)
    call_command(
        "import_articles",
        "--team",
        "demo",
        "--subject",
        "ms-research",
        str(csv_path),
        stdout=StringIO(),
    )


# A version's metrics.json as the job writes it, for screens that show them.
PUBLISHED_METRICS = {
    "test_roc_auc": 0.912,
    "test_roc_auc_ci_low": 0.88,
    "test_roc_auc_ci_high": 0.94,
    "test_f1": 0.75,
    "n_train": 42,
    "decision": "DEPLOY",
}


def publish_version(
    models: Path, algo: str, version: str, metrics: dict, report: bool = False
) -> Path:
    """A published version of demo/ms-research under `models`: its metrics, and a report."""
    path = models / "demo" / "ms-research" / algo / version
    path.mkdir(parents=True)
    # Every version the job writes names its algorithm; one that does not is refused as foreign.
    (path / "metrics.json").write_text(json.dumps({"algorithm": algo, **metrics}))
    if report:
        (path / "report.html").write_text("<html></html>")
    return path


def add_row(
    team_slug: str,
    subject_slug: str,
    *,
    algorithm: str = "lgbm_tfidf",
    success: bool | None = True,
    triggered_by: str | None = None,
    started: dt.datetime = FIXED,
    minutes: int = 3,
    version: str = "20260102",
    error: str | None = None,
):
    """A PredictionRunLog row with fixed times (run_started is auto_now_add, so set it after)."""
    from gregory.models import PredictionRunLog, Subject

    subject = Subject.objects.select_related("team").get(
        team__slug=team_slug, subject_slug=subject_slug
    )
    row = PredictionRunLog.objects.create(
        team=subject.team,
        subject=subject,
        model_version=version,
        algorithm=algorithm,
        run_type="train",
        success=success,
        triggered_by=triggered_by,
        error_message=error,
        run_finished=None if success is None else started + dt.timedelta(minutes=minutes),
    )
    PredictionRunLog.objects.filter(pk=row.pk).update(run_started=started)
    return row


DEAD_PID = 4_194_305  # above the kernel's largest pid_max: never a live process


def write_run(
    root: Path,
    name: str,
    *,
    team: str = "demo",
    subject: str | None = None,
    argv: tuple[str, ...] = (),
    created: dt.datetime = FIXED,
    returncode: int | None = 0,
    minutes: int = 5,
    log: str = "",
) -> None:
    """A run in the local registry as the backend leaves it (returncode None: never finished)."""
    run_dir = root / "runs" / name
    run_dir.mkdir(parents=True)
    meta = {
        "name": name,
        "team": team,
        "subject": subject,
        "argv": list(argv),
        "pid": DEAD_PID,
        "pid_start": "0",
        "created": created.isoformat(),
    }
    (run_dir / "meta.json").write_text(json.dumps(meta))
    (run_dir / "log").write_text(log)
    if returncode is not None:
        finished = created + dt.timedelta(minutes=minutes)
        result = {"returncode": returncode, "finished": finished.isoformat()}
        (run_dir / "result.json").write_text(json.dumps(result))


# The snapshot screens' registry: one finished run with a log, one lost run, and their rows.
OK_RUN = "demo-all-0102-a1b2"
LOST_RUN = "demo-all-0102-c3d4"
OK_LOG = "".join(
    [
        "Started lgbm_tfidf for demo/ms-research (version 20260102)\n",
        *(f"[LightGBM] iteration {i}\n" for i in range(1, 13)),
        "Finished lgbm_tfidf for demo/ms-research: version 20260102, test roc_auc 0.912\n",
    ]
)


def write_snapshot_registry(root: Path) -> Path:
    """Fixed runs and rows for the snapshots and the docs screenshots (needs the database)."""
    make_scope("demo", "ms-research", "ms-imaging")
    argv = ("python", "-m", "gregory_train", "train_models", "--team", "demo")
    write_run(root, OK_RUN, argv=argv, returncode=0, log=OK_LOG)
    later = FIXED + dt.timedelta(hours=1)
    write_run(root, LOST_RUN, argv=argv, created=later, returncode=None)
    for subject in ("ms-imaging", "ms-research"):
        add_row("demo", subject, triggered_by=OK_RUN, minutes=2)
    add_row(
        "demo",
        "ms-imaging",
        triggered_by=LOST_RUN,
        success=False,
        started=later,
        error="Traceback …\nValueError: stratification impossible: one class only",
    )
    add_row("demo", "ms-research", triggered_by=LOST_RUN, success=None, started=later)
    return root


def snapshot_app(root: Path):
    """The TUI over the registry in `root`, with no refresh timer to make frames differ."""
    from launcher.app import LauncherApp
    from launcher.operations import Operations

    return LauncherApp(Operations(LocalBackend(root), "chosen by test"), refresh_seconds=0)

"""Kueue through the CLI against the emulator: a team's LocalQueue must exist (or the launcher
creates it), manual runs outrank nightly ones, and a Job still queued is not doubled."""

from __future__ import annotations

from io import StringIO

import pytest

from launcher.cli import main
from tests.support.launcher import make_scope

QUEUE = "kueue.x-k8s.io/queue-name"
PRIORITY = "kueue.x-k8s.io/priority-class"


@pytest.fixture
def kueue(kube, kubeconfig, db, monkeypatch):
    monkeypatch.setenv("GREGORY_JOB_QUEUE_NAME", "gregory-{team}")
    monkeypatch.delenv("GREGORY_JOB_CLUSTER_QUEUE", raising=False)
    monkeypatch.delenv("GREGORY_JOB_PRIORITY_CLASS", raising=False)
    make_scope("demo", "ms-research", "other")
    return kube


def submit(*argv: str) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    argv = ("submit", "--team", "demo", "--subject", "ms-research", "--algo", "lgbm_tfidf", *argv)
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_a_missing_local_queue_is_refused_in_one_line(kueue) -> None:
    code, _, err = submit()
    assert code == 1
    # The backend line comes first (which cluster), then the one line of the refusal.
    assert err.strip().splitlines()[1:] == [
        "gregory-launch: error: Kueue LocalQueue gregory-demo (team demo) does not exist in "
        "namespace gregory: create it, or set GREGORY_JOB_CLUSTER_QUEUE so the launcher creates "
        "it; nothing submitted for this team"
    ]
    assert not kueue.jobs and not kueue.local_queues


def test_the_launcher_creates_a_new_teams_queue(kueue, monkeypatch) -> None:
    monkeypatch.setenv("GREGORY_JOB_CLUSTER_QUEUE", "gregory")
    code, _, err = submit()
    assert code == 0, err
    queue = kueue.local_queues[("gregory", "gregory-demo")]
    assert queue["spec"] == {"clusterQueue": "gregory"}
    ((_, job),) = kueue.jobs.items()
    assert job["metadata"]["labels"][QUEUE] == "gregory-demo"
    # A second submission finds the queue and creates nothing more.
    assert submit("--run-id", "second")[0] == 0
    assert len(kueue.local_queues) == 1


@pytest.mark.parametrize("priority", ["gregory-manual", "gregory-nightly"])
def test_jobs_carry_the_priority_class(kueue, monkeypatch, priority: str) -> None:
    kueue.add_local_queue("gregory-demo")
    monkeypatch.setenv("GREGORY_JOB_PRIORITY_CLASS", priority)
    assert submit()[0] == 0
    ((_, job),) = kueue.jobs.items()
    assert job["metadata"]["labels"][PRIORITY] == priority


def test_a_job_still_queued_is_not_doubled_by_the_next_night(kueue) -> None:
    kueue.add_local_queue("gregory-demo")
    code, out, _ = submit("--run-id", "nightly-20261201")
    assert code == 0
    ((_, first),) = kueue.jobs.items()
    first_name = first["metadata"]["name"]
    assert first["spec"]["suspend"] is True  # no quota yet

    # The next night: the same scope is still waiting for quota. Nothing new.
    code, out, _ = submit("--run-id", "nightly-20261202")
    assert code == 0
    assert out.startswith(f"already submitted {first_name} (demo/ms-research, queued")
    assert len(kueue.jobs) == 1

    # Another subject of the team is not held back by it.
    out = StringIO()
    argv = ["submit", "--team", "demo", "--subject", "other", "--run-id", "nightly-20261202"]
    assert main(argv, out=out) == 0
    assert out.getvalue().startswith("submitted ")
    assert len(kueue.jobs) == 2

    # Once admitted and finished, the next night submits again.
    kueue.admit(first_name)
    kueue.start_container(first_name)
    kueue.finish(first_name, succeeded=True)
    code, out, _ = submit("--run-id", "nightly-20261203")
    assert code == 0 and out.startswith("submitted ")
    assert len(kueue.jobs) == 3


def fan_out(run_id: str) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    argv = ["submit", "--all-teams", "--algo", "lgbm_tfidf", "--run-id", run_id]
    code = main(argv, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_a_refused_team_does_not_stop_the_fan_out(kueue) -> None:
    # demo (subjects ms-research, other) has its queue; beta and gamma have none and no
    # GREGORY_JOB_CLUSTER_QUEUE to make one; zeta, planned after them, has its queue.
    make_scope("beta", "oncology")
    make_scope("gamma", "cardiology", "neurology")
    make_scope("zeta", "virology")
    kueue.add_local_queue("gregory-demo")
    kueue.add_local_queue("gregory-zeta")

    code, out, err = fan_out("nightly-20261201")

    assert code == 1
    submitted = sorted(
        job["metadata"]["annotations"]["gregory/team"] for job in kueue.jobs.values()
    )
    assert submitted == ["demo", "demo", "zeta"]
    assert out.count("submitted ") == 3
    # After the backend line, one line per refused team (both of gamma's subjects on one).
    assert err.strip().splitlines()[1:] == [
        "gregory-launch: error: beta/oncology: Kueue LocalQueue gregory-beta (team beta) does "
        "not exist in namespace gregory: create it, or set GREGORY_JOB_CLUSTER_QUEUE so the "
        "launcher creates it; nothing submitted for this team",
        "gregory-launch: error: gamma/cardiology, gamma/neurology: Kueue LocalQueue "
        "gregory-gamma (team gamma) does not exist in namespace gregory: create it, or set "
        "GREGORY_JOB_CLUSTER_QUEUE so the launcher creates it; nothing submitted for this team",
    ]

    # The CronJob's retry (backoffLimit 2) doubles nothing and refuses the same teams again.
    code, out, err = fan_out("nightly-20261201")
    assert code == 1 and out.count("already submitted ") == 3
    assert len(err.strip().splitlines()) == 3
    assert len(kueue.jobs) == 3

    # The next night, the three still wait for quota: not doubled; the same two refused.
    code, out, err = fan_out("nightly-20261202")
    assert code == 1 and out.count("already submitted ") == 3
    assert len(err.strip().splitlines()) == 3
    assert len(kueue.jobs) == 3

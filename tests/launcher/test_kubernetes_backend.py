"""The Kubernetes backend through the official client over real HTTP, against the emulator."""

from __future__ import annotations

import queue
import threading
import time
from io import StringIO

import pytest

from gregory.flags import PredictFlags, TrainFlags
from launcher.backends.base import BackendError, RunNotFound, RunState
from launcher.operations import Operations
from tests.support.launcher import add_row, make_scope

FLAGS = TrainFlags(team="demo", subject="ms-research", algos=("lgbm_tfidf",))


class Reader:
    """Consumes a log stream in a thread, as the TUI's worker does."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.lines: queue.Queue[str] = queue.Queue()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.error: BaseException | None = None
        self.thread.start()

    def _run(self) -> None:
        try:
            for line in self.stream:
                self.lines.put(line)
        except BaseException as error:  # surfaced by the test through self.error
            self.error = error

    def next(self, timeout: float = 10) -> str:
        return self.lines.get(timeout=timeout)

    def join(self, timeout: float = 10) -> None:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "log stream did not end"
        assert self.error is None, self.error


def test_submit_creates_one_job_and_a_409_means_already_submitted(kube, kube_backend):
    first = kube_backend.submit(FLAGS, "0102-abcd")
    assert not first.already_existed
    assert first.run.state is RunState.RUNNING
    assert (first.run.team, first.run.subject) == ("demo", "ms-research")
    assert first.run.argv[-7:] == (
        "train_models",
        "--team",
        "demo",
        "--subject",
        "ms-research",
        "--algo",
        "lgbm_tfidf",
    )

    again = kube_backend.submit(FLAGS, "0102-abcd")
    assert again.already_existed
    assert again.run.name == first.run.name
    assert len(kube.jobs) == 1
    posts = [path for method, path in kube.requests if method == "POST"]
    assert len(posts) == 2  # the second create reached the API and got its 409

    runs = kube_backend.list_runs()
    assert [run.name for run in runs] == [first.run.name]


def test_logs_wait_for_the_container_survive_a_410_and_follow(kube, kube_backend):
    name = kube_backend.submit(FLAGS, "0102-logs").run.name
    kube.expire_watches = 1  # the first watch answers 410 Gone: the backend must list again
    reader = Reader(kube_backend.stream_logs(name))
    assert reader.next().startswith(f"[launcher] waiting for pod {name}-abcde (ContainerCreating)")
    deadline = time.monotonic() + 5
    while kube.expire_watches and time.monotonic() < deadline:
        time.sleep(0.05)
    assert kube.expire_watches == 0

    kube.start_container(name)
    kube.log(name, "Started lgbm_tfidf for demo/ms-research")
    assert reader.next() == "Started lgbm_tfidf for demo/ms-research"
    kube.log(name, "Finished lgbm_tfidf", "done")
    assert [reader.next(), reader.next()] == ["Finished lgbm_tfidf", "done"]
    kube.finish(name, succeeded=True)
    reader.join()

    pod_lists = [p for m, p in kube.requests if p.endswith("/pods")]
    log_reads = [p for m, p in kube.requests if p.endswith("/log")]
    assert len(pod_lists) >= 3  # list, 410 watch, list again, watch, list
    assert len(log_reads) == 1  # never asked for the log of a waiting container
    assert kube_backend.status(name).state is RunState.SUCCEEDED


def test_stop_ends_a_follow_stream_promptly(kube, kube_backend):
    name = kube_backend.submit(FLAGS, "0102-stop").run.name
    kube.start_container(name)
    kube.log(name, "line 1")
    stream = kube_backend.stream_logs(name)
    reader = Reader(stream)
    assert reader.next() == "line 1"
    started = time.monotonic()
    stream.stop()
    reader.join(timeout=5)
    assert time.monotonic() - started < 3


def test_a_container_that_cannot_start_ends_the_stream_with_the_reason(kube, kube_backend):
    name = kube_backend.submit(FLAGS, "0102-pull").run.name
    kube.set_waiting(name, "ImagePullBackOff")
    lines = list(kube_backend.stream_logs(name))
    assert lines == [f"[launcher] pod {name}-abcde cannot start: ImagePullBackOff"]


def test_a_failed_job_is_failed_and_its_running_rows_are_lost(kube, kube_backend, db):
    make_scope("demo", "ms-research")
    name = kube_backend.submit(FLAGS, "0102-oom").run.name
    kube.start_container(name)
    add_row("demo", "ms-research", success=None, triggered_by=name)
    add_row("demo", "ms-research", algorithm="lstm", success=False, triggered_by=name, error="x")
    kube.finish(
        name,
        succeeded=False,
        reason="BackoffLimitExceeded",
        message="Job has reached the specified backoff limit",
        exit_code=137,
    )
    run = kube_backend.status(name)
    assert run.state is RunState.FAILED
    assert run.detail.startswith("BackoffLimitExceeded")
    assert run.finished is not None

    overview = Operations(kube_backend).overview()
    (view,) = overview.runs
    assert sorted(row.outcome for row in view.rows) == ["failed", "lost"]


def test_cancel_deletes_the_job_with_foreground_propagation(kube, kube_backend):
    name = kube_backend.submit(FLAGS, "0102-cncl").run.name
    kube_backend.cancel(name)
    assert kube.deletions == [("Job", name, "Foreground")]
    with pytest.raises(RunNotFound):
        kube_backend.status(name)
    with pytest.raises(RunNotFound):
        kube_backend.cancel(name)


def test_an_unreachable_cluster_is_one_line(kube_backend):
    from kubernetes import client

    from launcher.backends.kubernetes import KubernetesBackend

    configuration = client.Configuration(host="http://127.0.0.1:9")
    configuration.retries = 0
    backend = KubernetesBackend(kube_backend.settings, client.ApiClient(configuration))
    with pytest.raises(BackendError, match=r"^cannot reach the Kubernetes API at http://127"):
        backend.list_runs()


def test_submit_all_teams_fans_out_one_job_per_subject_through_the_cli(kube, kubeconfig, db):
    from launcher.cli import main

    make_scope("demo", "ms-research", "ms-imaging")
    make_scope("other", "ms-trials")
    out, err = StringIO(), StringIO()
    assert main(["submit", "--all-teams", "--algo", "lgbm_tfidf"], out=out, err=err) == 0
    text = out.getvalue()
    # Which backend, and why, is a diagnostic: on stderr.
    assert err.getvalue().startswith("backend: kubernetes (context emulator, namespace gregory)")
    assert f"kubeconfig {kubeconfig} found" in err.getvalue().splitlines()[0]
    assert sorted(
        job["metadata"]["annotations"]["gregory/subject"] for job in kube.jobs.values()
    ) == [
        "ms-imaging",
        "ms-research",
        "ms-trials",
    ]
    for job in kube.jobs.values():
        args = job["spec"]["template"]["spec"]["containers"][0]["args"]
        team = job["metadata"]["annotations"]["gregory/team"]
        subject = job["metadata"]["annotations"]["gregory/subject"]
        assert args == [
            "train_models",
            "--team",
            team,
            "--subject",
            subject,
            "--algo",
            "lgbm_tfidf",
        ]
    assert text.count("submitted gregory-") == 3

    out = StringIO()
    assert main(["status"], out=out) == 0
    # Truthful: the pods exist but their containers are still being created.
    pending = [
        line.split()
        for line in out.getvalue().splitlines()
        if line.startswith("gregory-") and line.split()[1] == "pending"
    ]
    assert len(pending) == 3, out.getvalue()
    assert all(fields[-1] == "ContainerCreating" for fields in pending), out.getvalue()
    assert all("2026-01-02" in fields and "03:04:05" in fields for fields in pending)


def test_a_nightly_run_id_makes_a_second_fan_out_already_submitted(kube, kubeconfig, db):
    from launcher.cli import main

    make_scope("demo", "ms-research")
    argv = ["submit", "--all-teams", "--run-id", "nightly-{date}"]
    first, second = StringIO(), StringIO()
    assert main(argv, out=first) == 0
    assert main(argv, out=second) == 0
    (name,) = [job["metadata"]["name"] for job in kube.jobs.values()]
    assert name.startswith("gregory-demo-ms-research-") and "-nightly-20" in name
    assert first.getvalue().startswith(f"submitted {name} ")
    assert second.getvalue().startswith(f"already submitted {name} ")


def test_a_prediction_is_its_own_job_beside_the_training_of_the_same_scope(kube, kube_backend):
    train = kube_backend.submit(FLAGS, "0102-both").run
    flags = PredictFlags(team="demo", subject="ms-research", model_version="20260102")
    predict = kube_backend.submit(flags, "0102-both")
    assert not predict.already_existed  # same scope and run id, another command: another Job
    assert predict.run.name.startswith("gregory-predict-demo-ms-research-")
    assert predict.run.name != train.name
    assert predict.run.argv == (
        "predict_articles",
        "--team",
        "demo",
        "--subject",
        "ms-research",
        "--model-version",
        "20260102",
    )
    job = kube.jobs[("gregory", predict.run.name)]
    assert job["metadata"]["labels"]["app.kubernetes.io/component"] == "prediction"
    assert {run.name for run in kube_backend.list_runs()} == {train.name, predict.run.name}
    assert kube_backend.submit(flags, "0102-both").already_existed


def test_submit_command_predict_fans_out_prediction_jobs_through_the_cli(kube, kubeconfig, db):
    from launcher.cli import main

    make_scope("demo", "ms-research", "ms-imaging")
    out = StringIO()
    argv = ["submit", "--command", "predict", "--all-teams", "--run-id", "nightly-predict-{date}"]
    assert main(argv, out=out) == 0
    jobs = list(kube.jobs.values())
    assert sorted(job["metadata"]["annotations"]["gregory/subject"] for job in jobs) == [
        "ms-imaging",
        "ms-research",
    ]
    for job in jobs:
        assert job["metadata"]["name"].startswith("gregory-predict-demo-ms-")
        subject = job["metadata"]["annotations"]["gregory/subject"]
        args = job["spec"]["template"]["spec"]["containers"][0]["args"]
        assert args == ["predict_articles", "--team", "demo", "--subject", subject]
    assert out.getvalue().count("submitted gregory-predict-") == 2


def test_states_say_why_a_run_is_not_running_or_how_it_ended(kube, kube_backend):
    name = kube_backend.submit(FLAGS, "0102-truth").run.name

    def now() -> tuple[str, str]:
        run = kube_backend.status(name)
        listed = {r.name: r for r in kube_backend.list_runs()}[name]
        assert (listed.state, listed.detail) == (run.state, run.detail)
        return str(run.state), run.detail

    assert now() == ("pending", "ContainerCreating")
    kube.unschedulable(name, "0/3 nodes are available: 3 Insufficient nvidia.com/gpu.")
    assert now() == (
        "pending",
        "Unschedulable: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu.",
    )
    kube.set_waiting(name, "ImagePullBackOff")
    assert now() == ("pending", "ImagePullBackOff")
    kube.start_container(name)
    assert now() == ("running", "1 pod(s) active")
    kube.failure_target(name, "BackoffLimitExceeded")
    assert now() == ("failing", "BackoffLimitExceeded")
    kube.finish(
        name,
        succeeded=False,
        reason="BackoffLimitExceeded",
        message="Job has reached the specified backoff limit",
        exit_code=137,
        pod_reason="OOMKilled",
    )
    state, detail = now()
    assert state == "failed"
    assert detail == (
        "BackoffLimitExceeded: Job has reached the specified backoff limit; "
        "OOMKilled (exit 137): the container ran out of memory"
    )


def test_a_suspended_job_is_queued(kube, kube_backend):
    name = kube_backend.submit(FLAGS, "0102-held").run.name
    kube.suspend(name)
    run = kube_backend.status(name)
    assert (run.state, run.detail) == (RunState.QUEUED, "suspended: waits until the Job is resumed")
    assert not run.state.finished


def test_a_kueue_job_is_queued_until_admitted_through_the_cli(kube, kubeconfig, db, monkeypatch):
    from launcher.cli import main

    monkeypatch.setenv("GREGORY_JOB_QUEUE_NAME", "gregory-{team}")
    kube.add_local_queue("gregory-demo")
    make_scope("demo", "ms-research")
    assert main(["submit", "--team", "demo", "--algo", "lgbm_tfidf"], out=StringIO()) == 0
    ((key, job),) = kube.jobs.items()
    name = key[1]
    # Created suspended in the team's LocalQueue: Kueue, not the Job controller, starts it.
    assert job["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "gregory-demo"
    assert job["spec"]["suspend"] is True
    assert not kube.pods

    out = StringIO()
    assert main(["status"], out=out) == 0
    (line,) = [row for row in out.getvalue().splitlines() if name in row]
    assert "queued" in line.split()
    assert "Kueue queue gregory-demo: waits for quota to be admitted" in line

    kube.admit(name)
    out = StringIO()
    assert main(["status"], out=out) == 0
    (line,) = [row for row in out.getvalue().splitlines() if name in row]
    assert "pending" in line.split() and "ContainerCreating" in line
    kube.start_container(name)
    kube.finish(name, succeeded=True)
    out = StringIO()
    assert main(["status"], out=out) == 0
    assert "succeeded" in [row for row in out.getvalue().splitlines() if name in row][0].split()


def test_a_queue_name_that_cannot_be_a_label_is_one_line_and_submits_nothing(
    kube, kubeconfig, db, monkeypatch
):
    from launcher.cli import main

    make_scope("demo", "ms-research")
    monkeypatch.setenv("GREGORY_JOB_QUEUE_NAME", "gregory-{tema}")
    err = StringIO()
    assert main(["submit", "--team", "demo"], out=StringIO(), err=err) != 0
    (line,) = [row for row in err.getvalue().splitlines() if "QUEUE_NAME" in row]
    assert "may use only the {team} placeholder" in line
    # A valid template, but a team slug too long for a label value (63 characters).
    monkeypatch.setenv("GREGORY_JOB_QUEUE_NAME", "gregory-{team}")
    long_team = "t" * 60
    make_scope(long_team, "ms")
    err = StringIO()
    assert main(["submit", "--team", long_team], out=StringIO(), err=err) != 0
    assert "is not a DNS label" in err.getvalue()
    assert "Traceback" not in err.getvalue()
    assert not kube.jobs

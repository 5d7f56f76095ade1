"""The Kubernetes backend and the TUI when the network fails: the API emulator behind a real TCP
proxy that cuts a followed log mid-chunk or accepts connections and never answers."""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Iterator

import pytest
from kubernetes import client

from gregory.flags import TrainFlags
from launcher.app import LauncherApp
from launcher.backends.base import BackendError
from launcher.backends.kubernetes import ApiPolicy, KubernetesBackend
from launcher.errors import ConfigurationError
from launcher.kube.job_builder import JobSettings
from launcher.operations import Operations
from launcher.screens.log import LogScreen
from tests.launcher.faulty_proxy import FaultyProxy

FLAGS = TrainFlags(team="demo", subject="ms-research", algos=("lgbm_tfidf",))
QUICK = ApiPolicy(connect=1, read=0.5, retries=2, backoff=0.05)
CUT_LINE = "[launcher] log stream cut (connection broken); reopening"


class Reader:
    """Consumes a log stream in a thread; None marks its end, an exception is kept."""

    def __init__(self, stream) -> None:
        self.stream, self.items = stream, queue.Queue()
        self.error: BaseException | None = None
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        try:
            for line in self.stream:
                self.items.put(line)
        except BaseException as error:  # the test looks at it
            self.error = error
        self.items.put(None)

    def until(self, line: str, timeout: float = 10) -> list[str]:
        seen, deadline = [], time.monotonic() + timeout
        while True:
            item = self.items.get(timeout=max(deadline - time.monotonic(), 0.01))
            assert item is not None, (seen, self.error)
            seen.append(item)
            if item == line:
                return seen


def through(proxy: FaultyProxy, policy: ApiPolicy = QUICK) -> KubernetesBackend:
    configuration = client.Configuration(host=proxy.url)
    configuration.retries = False  # as make_backend sets it: the backend owns the retries
    settings = JobSettings(image="gregory-train:test")
    return KubernetesBackend(settings, client.ApiClient(configuration), policy=policy)


@pytest.fixture
def cutter(kube) -> Iterator[FaultyProxy]:
    proxy = FaultyProxy(kube.url, cut_at=b"CUT\n").start()
    yield proxy
    proxy.stop()


@pytest.fixture
def silent(kube) -> Iterator[FaultyProxy]:
    proxy = FaultyProxy(kube.url)
    proxy.stall = True
    proxy.start()
    yield proxy
    proxy.stop()


def test_a_log_cut_mid_chunk_reopens_once_and_shows_every_line_once(kube, kube_backend, cutter):
    name = kube_backend.submit(FLAGS, "0102-cut").run.name
    kube.start_container(name)
    reader = Reader(through(cutter).stream_logs(name))
    kube.log(name, "line 1")
    assert reader.until("line 1") == ["line 1"]
    kube.log(name, "line 2 CUT")  # the reset comes inside this chunk
    assert reader.until("line 2 CUT") == [CUT_LINE, "line 2 CUT"]
    kube.log(name, "line 3")
    assert reader.until("line 3") == ["line 3"]
    kube.finish(name, succeeded=True)
    assert reader.items.get(timeout=10) is None
    assert reader.error is None
    assert cutter.cut == 1


def test_a_log_that_breaks_every_time_ends_in_one_line(kube, kube_backend, cutter):
    cutter.cuts_left = 100
    name = kube_backend.submit(FLAGS, "0102-cuts").run.name
    kube.start_container(name)
    kube.log(name, "CUT")
    reader = Reader(through(cutter).stream_logs(name))
    while reader.items.get(timeout=20) is not None:
        pass
    assert isinstance(reader.error, BackendError)
    assert str(reader.error) == (
        f"the log stream of pod {kube.pod_of(name)} broke 3 times in a row "
        "(connection broken); gave up"
    )
    assert cutter.cut == 3  # the first opening and the policy's two retries, each cut


def test_a_silent_api_server_ends_each_call_in_one_line_after_bounded_retries(kube, silent):
    backend = through(silent)
    heard: list[str] = []
    backend.listener = heard.append
    started = time.monotonic()
    with pytest.raises(BackendError) as caught:
        backend.list_runs()
    took = time.monotonic() - started
    assert str(caught.value) == (
        f"cannot reach the Kubernetes API at {silent.url}: no answer within 0.5s (3 tries)"
    )
    assert heard == [
        "kubernetes: list job: no answer within 0.5s; retry 1 of 2 in 0.05s",
        "kubernetes: list job: no answer within 0.5s; retry 2 of 2 in 0.1s",
    ]
    assert silent.stalled == 3
    assert took < 5
    # Just found unreachable: the next call (a fan-out's next Job, the TUI's next refresh)
    # fails at once with the same line, trying nothing.
    heard.clear()
    started = time.monotonic()
    with pytest.raises(BackendError) as again:
        backend.submit(FLAGS, "0102-silent")
    assert str(again.value) == str(caught.value)
    assert (heard, silent.stalled) == ([], 3)
    assert time.monotonic() - started < 0.5


def test_a_create_whose_answer_was_lost_is_already_submitted_on_retry(kube):
    # The API server created the Job but its answer never came back: the retry's 409 means
    # "already submitted", never a second Job.
    proxy = FaultyProxy(kube.url).start()
    proxy.swallow[b"POST"] = 1
    try:
        heard: list[str] = []
        backend = through(proxy)
        backend.listener = heard.append
        submission = backend.submit(FLAGS, "0102-lost")
    finally:
        proxy.stop()
    assert submission.already_existed
    assert list(kube.jobs) == [("gregory", submission.run.name)]
    assert heard == ["kubernetes: create job: no answer within 0.5s; retry 1 of 2 in 0.05s"]


@pytest.mark.parametrize(
    ("env", "policy"),
    [
        ({}, (5.0, 20.0, 2)),
        ({"GREGORY_KUBE_TIMEOUT": "3"}, (3.0, 3.0, 2)),
        ({"GREGORY_KUBE_TIMEOUT": "60"}, (5.0, 60.0, 2)),
        ({"GREGORY_KUBE_TIMEOUT": "2,45", "GREGORY_KUBE_RETRIES": "0"}, (2.0, 45.0, 0)),
    ],
)
def test_the_policy_comes_from_the_environment(env, policy):
    got = ApiPolicy.from_env(env)
    assert (got.connect, got.read, got.retries) == policy


@pytest.mark.parametrize(
    "env",
    [
        {"GREGORY_KUBE_TIMEOUT": "soon"},
        {"GREGORY_KUBE_TIMEOUT": "0"},
        {"GREGORY_KUBE_TIMEOUT": "1,2,3"},
        {"GREGORY_KUBE_TIMEOUT": "nan"},
        {"GREGORY_KUBE_RETRIES": "-1"},
        {"GREGORY_KUBE_RETRIES": "11"},
    ],
)
def test_a_bad_policy_setting_is_one_line(env):
    with pytest.raises(ConfigurationError, match=r"^GREGORY_KUBE_(TIMEOUT|RETRIES)="):
        ApiPolicy.from_env(env)


@pytest.mark.asyncio
async def test_the_log_screen_reopens_a_cut_stream_and_the_app_goes_on(kube, kube_backend, cutter):
    name = kube_backend.submit(FLAGS, "0102-tui").run.name
    kube.start_container(name)
    app = LauncherApp(Operations(through(cutter), "test"), refresh_seconds=0)
    async with app.run_test(size=(100, 24)) as pilot:
        await app.push_screen(LogScreen(name))
        screen = app.screen
        loop = asyncio.get_running_loop()

        async def shown(line: str) -> None:
            deadline = loop.time() + 10
            while line not in screen.log_view.lines:
                assert loop.time() < deadline, screen.log_view.lines
                await pilot.pause(0.05)

        kube.log(name, "line 1")
        await shown("line 1")
        kube.log(name, "line 2 CUT")
        await shown("line 2 CUT")
        kube.log(name, "line 3")
        await shown("line 3")
        assert screen.log_view.lines == ["line 1", CUT_LINE, "line 2 CUT", "line 3"]
        assert screen.ended is None
        kube.finish(name, succeeded=True)
        deadline = loop.time() + 10
        while screen.ended is None:
            assert loop.time() < deadline
            await pilot.pause(0.05)
        assert screen.ended == "succeeded: Complete"  # the run's outcome, not "end of log"
        assert app.is_running


@pytest.mark.asyncio
async def test_a_silent_api_server_is_a_line_on_the_log_screen_and_notifications(
    kube, kube_backend, silent
):
    name = kube_backend.submit(FLAGS, "0102-tuis").run.name
    app = LauncherApp(Operations(through(silent), "test"), refresh_seconds=0)
    async with app.run_test(size=(100, 24)) as pilot:
        await app.push_screen(LogScreen(name))
        screen = app.screen
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.ended == (
            f"log failed: cannot reach the Kubernetes API at {silent.url}: "
            "no answer within 0.5s (3 tries)"
        )
        retries = [n.message for n in app._notifications if n.title == "backend"]
        assert retries == [
            "kubernetes: read job: no answer within 0.5s; retry 1 of 2 in 0.05s",
            "kubernetes: read job: no answer within 0.5s; retry 2 of 2 in 0.1s",
        ]
        assert app.is_running

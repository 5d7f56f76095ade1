"""Live progress: an unfinished line and `\\r` redraws are one updating line on both backends,
in the log screen and on a terminal; complete lines never carry a redraw."""

from __future__ import annotations

import asyncio
import queue
import sys
import threading
import time
from pathlib import Path

import pytest

from gregory.flags import TrainFlags
from launcher.app import LauncherApp
from launcher.backends.base import IDLE, LogStream, Partial, lines_of
from launcher.backends.local import LocalBackend
from launcher.operations import Operations
from launcher.screens.log import LogScreen

FLAGS = TrainFlags(team="demo", subject="ms-research", algos=("lgbm_tfidf",))
PROGRESS = (
    "import sys, time\n"
    "print('start', flush=True)\n"
    "for i in range(1, 4):\n"
    "    sys.stdout.write(f'\\repoch {i}/3'); sys.stdout.flush(); time.sleep(0.6)\n"
    "print(' done', flush=True)\n"
)


def test_lines_of_keeps_the_last_redraw_and_shows_the_unfinished_line_when_idle() -> None:
    chunks = [b"a\nepoch 1", IDLE, b"/3\repoch 2", b"/3", IDLE, IDLE, b"\ndone\nta", b"il"]
    assert list(lines_of(iter(chunks))) == [
        "a",
        "epoch 1",
        "epoch 2/3",
        "epoch 2/3",
        "done",
        "tail",
    ]
    kinds = [type(line) for line in lines_of(iter(chunks))]
    assert kinds == [str, Partial, Partial, str, str, str]


class Reader:
    """Consumes a stream in a thread, so a test can wait for each item with a timeout."""

    def __init__(self, stream: LogStream) -> None:
        self.stream, self.items = stream, queue.Queue()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        for line in self.stream:
            self.items.put(line)
        self.items.put(None)

    def until(self, line: str, timeout: float = 10) -> list[str]:
        seen, deadline = [], time.monotonic() + timeout
        while True:
            item = self.items.get(timeout=max(deadline - time.monotonic(), 0.01))
            assert item is not None, seen
            seen.append(item)
            if item == line and not isinstance(item, Partial):
                return seen


def test_the_local_backend_streams_the_line_being_written(tmp_path: Path) -> None:
    backend = LocalBackend(tmp_path, manage_argv=[sys.executable, "-c", PROGRESS])
    run = backend.submit(FLAGS, "live").run
    seen = Reader(backend.stream_logs(run.name)).until("epoch 3/3 done")
    assert [line for line in seen if not isinstance(line, Partial)] == ["start", "epoch 3/3 done"]
    assert [line for line in seen if isinstance(line, Partial)][:2] == ["epoch 1/3", "epoch 2/3"]
    # After the fact, the redraws are gone: one line, as the terminal showed it last.
    backend.wait(run.name, timeout=10)
    assert list(backend.stream_logs(run.name, follow=False)) == ["start", "epoch 3/3 done"]


def test_kubernetes_logs_come_from_the_train_container_with_redraws_in_place(
    kube, kube_backend
) -> None:
    name = kube_backend.submit(FLAGS, "0102-live").run.name
    kube.start_container(name)
    reader = Reader(kube_backend.stream_logs(name))
    kube.write(name, "start\nepoch 1/3")
    assert reader.until("start") == ["start"]
    assert reader.items.get(timeout=10) == Partial("epoch 1/3")
    kube.write(name, "\repoch 2/3")
    assert reader.items.get(timeout=10) == Partial("epoch 2/3")
    kube.write(name, "\repoch 3/3 done\n")
    assert reader.until("epoch 3/3 done") == ["epoch 3/3 done"]
    kube.finish(name, succeeded=True)
    assert reader.items.get(timeout=10) is None  # done before the emulator goes
    assert kube.log_queries[-1]["container"] == "train"


@pytest.mark.asyncio
async def test_the_log_screen_shows_the_line_being_written_below_the_log(
    transactional_db, tmp_path: Path
) -> None:
    backend = LocalBackend(tmp_path, manage_argv=[sys.executable, "-c", PROGRESS])
    run = backend.submit(FLAGS, "screen").run
    app = LauncherApp(Operations(backend, "test"), refresh_seconds=0)
    async with app.run_test(size=(100, 24)) as pilot:
        await app.push_screen(LogScreen(run.name))
        screen = app.screen
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while not screen.partial.startswith("epoch"):
            assert loop.time() < deadline
            await pilot.pause(0.05)
        assert screen.log_view.lines == ["start"]
        assert screen.query_one("#log-partial").display
        while "epoch 3/3 done" not in screen.log_view.lines:
            assert loop.time() < deadline
            await pilot.pause(0.05)
        assert screen.partial == ""
        assert not screen.query_one("#log-partial").display


def test_kubernetes_logs_resume_after_a_dropped_stream_and_follow_a_retry(kube, kube_backend):
    name = kube_backend.submit(FLAGS, "0102-resume").run.name
    kube.start_container(name)
    reader = Reader(kube_backend.stream_logs(name))
    kube.log(name, "line 1", "line 2")
    assert reader.until("line 2") == ["line 1", "line 2"]
    kube.drop_log_streams()  # the connection goes; the run goes on
    kube.log(name, "line 3")
    assert reader.until("line 3") == ["line 3"]  # nothing shown twice
    retry = kube.retry(name)
    kube.start_container(name)
    kube.log(name, "Started again")
    assert reader.until("Started again") == [
        f"[launcher] retry: following pod {retry}",
        "Started again",
    ]
    kube.finish(name, succeeded=True)
    assert reader.items.get(timeout=10) is None  # the stream ends with the run
    assert kube_backend.status(name).state.value == "succeeded"


def test_the_runs_table_shows_a_running_runs_progress(
    tmp_path: Path, kube, kube_backend, db
) -> None:
    backend = LocalBackend(tmp_path, manage_argv=[sys.executable, "-c", PROGRESS])
    run = backend.submit(FLAGS, "progress").run
    deadline = time.monotonic() + 10
    while not backend.progress(run.name).startswith("epoch"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    backend.wait(run.name, timeout=10)
    assert backend.progress(run.name) == "epoch 3/3 done"

    name = kube_backend.submit(FLAGS, "0102-progress").run.name
    assert kube_backend.progress(name) == ""  # no container yet
    kube.start_container(name)
    kube.write(
        name, "Started lstm for demo/ms-research\nlstm:  20%|##  | 2/10\rlstm:  30%|### | 3/10"
    )
    assert kube_backend.progress(name) == "lstm:  30%|### | 3/10"
    (view,) = [v for v in Operations(kube_backend).overview().runs if v.run.name == name]
    assert view.progress == "lstm:  30%|### | 3/10"

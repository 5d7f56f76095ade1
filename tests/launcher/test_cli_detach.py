"""Ctrl+C detaches `submit --follow` and `logs` at once: exit 130, the run goes on. Real
processes and a real SIGINT to the launcher's process group, as a terminal sends it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gregory.flags import TrainFlags
from launcher.backends.base import RunState
from launcher.backends.local import LocalBackend
from launcher.errors import DETACHED
from tests.support.launcher import import_demo, make_scope, sleeper_backend

LAUNCH = str(Path(sys.executable).parent / "gregory-launch")


@pytest.fixture
def env(job_env: dict[str, str], launcher_dir: Path) -> dict[str, str]:
    return {**job_env, "GREGORY_LAUNCHER_DIR": str(launcher_dir), "PYTHONUNBUFFERED": "1"}


def _sigint_default() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def interrupt_when(argv: list[str], env: dict[str, str], seen: str) -> tuple[int, str, float]:
    """Start the launcher, Ctrl+C its process group once stdout shows `seen`; its exit status,
    stderr and the seconds it took to exit after the signal."""
    process = subprocess.Popen(
        argv,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        # As a terminal's foreground job has it, even where this session was started in the
        # background (which starts with SIGINT ignored, and children inherit that).
        preexec_fn=_sigint_default,
    )
    assert process.stdout is not None
    try:
        out = b""
        while seen.encode() not in out:
            line = process.stdout.readline()
            assert line, f"{seen!r} never shown: {out.decode()!r}"
            out += line
        sent = time.monotonic()
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=20)
        took = time.monotonic() - sent
    finally:
        if process.poll() is None:
            process.kill()
    assert process.stderr is not None
    return process.returncode, process.stderr.read().decode(), took


def test_ctrl_c_detaches_logs_and_the_run_goes_on(env, launcher_dir: Path, transactional_db):
    make_scope("demo", "ms-research")
    backend = sleeper_backend(launcher_dir)
    name = backend.submit_batch([TrainFlags(team="demo")], "sleep").run.name
    try:
        argv = [LAUNCH, "--backend", "local", "logs", name]
        code, err, took = interrupt_when(argv, env, "tick 3")
        assert code == DETACHED
        assert f"the run goes on: gregory-launch logs {name}" in err.splitlines()
        assert "Traceback" not in err
        assert took < 5
        assert backend.status(name).state is RunState.RUNNING
    finally:
        backend.cancel(name)


def test_ctrl_c_detaches_submit_follow_and_the_run_finishes(
    env, launcher_dir: Path, tmp_path: Path
) -> None:
    import_demo(tmp_path)
    argv = [LAUNCH, "--backend", "local", "submit", "--team", "demo", "--algo", "lgbm_tfidf"]
    code, err, took = interrupt_when([*argv, "--run-id", "c1", "--follow"], env, "--- demo-all-c1")
    assert code == DETACHED
    assert "the run goes on: gregory-launch logs demo-all-c1" in err.splitlines()
    assert "Traceback" not in err
    assert took < 5
    # Ctrl+C reached the launcher only: the training goes on to its end.
    final = LocalBackend(launcher_dir).wait("demo-all-c1", timeout=240)
    assert final.state is RunState.SUCCEEDED, final.detail

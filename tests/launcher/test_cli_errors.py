"""No traceback reaches an operator from the CLI: one line that says what to do, the full text
behind `-v`."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import pytest

from launcher.backends.local import LocalBackend
from launcher.cli import main

LAUNCH = str(Path(sys.executable).parent / "gregory-launch")


@pytest.fixture
def env(job_env: dict[str, str], launcher_dir: Path) -> dict[str, str]:
    return {**job_env, "GREGORY_LAUNCHER_DIR": str(launcher_dir)}


def test_review_names_the_summariser_setting_when_it_cannot_load(
    env: dict[str, str], tmp_path: Path
) -> None:
    from tests.support.review import import_and_train

    import_and_train(tmp_path, 5)
    missing = tmp_path / "no-such-bart"
    env = {
        **env,
        "GREGORY_SUMMARISER": "bart",
        "GREGORY_SUMMARISER_MODEL": str(missing),
        "HF_HUB_OFFLINE": "1",
    }
    argv = [LAUNCH, "review", "--team", "demo", "--subject", "ms", "-o", "json"]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert (done.returncode, done.stdout) == (2, "")
    (line,) = [line for line in done.stderr.splitlines() if line.startswith("gregory-launch:")]
    assert line.startswith(
        f"gregory-launch: error: review: the summariser cannot be loaded from "
        f"GREGORY_SUMMARISER_MODEL={missing} ("
    )
    assert "Traceback" not in done.stderr
    # -v: the same line, then the traceback of what caused it.
    done = subprocess.run([*argv, "-v"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert line in done.stderr.splitlines()
    assert "Traceback (most recent call last):" in done.stderr
    assert "gregory/ml/data/summariser.py" in done.stderr

    # A hub id not in this machine's cache, nothing said about the hub: no download is tried
    # (nor ~30 s of retries); the same line at once.
    env = {**env, "GREGORY_SUMMARISER_MODEL": "nobody/no-such-bart"}
    del env["HF_HUB_OFFLINE"]
    started = time.monotonic()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    assert time.monotonic() - started < 20
    assert "GREGORY_SUMMARISER_MODEL=nobody/no-such-bart" in done.stderr
    assert "HF_HUB_OFFLINE=0 lets review download it" in done.stderr


def test_an_unforeseen_error_is_one_line_and_v_adds_the_traceback(
    transactional_db, launcher_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A fault nothing foresaw, injected where every command passes: listing the runs.
    def broken(self: LocalBackend) -> list:
        return json.loads("{")

    monkeypatch.setattr(LocalBackend, "list_runs", broken)
    out, err = StringIO(), StringIO()
    code = main(["--backend", "local", "status"], out=out, err=err)
    assert (code, out.getvalue()) == (1, "")
    backend, line = err.getvalue().splitlines()
    assert line.startswith("gregory-launch: error: JSONDecodeError: ")
    assert line.endswith("(gregory-launch -v … shows the traceback)")
    err = StringIO()
    assert main(["--backend", "local", "status", "-v"], out=StringIO(), err=err) == 1
    lines = err.getvalue().splitlines()
    assert lines[1].startswith("gregory-launch: error: JSONDecodeError: ")
    assert lines[2] == "Traceback (most recent call last):"

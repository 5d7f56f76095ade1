"""A real training Job on a kind cluster (`make kind-test`): submitted through the launcher CLI,
waited for, then the artifacts on the hostPath volume and the PredictionRunLog row checked."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from launcher.kube.job_builder import LABEL_TEAM
from tests.support.k8s import find
from tests.support.paths import REPO

pytestmark = pytest.mark.kind

CONTEXT = os.environ.get("GREGORY_KIND_CONTEXT", "")
MODELS = Path(os.environ.get("GREGORY_KIND_MODELS_DIR", REPO / "var/kind/models"))


def _cluster_ready(kubectl: Path) -> str | None:
    """None when a prepared kind cluster answers, else why the test cannot run."""
    if not CONTEXT:
        return "no kind cluster: run `make kind-test` (needs Docker and kind)"
    if shutil.which(os.environ.get("KIND", "kind")) is None:
        return "kind is not installed"
    probe = subprocess.run(
        [str(kubectl), "--context", CONTEXT, "-n", "gregory", "get", "pvc", "gregory-models"],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        return f"kind context {CONTEXT} not ready: {probe.stderr.strip()[:200]}"
    return None


def test_demo_team_trains_in_a_kind_job(kubectl: Path, render) -> None:
    reason = _cluster_ready(kubectl)
    if reason:
        pytest.skip(reason)
    launcher_env = find(render("overlays/kind"), "ConfigMap", "gregory-launcher")["data"]
    env = {
        **os.environ,
        **launcher_env,
        "DATABASE_URL": f"sqlite:///{MODELS}/kind.sqlite3",
        "GREGORY_BACKEND": "kubernetes",
    }
    subprocess.run([str(kubectl), "config", "use-context", CONTEXT], check=True)
    launch = [sys.executable, "-m", "launcher.cli", "submit", "--team", "demo"]
    done = subprocess.run(
        [*launch, "--subject", "ms-research", "--algo", "lgbm_tfidf", "--follow"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    # The CLI prints "submitted <job name> (demo/ms-research, …)".
    match = re.search(r"^submitted (\S+) \(demo/ms-research", done.stdout, re.MULTILINE)
    assert match, done.stdout
    job = match.group(1)
    labels = subprocess.run(
        [str(kubectl), "--context", CONTEXT, "-n", "gregory", "get", "job", job, "-o", "json"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert json.loads(labels)["metadata"]["labels"][LABEL_TEAM] == "demo"
    # The Job's name reached train_models as GREGORY_TRIGGERED_BY through the downward API.
    subprocess.run(
        [
            sys.executable,
            str(REPO / "images/smoke_check.py"),
            str(MODELS),
            "demo",
            "ms-research",
            "lgbm_tfidf",
            job,
        ],
        env=env,
        check=True,
        cwd=REPO,
    )

import datetime as dt

import pytest

from gregory.ml.store.publishing import VersionTakenError, reserve, version_candidates

DAY = dt.date(2026, 11, 21)


def test_candidates_count_up_from_the_bare_date():
    names = version_candidates(DAY)
    assert [next(names) for _ in range(3)] == ["20261121", "20261121_2", "20261121_3"]


def test_version_appears_only_when_published(tmp_path):
    first = reserve(tmp_path, day=DAY)
    assert first.version == "20261121"
    assert not first.final.exists() and first.staging.is_dir()
    (first.staging / "weights").write_text("w")
    # A run reserving while the first is still training gets the next name.
    second = reserve(tmp_path, day=DAY)
    assert second.version == "20261121_2"
    assert first.publish() == tmp_path / "20261121"
    assert (tmp_path / "20261121" / "weights").read_text() == "w"
    assert not first.staging.exists()
    second.discard()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["20261121"]
    assert reserve(tmp_path, day=DAY).version == "20261121_2"


def test_manual_version_is_never_reused(tmp_path):
    reserve(tmp_path, version="v1").publish()
    with pytest.raises(VersionTakenError, match="already exists"):
        reserve(tmp_path, version="v1")
    pending = reserve(tmp_path, version="v2")
    with pytest.raises(VersionTakenError, match="being written"):
        reserve(tmp_path, version="v2")
    pending.discard()


def test_staging_left_by_a_killed_run_is_swept(tmp_path):
    import json
    import os
    import socket
    import subprocess
    import time

    from gregory.ml.runs import liveness
    from gregory.ml.store import publishing

    exited = subprocess.Popen(["true"])
    exited.wait()
    now = time.time()
    owners = {
        "killed-here": {"host": socket.gethostname(), "pid": exited.pid, "started": now},
        "other-pod": {"host": "another-pod", "pid": 1, "started": now},
        # Another pod whose heartbeat stopped refreshing its owner file.
        "silent": {"host": "another-pod", "pid": 1, "started": now - 3600},
    }
    for name, owner in owners.items():
        staging = tmp_path / f"{publishing.STAGING_PREFIX}{name}"
        staging.mkdir()
        (staging / publishing.OWNER_FILE).write_text(json.dumps(owner))
    silent = now - liveness.LOST_AFTER_SECONDS - 60
    os.utime(tmp_path / f"{publishing.STAGING_PREFIX}silent" / publishing.OWNER_FILE, (silent,) * 2)
    live = reserve(tmp_path, day=DAY)  # sweeps first; its own owner is this live process
    removed = sorted(p.name for p in publishing.sweep_stale_staging(tmp_path))
    assert removed == []  # the reservation above already swept the dead ones
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == [live.staging.name, f"{publishing.STAGING_PREFIX}other-pod"]
    assert live.version == "20261121"
    assert not (live.publish() / publishing.OWNER_FILE).exists()


def test_a_signal_during_the_reservation_leaves_no_staging_behind(tmp_path, monkeypatch):
    import os
    import signal

    from gregory.ml.runs import signals
    from gregory.ml.store import publishing as store

    def reserve_then_stopped(*args, **kwargs):
        # SIGTERM lands in the middle of the held steps, as a Kubernetes stop can.
        reservation = reserve(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGTERM)
        return reservation

    monkeypatch.setattr(store, "reserve", reserve_then_stopped)
    body_ran = False
    with (
        signals.stop_on_signals(),
        pytest.raises(signals.Interrupted, match="SIGTERM"),
        store.publishing(tmp_path, "v1"),
    ):
        body_ran = True
    assert not body_ran
    assert list(tmp_path.iterdir()) == []

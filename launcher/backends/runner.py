"""Supervisor of one local run: `python -m launcher.backends.runner RUN_DIR -- ARGV...`.

It outlives the launcher that started it (its own session), sends the job's output to
RUN_DIR/log, forwards SIGTERM/SIGINT to the job and records the exit status in
RUN_DIR/result.json, so `gregory-launch status` can tell finished, failed and lost runs apart
long after the TUI has closed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path


def main(argv: list[str]) -> int:
    run_dir = Path(argv[0])
    command = argv[argv.index("--") + 1 :]
    child: subprocess.Popen[bytes] | None = None
    pending: list[int] = []

    def forward(signum: int, _frame: object) -> None:
        # The job handles SIGTERM itself (marks its running row failed), so pass it on.
        if child is None:
            pending.append(signum)
        else:
            child.send_signal(signum)

    # Handlers first: a cancel may come right after the launcher started us.
    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    with open(run_dir / "log", "ab", buffering=0) as log:
        child = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        # Tells the launcher that signals now reach the job (see LocalBackend.cancel).
        (run_dir / "child.pid").write_text(str(child.pid))
        for signum in pending:
            child.send_signal(signum)
        returncode = child.wait()
    result = {"returncode": returncode, "finished": datetime.now(UTC).isoformat()}
    partial = run_dir / "result.json.tmp"
    partial.write_text(json.dumps(result))
    os.replace(partial, run_dir / "result.json")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

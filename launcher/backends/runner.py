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
    with open(run_dir / "log", "ab", buffering=0) as log:
        child = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )

        def forward(signum: int, _frame: object) -> None:
            # The job handles SIGTERM itself (marks its running row failed), so pass it on.
            child.send_signal(signum)

        signal.signal(signal.SIGTERM, forward)
        signal.signal(signal.SIGINT, forward)
        returncode = child.wait()
    result = {"returncode": returncode, "finished": datetime.now(UTC).isoformat()}
    partial = run_dir / "result.json.tmp"
    partial.write_text(json.dumps(result))
    os.replace(partial, run_dir / "result.json")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

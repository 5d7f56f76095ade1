"""Supervisor of one local run: `python -m launcher.backends.runner RUN_DIR -- ARGV...`, where
more `-- ARGV...` may follow.

Several commands (one per ticked subject) run in turn, as one run: the machine trains one
thing at a time. A signal stops the chain; a failed command does not (like the job's own
subjects, the next one still runs), and the run's exit status is the first non-zero one.

It outlives the launcher that started it (its own session), sends the job's output to
RUN_DIR/log, forwards SIGTERM/SIGINT to the job and records the exit status in
RUN_DIR/result.json, so `gregory-launch status` can tell finished, failed and lost runs apart
long after the TUI has closed.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from gregory.atomic_write import write_atomic


def main(argv: list[str]) -> int:
    run_dir = Path(argv[0])
    commands = split_commands(argv[argv.index("--") + 1 :])
    child: subprocess.Popen[bytes] | None = None
    pending: list[int] = []
    delivered = 0

    def forward(signum: int, _frame: object) -> None:
        # The job handles SIGTERM itself (marks its running row failed), so pass it on.
        nonlocal delivered
        pending.append(signum)
        if child is not None and child.returncode is None:
            child.send_signal(signum)
            delivered = len(pending)

    # Handlers first: a cancel may come right after the launcher started us.
    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    returncode = 0
    with open(run_dir / "log", "ab", buffering=0) as log:
        for number, command in enumerate(commands, 1):
            if number > 1 and pending:
                break
            if len(commands) > 1:
                step = " ".join(
                    command[command.index("--team") - 1 :] if "--team" in command else command
                )
                log.write(f"[launcher] {number} of {len(commands)}: {step}\n".encode())
            child = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
            # Tells the launcher that signals now reach the job (see LocalBackend.cancel).
            (run_dir / "child.pid").write_text(str(child.pid))
            for signum in pending[delivered:]:  # arrived while the job was being started
                child.send_signal(signum)
            delivered = len(pending)
            code = child.wait()
            returncode = returncode or code
    result = {"returncode": returncode, "finished": datetime.now(UTC).isoformat()}
    write_atomic(run_dir / "result.json", json.dumps(result))
    return 0


def split_commands(argv: list[str]) -> list[list[str]]:
    commands: list[list[str]] = [[]]
    for arg in argv:
        if arg == "--":
            commands.append([])
        else:
            commands[-1].append(arg)
    return [command for command in commands if command]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""A throwaway PostgreSQL server for the test session: initdb + pg_ctl on a unix socket."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import time
from pathlib import Path


def _pg_bin(name: str) -> str:
    found = shutil.which(name) or sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))[-1:]
    if not found:
        raise RuntimeError(f"{name} not found: install PostgreSQL (apt-get install postgresql)")
    return found if isinstance(found, str) else found[0]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.socket_dir = root / "sock"
        self.port = _free_port()
        self.host = "127.0.0.1"
        self.as_root = os.geteuid() == 0
        self.user = "postgres" if self.as_root else pwd.getpwuid(os.geteuid()).pw_name

    def _run(self, *argv: str) -> None:
        cmd = list(argv)
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, text=True)

    def start(self) -> None:
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        if self.as_root:
            info = pwd.getpwnam("postgres")
            for path in (self.root, self.socket_dir):
                os.chown(path, info.pw_uid, info.pw_gid)
            self.root.chmod(0o755)
            # tmp_path parents are root-only; the postgres user must reach its data dir.
            for parent in self.root.parents:
                if parent == Path("/"):
                    break
                parent.chmod(parent.stat().st_mode | 0o711)
        self._run(
            _pg_bin("initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            self.user,
            "--no-sync",
            "-E",
            "UTF8",
        )
        self._pg_ctl_start()
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection((self.host, self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def _pg_ctl_start(self) -> None:
        options = (
            f"-k {self.socket_dir} -p {self.port} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        log = str(self.root / "server.log")
        self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-w", "-l", log, "start")

    def restart(self, down_seconds: float = 0.0) -> None:
        """Stop the server (closing every connection), stay down a while, start it again."""
        self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        time.sleep(down_seconds)
        self._pg_ctl_start()

    def stop(self) -> None:
        self._run(_pg_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

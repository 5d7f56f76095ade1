"""A TCP proxy in front of the API emulator that fails as networks and API servers do.

`cut_at`: a followed pod log is cut with a reset right after these bytes, in the middle of
the chunk that carries them (as a load balancer or a restarting API server cuts it), `cuts`
times. `stall`: connections are accepted and read, and never answered. `swallow`: the answers
to that many requests of a method are dropped (the API server did the work; the client never
hears of it). Real sockets, so the
official client meets the very errors it meets in production (ProtocolError, ReadTimeoutError).
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from urllib.parse import urlparse


class FaultyProxy:
    def __init__(self, upstream: str, *, cut_at: bytes | None = None, cuts: int = 1) -> None:
        parsed = urlparse(upstream)
        self.upstream = (parsed.hostname or "127.0.0.1", parsed.port or 80)
        self.cut_at = cut_at
        self.cuts_left = cuts
        self.cut = 0  # streams cut so far
        self.stall = False
        self.swallow: dict[bytes, int] = {}  # method: how many answers still to drop
        self.stalled = 0  # connections accepted and left unanswered
        self.lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.sockets: list[socket.socket] = []
        self.closed = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.listener.getsockname()[:2]
        return f"http://{host}:{port}"

    def start(self) -> FaultyProxy:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.closed.set()
        self.listener.close()
        for sock in list(self.sockets):
            _close(sock)

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            self.sockets.append(client)
            target = self._hold if self.stall else self._relay
            threading.Thread(target=target, args=(client,), daemon=True).start()

    def _hold(self, client: socket.socket) -> None:
        with self.lock:
            self.stalled += 1
        try:
            while client.recv(65536):  # read the requests, answer none
                pass
        except OSError:
            pass

    def _relay(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.upstream)
        except OSError:
            _close(client)
            return
        self.sockets.append(upstream)
        request = {"path": b"", "method": b""}

        def forward() -> None:  # client to API server; notes each request's path
            try:
                while data := client.recv(65536):
                    if data[:4] in (b"GET ", b"POST", b"PUT ", b"DELE", b"PATC"):
                        request["method"], request["path"] = data.split(b" ", 2)[:2]
                    upstream.sendall(data)
            except OSError:
                pass
            _close(upstream)

        threading.Thread(target=forward, daemon=True).start()
        try:
            while data := upstream.recv(65536):
                if self._swallowed(request["method"]):
                    while upstream.recv(65536):  # the answer goes nowhere
                        pass
                    return
                cut = self._cut_point(request["path"], data)
                if cut is not None:
                    client.sendall(data[:cut])
                    _reset(client)
                    _close(upstream)
                    return
                client.sendall(data)
        except OSError:
            pass
        _close(client)

    def _swallowed(self, method: bytes) -> bool:
        with self.lock:
            if self.swallow.get(method, 0) <= 0:
                return False
            self.swallow[method] -= 1
            return True

    def _cut_point(self, path: bytes, data: bytes) -> int | None:
        if self.cut_at is None or b"/log" not in path or b"follow=true" not in path:
            return None
        with self.lock:
            if self.cuts_left <= 0 or self.cut_at not in data:
                return None
            self.cuts_left -= 1
            self.cut += 1
        return data.index(self.cut_at) + len(self.cut_at)


def _reset(sock: socket.socket) -> None:
    """Close with a TCP reset (linger 0), not a clean end of stream. SHUT_RD first: it wakes the
    thread blocked reading this socket (sending nothing), so the close is the last one."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RD)
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    _close(sock)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.close()

"""SIGTERM and SIGINT as an exception, so the run they stop cleans up on the way out.

A Kubernetes deadline or cancel sends SIGTERM; an operator's Ctrl+C, SIGINT. Both become
`Interrupted` inside `stop_on_signals()`; `held_signals()` delays them over a few steps that must
not be cut in half (publishing's rename and the row's close).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator


class Interrupted(BaseException):
    """SIGTERM or SIGINT arrived; a BaseException, so no trainer's `except Exception` eats it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


# Signals that arrived inside `held_signals()`, delivered when it ends; None outside it.
_held: list[int] | None = None


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Turn SIGTERM/SIGINT into Interrupted for the duration of the block (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, _frame):
        if _held is not None:
            _held.append(signum)
            return
        raise Interrupted(signum)

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextlib.contextmanager
def held_signals() -> Iterator[None]:
    """Hold SIGTERM/SIGINT back for a few steps that must not be cut in half, then raise the
    first that came (as Interrupted) when the block ends."""
    global _held
    outer, _held = _held, [] if _held is None else _held
    try:
        yield
    finally:
        pending, _held = _held, outer
        # Even over an exception of the block: a stop request must not be lost.
        if outer is None and pending:
            raise Interrupted(pending[0])

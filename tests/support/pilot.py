"""Waiting in Pilot tests: for the app's workers, and for a condition on its state."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def settle(app, pilot) -> None:
    """Every worker done and the messages they posted handled."""
    await app.workers.wait_for_complete()
    await pilot.pause()


async def until(pilot, predicate: Callable[[], object], timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "condition not met in time"
        await pilot.pause(0.05)

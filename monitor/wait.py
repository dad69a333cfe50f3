"""Waiting on the first of several events, with a timeout: the sleep of every idle loop."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


async def wait_first(*waits: Coroutine[Any, Any, Any], within: float | None = None) -> None:
    """Return when the first of ``waits`` is done, or after ``within`` seconds."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, timeout=within, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

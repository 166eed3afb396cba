"""Background work started after a request is acknowledged."""

from __future__ import annotations

import asyncio
import logging
from typing import Awaitable

log = logging.getLogger(__name__)


class BackgroundTasks:
    """Keeps references to running tasks, logs their failures and drains them on shutdown."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Awaitable[None], name: str) -> asyncio.Task[None]:
        task = asyncio.ensure_future(self._guard(work, name))
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    @staticmethod
    async def _guard(work: Awaitable[None], name: str) -> None:
        try:
            await work
        except asyncio.CancelledError:
            log.warning("background task %s was cancelled", name)
            raise
        except Exception:
            log.exception("background task %s failed", name)

    async def drain(self, timeout: float) -> None:
        """Wait up to `timeout` seconds for running tasks, then cancel the rest."""
        if not self._tasks:
            return
        log.info("waiting for %d background tasks", len(self._tasks))
        done, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
            log.warning("cancelled %d background tasks at shutdown", len(pending))

    async def idle(self) -> None:
        """Wait until no background task is running (used by tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*set(self._tasks), return_exceptions=True)

"""Fake platform servers for the test suite.

Every fake listens on 127.0.0.1 with a port chosen by the OS, records each
request it receives, and lets a test wait for a matching request with a
deadline instead of sleeping.

This module contains the shared pieces: `CallLog`, which records calls and
waits for them, and `FakeHttpServer`, which starts and stops an aiohttp server. The platform fakes
live in `botframework`, `slack_api` and `mattermost_api`, and the request
builders in `signing`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from types import TracebackType
from typing import Generic, Self, TypeVar

from aiohttp import web

logger = logging.getLogger(__name__)

CallT = TypeVar("CallT")

DEFAULT_TIMEOUT = 5.0
LOCAL_HOST = "127.0.0.1"

_MAX_SUMMARY_CHARS = 300


def _summarize(call: object) -> str:
    text = repr(call)
    if len(text) > _MAX_SUMMARY_CHARS:
        return text[:_MAX_SUMMARY_CHARS] + "..."
    return text


class CallLog(Generic[CallT]):
    """Recorded requests of one fake server, in arrival order.

    `record` must run on the event loop that awaits `wait_for`. The aiohttp
    fakes satisfy this because their handlers run on the test's loop.
    """

    def __init__(self, server_name: str) -> None:
        self._server_name = server_name
        self._calls: list[CallT] = []
        self._changed = asyncio.Event()

    @property
    def calls(self) -> list[CallT]:
        """Copy of the recorded calls, oldest first."""
        return list(self._calls)

    def record(self, call: CallT) -> None:
        """Append a call and wake every pending `wait_for`."""
        self._calls.append(call)
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def clear(self) -> None:
        """Forget all recorded calls."""
        self._calls.clear()

    def matching(self, predicate: Callable[[CallT], bool]) -> list[CallT]:
        """Return the recorded calls for which `predicate` is true."""
        return [call for call in self._calls if predicate(call)]

    async def wait_for(
        self, predicate: Callable[[CallT], bool], timeout: float = DEFAULT_TIMEOUT
    ) -> CallT:
        """Return the first recorded call matching `predicate`, waiting up to `timeout` seconds.

        Calls recorded before this coroutine started count too. Raises
        AssertionError listing every received call when the deadline passes.
        """
        try:
            async with asyncio.timeout(timeout):
                return await self._wait_until_recorded(predicate)
        except TimeoutError:
            raise AssertionError(self._timeout_message(timeout)) from None

    async def _wait_until_recorded(self, predicate: Callable[[CallT], bool]) -> CallT:
        while True:
            # No await separates this scan from taking the event, so a call
            # recorded after the scan always sets the event being awaited.
            changed = self._changed
            for call in self._calls:
                if predicate(call):
                    return call
            await changed.wait()

    def _timeout_message(self, timeout: float) -> str:
        lines = [
            f"{self._server_name}: no matching request within {timeout} s; "
            f"received {len(self._calls)}:"
        ]
        lines.extend(f"  {_summarize(call)}" for call in self._calls)
        return "\n".join(lines)


class FakeHttpServer(Generic[CallT]):
    """aiohttp server on 127.0.0.1 with an OS-chosen port and a `CallLog`.

    Subclasses build their routes in `build_app`. Use as `async with` or call
    `start()` and `close()`.
    """

    def __init__(self) -> None:
        self.log: CallLog[CallT] = CallLog(type(self).__name__)
        self._runner: web.AppRunner | None = None
        self._root_url: str | None = None

    def build_app(self) -> web.Application:
        raise NotImplementedError

    @property
    def root_url(self) -> str:
        """Server address as `http://127.0.0.1:<port>`, without a trailing slash."""
        if self._root_url is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return self._root_url

    @property
    def url(self) -> str:
        """Server address as `http://127.0.0.1:<port>`, without a trailing slash."""
        return self.root_url

    @property
    def calls(self) -> list[CallT]:
        """Copy of the recorded calls, oldest first."""
        return self.log.calls

    async def wait_for(
        self, predicate: Callable[[CallT], bool], timeout: float = DEFAULT_TIMEOUT
    ) -> CallT:
        """Return the first recorded call matching `predicate`, as `CallLog.wait_for` does."""
        return await self.log.wait_for(predicate, timeout)

    async def start(self) -> Self:
        """Start listening and set `url`."""
        if self._runner is not None:
            raise RuntimeError(f"{type(self).__name__} is already started")
        runner = web.AppRunner(self.build_app(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, LOCAL_HOST, 0)
        await site.start()
        port = runner.addresses[0][1]
        self._runner = runner
        self._root_url = f"http://{LOCAL_HOST}:{port}"
        logger.debug("%s listening on %s", type(self).__name__, self._root_url)
        return self

    async def close(self) -> None:
        """Stop listening. Recorded calls stay readable."""
        if self._runner is None:
            return
        runner, self._runner = self._runner, None
        await runner.cleanup()
        logger.debug("%s stopped", type(self).__name__)

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

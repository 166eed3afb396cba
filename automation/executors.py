"""Executors run an approved action and return its result.

The local executor runs built-in handlers in-process; it is the embedded default
and needs no cloud credentials. Every result carries a unique run id, so a
double execution is visible in the audit log and on the card.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Awaitable, Callable, Protocol

from config import ActionSpec, ChatOpsConfig, ConfigError


@dataclass(frozen=True)
class ExecutionResult:
    succeeded: bool
    run_id: str
    summary: str
    duration_seconds: float


class Executor(Protocol):
    async def execute(self, action_name: str, action: ActionSpec, parameters: dict[str, str]) -> ExecutionResult: ...


Handler = Callable[[ActionSpec, dict[str, str]], Awaitable[str]]


async def _demo_deploy(action: ActionSpec, parameters: dict[str, str]) -> str:
    await asyncio.sleep(action.executor.duration_seconds)
    return f"deployed {action.target} version {parameters.get('version', '?')}"


async def _demo_status(action: ActionSpec, parameters: dict[str, str]) -> str:
    await asyncio.sleep(action.executor.duration_seconds)
    return f"{action.target} is healthy"


LOCAL_HANDLERS: dict[str, Handler] = {
    "demo-deploy": _demo_deploy,
    "demo-status": _demo_status,
}


class LocalExecutor:
    """Runs built-in handlers in the bot's own process."""

    def __init__(self, handlers: dict[str, Handler] | None = None) -> None:
        self.handlers = dict(LOCAL_HANDLERS if handlers is None else handlers)

    def check(self, config: ChatOpsConfig) -> None:
        """Raise ConfigError when an action names a handler that does not exist."""
        for name, action in config.actions.items():
            if action.executor.type == "local" and action.executor.handler not in self.handlers:
                known = ", ".join(sorted(self.handlers))
                raise ConfigError(
                    f"actions.{name}.executor.handler: unknown local handler '{action.executor.handler}'. "
                    f"Use one of: {known}."
                )

    async def execute(self, action_name: str, action: ActionSpec, parameters: dict[str, str]) -> ExecutionResult:
        run_id = uuid.uuid4().hex
        started = time.monotonic()
        handler = self.handlers[action.executor.handler]
        try:
            summary = await handler(action, parameters)
        except Exception as error:  # a handler failure is a failed run, reported on the card
            return ExecutionResult(False, run_id, f"{type(error).__name__}: {error}", time.monotonic() - started)
        return ExecutionResult(True, run_id, summary, time.monotonic() - started)

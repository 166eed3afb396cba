"""The running app's parts that every adapter uses: the bot, the store and background tasks."""

from __future__ import annotations

from dataclasses import dataclass

from dialogs.router import ChatOpsBot
from dialogs.tasks import BackgroundTasks
from store import SQLiteStore


class SettingsError(Exception):
    """Platform settings from the environment that cannot be used; the message names the variable."""


@dataclass
class AdapterRuntime:
    bot: ChatOpsBot
    store: SQLiteStore
    tasks: BackgroundTasks

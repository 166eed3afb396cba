"""The running app's parts that every adapter uses: the bot, the store and background tasks."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.turn import CardAction, Outbound, Reply
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

    async def handle_action_by_api(self, action: CardAction, outbound: Outbound) -> None:
        """Handle a click whose acknowledgement carried no card: update, notify and follow up through the API."""
        outcome = await self.bot.handle_action(action)
        if outcome.card is not None and action.message is not None:
            await outbound.update(action.message, Reply(text=outcome.card["fallbackText"], card=outcome.card))
        if outcome.notice is not None:
            await outbound.post(action.address, outcome.notice, recipient=action.sender)
        if outcome.followup is not None:
            await outcome.followup()

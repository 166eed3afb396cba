"""Neutral types shared by every adapter and the dialogs.

An adapter turns a verified platform request into a `Turn` (a command typed by a
person) or a `CardAction` (a click on a card), and sends a `Reply` back through
the `Outbound` interface of its platform.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Protocol


class Platform(enum.StrEnum):
    TEAMS = "teams"
    SLACK = "slack"
    MATTERMOST = "mattermost"


@dataclass(frozen=True)
class Sender:
    """The platform account behind a request, before it is mapped to a person."""

    platform: Platform
    user_id: str
    user_name: str = ""


@dataclass(frozen=True)
class Address:
    """The destination of a reply: a channel or conversation, with the platform's routing data.

    For Teams, `routing` holds the conversation reference as Activity JSON; for Slack
    and Mattermost it is empty or holds the thread to reply in.
    """

    platform: Platform
    channel_id: str
    routing: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MessageRef:
    """A message the bot posted, so that it can be updated in place later."""

    address: Address
    message_id: str

    def to_json(self) -> dict[str, Any]:
        return {
            "platform": self.address.platform.value,
            "channel_id": self.address.channel_id,
            "routing": self.address.routing,
            "message_id": self.message_id,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MessageRef:
        address = Address(
            platform=Platform(data["platform"]),
            channel_id=data["channel_id"],
            routing=data.get("routing") or {},
        )
        return cls(address=address, message_id=data["message_id"])


@dataclass(frozen=True)
class Turn:
    """A command typed by a person, with the bot mention already removed."""

    sender: Sender
    address: Address
    text: str
    request_id: str


@dataclass(frozen=True)
class CardAction:
    """A click on a card button: the same shape on every platform."""

    sender: Sender
    address: Address
    verb: str
    data: dict[str, Any]
    message: MessageRef | None
    request_id: str


@dataclass(frozen=True)
class Reply:
    """A message from the bot: an Adaptive Card, a plain-text fallback, or both.

    `private` requests a message visible only to the sender where the platform has one
    (Slack and Mattermost ephemeral messages); Teams shows it in the conversation.
    """

    text: str
    card: dict[str, Any] | None = None
    private: bool = False


class Outbound(Protocol):
    """Sending and updating messages on one platform."""

    platform: Platform

    async def post(self, address: Address, reply: Reply, *, recipient: Sender | None = None) -> MessageRef | None:
        """Post a reply; return its reference, or None for a private message."""
        ...

    async def update(self, ref: MessageRef, reply: Reply) -> None:
        """Replace a posted message in place."""
        ...

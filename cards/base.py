"""Small builders shared by every Adaptive Card the bot produces."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

SCHEMA_URL = "http://adaptivecards.io/schemas/adaptive-card.json"
VERSION = "1.5"


def adaptive_card(
    body: list[dict[str, Any]],
    *,
    actions: list[dict[str, Any]] | None = None,
    fallback_text: str,
) -> dict[str, Any]:
    card: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": SCHEMA_URL,
        "version": VERSION,
        "fallbackText": fallback_text,
        "body": body,
        # Teams draws bot cards narrow unless asked for the full width.
        "msteams": {"width": "Full"},
    }
    if actions:
        card["actions"] = actions
    return card


def text_block(
    text: str,
    *,
    size: str | None = None,
    weight: str | None = None,
    subtle: bool = False,
    spacing: str | None = None,
    color: str | None = None,
) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "TextBlock", "text": text, "wrap": True}
    if size:
        block["size"] = size
    if weight:
        block["weight"] = weight
    if subtle:
        block["isSubtle"] = True
    if spacing:
        block["spacing"] = spacing
    if color:
        block["color"] = color
    return block


def fact_set(facts: list[tuple[str, str]]) -> dict[str, Any]:
    return {"type": "FactSet", "facts": [{"title": title, "value": value} for title, value in facts]}


def format_time(moment: datetime | None) -> str:
    """Format a time as HH:MM UTC, the form every card uses."""
    if moment is None:
        return "an unknown time"
    return moment.astimezone(timezone.utc).strftime("%H:%M UTC")


def format_duration(seconds: float) -> str:
    """Format a duration as "1.8 s", "3 min" or "2 h 5 min"."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"

"""Cards for the conversational replies: help, whoami, approvals, results and notices."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cards.base import adaptive_card, fact_set, format_duration, format_time, text_block

COMMANDS = [
    ("help", "list the commands and the actions you may run here"),
    ("whoami", "show your platform account, the person it maps to and their roles"),
    ("run <action> key=value --ticket REF", "request an action from the catalog; add --confirm TARGET for a destructive one"),
    ("approvals", "list the requests waiting for approval"),
    ("approve <id>", "approve a pending request"),
    ("reject <id> <reason>", "reject a pending request, with the reason"),
]


@dataclass(frozen=True)
class ActionLine:
    name: str
    description: str
    owner: str
    needs_approval: bool


@dataclass(frozen=True)
class PendingLine:
    approval_id: str
    action: str
    requester: str
    parameters: dict[str, str]
    ticket: str | None
    expires_at: datetime


def notice_card(text: str, *, title: str | None = None) -> dict:
    """Build a one-message card: a refusal, a hint or an error with its reference id."""
    body = [text_block(title, weight="bolder")] if title else []
    body.append(text_block(text))
    return adaptive_card(body, fallback_text=text)


def help_card(bot_name: str, actions: list[ActionLine]) -> dict:
    body = [text_block(f"{bot_name} commands", size="large", weight="bolder")]
    body.append(fact_set(list(COMMANDS)))

    body.append(text_block("Actions you may run here", weight="bolder"))
    if actions:
        lines = []
        for line in actions:
            kind = "needs approval" if line.needs_approval else "read-only"
            lines.append((line.name, f"{line.description} ({kind}, owner {line.owner})"))
        body.append(fact_set(lines))
    else:
        body.append(text_block("None: your roles allow no action in this channel.", subtle=True))
    return adaptive_card(body, fallback_text=f"{bot_name} commands")


def whoami_card(platform: str, user_id: str, user_name: str, person: str | None, roles: list[str]) -> dict:
    facts = [
        ("Platform", platform),
        ("Account", f"{user_id} ({user_name})" if user_name else user_id),
        ("Person", person or "not mapped: ask an administrator to add your account under people"),
        ("Roles", ", ".join(roles) if roles else "none"),
    ]
    body = [text_block("Who you are to the bot", size="large", weight="bolder"), fact_set(facts)]
    return adaptive_card(body, fallback_text=f"{platform} account {user_id}")


def approvals_card(pending: list[PendingLine]) -> dict:
    body = [text_block("Pending approvals", size="large", weight="bolder")]
    if not pending:
        body.append(text_block("None: nothing is waiting for approval."))
        return adaptive_card(body, fallback_text="No pending approvals")

    lines = []
    for item in pending:
        parameters = ", ".join(f"{key} = {value}" for key, value in sorted(item.parameters.items())) or "no parameters"
        ticket = item.ticket or "no ticket"
        lines.append(
            (
                item.approval_id,
                f"{item.action} · {parameters} · {ticket} · by {item.requester} · expires {format_time(item.expires_at)}",
            )
        )
    body.append(fact_set(lines))
    body.append(text_block("Approve or reject on the request's card, or type approve <id>.", subtle=True))
    return adaptive_card(body, fallback_text=f"{len(pending)} pending approvals")


def result_card(action: str, requester: str, succeeded: bool, run_id: str, summary: str, duration: float) -> dict:
    state = "Succeeded" if succeeded else "Failed"
    facts = [
        ("Requested by", requester),
        ("Result", f"{summary} · {format_duration(duration)}"),
        ("Run", run_id),
    ]
    body = [
        {
            "type": "Container",
            "style": "good" if succeeded else "attention",
            "items": [text_block(f"{state} · {action}", size="large", weight="bolder")],
        },
        fact_set(facts),
    ]
    return adaptive_card(body, fallback_text=f"{state}: {action}")

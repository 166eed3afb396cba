"""The approval card, in each of its states, as Adaptive Card 1.5.

The pending card carries Approve and Reject as Action.Execute (Teams Universal
Actions) with an Action.Submit fallback for older Teams clients. A decided card
has no buttons left.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from cards.base import adaptive_card, fact_set, format_duration, format_time, text_block


class CardVerb(enum.StrEnum):
    """Verbs of the approval card's buttons."""

    APPROVE = "approve"
    REJECT = "reject"


@dataclass(frozen=True)
class ApprovalView:
    """Everything the approval card shows."""

    approval_id: str
    action: str
    state: str
    requester: str
    target: str
    environment: str
    parameters: dict[str, str]
    ticket: str | None
    ticket_url: str | None
    needed_roles: list[str]
    needed_count: int
    expires_at: datetime
    created_at: datetime
    destructive: bool = False
    approvers: list[str] = field(default_factory=list)
    decided_by: str | None = None
    decided_at: datetime | None = None
    reason: str | None = None
    succeeded: bool | None = None
    run_id: str | None = None
    summary: str | None = None
    duration_seconds: float | None = None


STATE_TITLES = {
    "pending": "Approval needed",
    "running": "Approved",
    "succeeded": "Approved",
    "failed": "Failed",
    "rejected": "Rejected",
    "expired": "Expired",
}

STATE_STYLES = {
    "pending": "emphasis",
    "running": "accent",
    "succeeded": "good",
    "failed": "attention",
    "rejected": "warning",
    "expired": "warning",
}


def _parameters_text(parameters: dict[str, str]) -> str:
    if not parameters:
        return "none"
    return ", ".join(f"{name} = {value}" for name, value in sorted(parameters.items()))


def _ticket_text(view: ApprovalView) -> str:
    return view.ticket or "none"


def _ticket_link(view: ApprovalView) -> list[dict]:
    """Build the ticket link as a TextBlock, because renderers show fact values as plain text."""
    if view.ticket is None or not view.ticket_url:
        return []
    return [text_block(f"[Open {view.ticket}]({view.ticket_url})", subtle=True)]


def _header(view: ApprovalView) -> dict:
    title = f"{STATE_TITLES.get(view.state, view.state.title())} · {view.action}"
    kind = "destructive" if view.destructive else "mutating"
    style = "attention" if view.destructive and view.state == "pending" else STATE_STYLES.get(view.state, "default")
    return {
        "type": "Container",
        "style": style,
        "items": [
            text_block(title, size="large", weight="bolder"),
            text_block(kind, subtle=True, spacing="none"),
        ],
    }


def _pending_facts(view: ApprovalView, now: datetime) -> list[tuple[str, str]]:
    plural = "approval" if view.needed_count == 1 else "approvals"
    needs = f"{view.needed_count} {plural} from: {', '.join(view.needed_roles)}"
    if view.approvers:
        needs += f" (approved so far by {', '.join(view.approvers)})"
    minutes = max(0, int((view.expires_at - now).total_seconds() // 60))
    return [
        ("Requested by", view.requester),
        ("Environment", view.environment or "not set"),
        ("Target", view.target),
        ("Parameters", _parameters_text(view.parameters)),
        ("Ticket", _ticket_text(view)),
        ("Needs", needs),
        ("Expires", f"in {minutes} min, at {format_time(view.expires_at)}"),
    ]


def _decided_facts(view: ApprovalView) -> list[tuple[str, str]]:
    facts = [("Requested by", view.requester)]
    if view.state in ("running", "succeeded", "failed") and view.decided_by:
        approvers = ", ".join(view.approvers) if view.approvers else view.decided_by
        facts.append(("Approved by", f"{approvers} at {format_time(view.decided_at)}"))
    elif view.state == "rejected" and view.decided_by:
        facts.append(("Rejected by", f"{view.decided_by} at {format_time(view.decided_at)}"))
    elif view.state == "expired":
        facts.append(("Expired", f"at {format_time(view.expires_at)}, nobody approved it"))
    if view.reason:
        facts.append(("Reason", view.reason))

    facts.append(("Parameters", _parameters_text(view.parameters)))
    facts.append(("Ticket", _ticket_text(view)))
    facts.append(("Result", _result_text(view)))
    return facts


def _result_text(view: ApprovalView) -> str:
    if view.state == "running":
        return "running…"
    if view.state in ("rejected", "expired"):
        return "not run"
    duration = format_duration(view.duration_seconds or 0.0)
    run = f"run {view.run_id}" if view.run_id else "no run id"
    if view.succeeded:
        return f"succeeded in {duration} · {run} · {view.summary}"
    return f"failed after {duration} · {run} · {view.summary}. The bot's log has the details."


def _actions(view: ApprovalView) -> list[dict]:
    data = {"approval_id": view.approval_id}
    actions = []
    for verb, title, style in (
        (CardVerb.APPROVE, "Approve", "positive"),
        (CardVerb.REJECT, "Reject", "destructive"),
    ):
        actions.append(
            {
                "type": "Action.Execute",
                "title": title,
                "verb": verb.value,
                "data": data,
                "style": style,
                # Approve ignores the reason box; Reject sends it.
                "associatedInputs": "auto" if verb is CardVerb.REJECT else "none",
                # Teams clients without Universal Actions fall back to Action.Submit,
                # which arrives as a message activity whose value carries the verb.
                "fallback": {"type": "Action.Submit", "title": title, "data": {"verb": verb.value, **data}},
            }
        )
    return actions


def approval_card(view: ApprovalView, now: datetime) -> dict:
    """Build the approval card for the state in `view`."""
    if view.state == "pending":
        body = [_header(view), fact_set(_pending_facts(view, now)), *_ticket_link(view)]
        body.append(
            {
                "type": "Input.Text",
                "id": "reason",
                "label": "Reason (for Reject)",
                "placeholder": "Why is this rejected?",
                "maxLength": 500,
                # Where a platform has no text input in messages, this line shows instead.
                "fallback": text_block(f"To reject with a reason, type: reject {view.approval_id} <reason>", subtle=True),
            }
        )
        fallback = f"Approval needed: {view.action} requested by {view.requester}"
        return adaptive_card(body, actions=_actions(view), fallback_text=fallback)

    body = [_header(view), fact_set(_decided_facts(view)), *_ticket_link(view)]
    fallback = f"{STATE_TITLES.get(view.state, view.state)}: {view.action} requested by {view.requester}"
    return adaptive_card(body, fallback_text=fallback)

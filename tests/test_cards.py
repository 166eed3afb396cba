"""Every card a dialog can produce is valid Adaptive Card 1.5 and renders within each platform's limits."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from cards.approval import ApprovalView, approval_card
from cards.render_mattermost import render_attachment
from cards.render_slack import render_blocks
from cards.replies import ActionLine, PendingLine, approvals_card, help_card, notice_card, result_card, whoami_card
from tests.cardcheck import assert_valid_card

NOW = datetime(2026, 12, 4, 10, 12, tzinfo=timezone.utc)


def view(state: str, **overrides) -> ApprovalView:
    fields = dict(
        approval_id="3f9c2a1b7d4e",
        action="deploy-demo",
        state=state,
        requester="demo-requester",
        target="demo-service",
        environment="prod",
        parameters={"version": "1.2.3"},
        ticket="CHG-101",
        ticket_url="https://tickets.example.com/browse/CHG-101",
        needed_roles=["approver"],
        needed_count=1,
        expires_at=NOW + timedelta(minutes=30),
        created_at=NOW,
    )
    decided = dict(decided_by="demo-approver", decided_at=NOW + timedelta(minutes=2))
    results = {
        "running": decided,
        "succeeded": {**decided, "succeeded": True, "run_id": "7f3c" * 8, "summary": "deployed", "duration_seconds": 1.8},
        "failed": {**decided, "succeeded": False, "run_id": "7f3c" * 8, "summary": "TimeoutError: no answer", "duration_seconds": 60.0},
        "rejected": {**decided, "reason": "release freeze"},
    }
    fields.update(results.get(state, {}))
    fields.update(overrides)
    return ApprovalView(**fields)


APPROVAL_STATES = ["pending", "running", "succeeded", "failed", "rejected", "expired"]

DIALOG_CARDS = {
    **{f"approval-{state}": approval_card(view(state), NOW) for state in APPROVAL_STATES},
    "approval-destructive": approval_card(view("pending", destructive=True), NOW),
    "approval-two-approvers": approval_card(view("pending", needed_count=2, approvers=["demo-approver"]), NOW),
    "approval-without-ticket": approval_card(view("pending", ticket=None, ticket_url=None, parameters={}), NOW),
    "help": help_card("chatops", [ActionLine("deploy-demo", "Deploy the demo.", "platform-team", True)]),
    "help-without-actions": help_card("chatops", []),
    "whoami": whoami_card("slack", "U0DEMOREQ", "demo", "demo-requester", ["requester"]),
    "whoami-unmapped": whoami_card("teams", "29:abc", "", None, []),
    "approvals": approvals_card([PendingLine("3f9c2a1b7d4e", "deploy-demo", "demo-requester", {"version": "1.2.3"}, "CHG-101", NOW)]),
    "approvals-empty": approvals_card([]),
    "result-succeeded": result_card("status-demo", "demo-requester", True, "a" * 32, "healthy", 0.2),
    "result-failed": result_card("status-demo", "demo-requester", False, "a" * 32, "RuntimeError: down", 0.2),
    "notice": notice_card("Refused: deploy-demo needs a ticket: add --ticket CHG-123."),
}


@pytest.mark.parametrize("name", sorted(DIALOG_CARDS))
def test_dialog_card_valid(name: str) -> None:
    assert_valid_card(DIALOG_CARDS[name])


def test_pending_card_has_approve_and_reject() -> None:
    card = DIALOG_CARDS["approval-pending"]
    actions = {action["verb"]: action for action in card["actions"]}

    assert set(actions) == {"approve", "reject"}
    assert actions["approve"]["type"] == "Action.Execute"
    assert actions["approve"]["fallback"]["type"] == "Action.Submit"
    assert actions["approve"]["fallback"]["data"] == {"verb": "approve", "approval_id": "3f9c2a1b7d4e"}
    assert actions["reject"]["style"] == "destructive"


@pytest.mark.parametrize("state", APPROVAL_STATES[1:])
def test_decided_card_has_no_buttons(state: str) -> None:
    card = DIALOG_CARDS[f"approval-{state}"]

    assert "actions" not in card
    assert render_blocks(card).blocks[-1]["type"] != "actions"


def test_destructive_card_is_red_on_mattermost() -> None:
    attachment = render_attachment(DIALOG_CARDS["approval-destructive"], None).attachments[0]

    assert attachment["color"] == "#D24B4E"


def test_reason_input_falls_back_on_slack() -> None:
    blocks = render_blocks(DIALOG_CARDS["approval-pending"]).blocks
    texts = str(blocks)

    assert "reject 3f9c2a1b7d4e <reason>" in texts.replace("&lt;", "<").replace("&gt;", ">")
    assert "not available" not in texts


def test_ticket_link_is_clickable_on_slack() -> None:
    blocks = render_blocks(DIALOG_CARDS["approval-pending"]).blocks

    assert "<https://tickets.example.com/browse/CHG-101|Open CHG-101>" in str(blocks)


def test_hostile_parameter_escaped_everywhere() -> None:
    card = approval_card(view("pending", parameters={"version": "<!here> @channel <@U1>"}), NOW)

    slack = str(render_blocks(card).blocks)
    mattermost = str(render_attachment(card, None).attachments)
    assert "<!here>" not in slack
    assert "<@U1>" not in slack
    assert "@channel" not in mattermost

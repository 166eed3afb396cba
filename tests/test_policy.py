"""The deny-by-default decision function."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from config import load_config
from policies import ActionRequest, Directory, Outcome, decide_approval, decide_request
from policies.decision import ApprovalVerb
from store import Approval, ApprovalState
from tests.harness import CONFIG_PATH

NOW = datetime(2026, 12, 4, 10, 0, tzinfo=timezone.utc)
CONFIG = load_config(CONFIG_PATH)
DIRECTORY = Directory(CONFIG)
REQUESTER = DIRECTORY.lookup("slack", "U0DEMOREQ")
APPROVER = DIRECTORY.lookup("slack", "U0DEMOAPP")


def request(**overrides) -> ActionRequest:
    fields = {"action": "deploy-demo", "parameters": {"version": "1.2.3"}, "ticket": "CHG-101"}
    fields.update(overrides)
    return ActionRequest(**fields)


def decide(principal, action_request: ActionRequest):
    return decide_request(CONFIG, principal, action_request, platform="slack", user_id="U1", channel=None)


def pending(**overrides) -> Approval:
    fields = dict(
        id="a1",
        action="deploy-demo",
        parameters={"version": "1.2.3"},
        ticket="CHG-101",
        requester="demo-requester",
        platform="slack",
        channel_id="C0DEMO",
        created_at=NOW,
        expires_at=NOW + timedelta(minutes=30),
    )
    fields.update(overrides)
    return Approval(**fields)


def test_directory_maps_each_platform() -> None:
    assert DIRECTORY.lookup("teams", "00000000-0000-0000-0000-0000000000a1").name == "demo-requester"
    assert DIRECTORY.lookup("mattermost", "demoapprover0000000000000a").name == "demo-approver"
    assert DIRECTORY.lookup("slack", "UNKNOWN") is None


def test_mutating_action_needs_approval() -> None:
    decision = decide(REQUESTER, request())

    assert decision.outcome is Outcome.NEEDS_APPROVAL
    assert "1 approval from: approver" in decision.reason


def test_read_only_action_allowed() -> None:
    decision = decide(REQUESTER, request(action="status-demo", parameters={}, ticket=None))

    assert decision.outcome is Outcome.ALLOW


@pytest.mark.parametrize(
    ("principal", "action_request", "expected"),
    [
        (None, request(), "not mapped to a person"),
        (REQUESTER, request(action="deploy-dmeo"), "Did you mean deploy-demo?"),
        (REQUESTER, request(ticket=None), "deploy-demo needs a ticket: add --ticket CHG-123."),
        (REQUESTER, request(ticket="not a ticket"), "ticket reference is invalid"),
        (REQUESTER, request(parameters={}), "needs version"),
        (REQUESTER, request(parameters={"version": "latest"}), "value of version is invalid"),
        (REQUESTER, request(parameters={"version": "1.2.3", "force": "yes"}), "has no parameter force"),
    ],
    ids=["unknown-person", "unknown-action", "missing-ticket", "invalid-ticket", "missing-parameter",
         "invalid-parameter", "unknown-parameter"],
)
def test_request_denied_with_reason(principal, action_request: ActionRequest, expected: str) -> None:
    decision = decide(principal, action_request)

    assert decision.outcome is Outcome.DENY
    assert expected in decision.reason


def test_parameter_value_not_echoed() -> None:
    decision = decide(REQUESTER, request(parameters={"version": "<!here> 1"}))

    assert decision.outcome is Outcome.DENY
    assert "<!here>" not in decision.reason


def test_missing_role_denied() -> None:
    restricted = CONFIG.model_copy(deep=True)
    object.__setattr__(restricted.actions["deploy-demo"], "allowed_roles", ["approver"])

    decision = decide_request(restricted, REQUESTER, request(), platform="slack", user_id="U1", channel=None)

    assert decision.outcome is Outcome.DENY
    assert "needs the role approver" in decision.reason


def test_destructive_action_needs_confirmation() -> None:
    destructive = CONFIG.model_copy(deep=True)
    object.__setattr__(destructive.actions["deploy-demo"], "destructive", True)

    refused = decide_request(destructive, REQUESTER, request(), platform="slack", user_id="U1", channel=None)
    confirmed = decide_request(
        destructive, REQUESTER, request(confirm="demo-service"), platform="slack", user_id="U1", channel=None
    )

    assert refused.outcome is Outcome.DENY
    assert "--confirm demo-service" in refused.reason
    assert confirmed.outcome is Outcome.NEEDS_APPROVAL


def approve(principal, approval: Approval, verb: ApprovalVerb = ApprovalVerb.APPROVE, now: datetime = NOW):
    return decide_approval(CONFIG, principal, approval, verb, platform="slack", user_id="U1", now=now)


def test_approver_may_approve() -> None:
    assert approve(APPROVER, pending()).outcome is Outcome.ALLOW


def test_self_approval_denied() -> None:
    decision = approve(REQUESTER, pending())

    assert decision.outcome is Outcome.DENY
    assert "can't approve your own request" in decision.reason


def test_requester_may_withdraw() -> None:
    assert approve(REQUESTER, pending(), ApprovalVerb.REJECT).outcome is Outcome.ALLOW


def test_expired_approval_denied() -> None:
    decision = approve(APPROVER, pending(), now=NOW + timedelta(minutes=31))

    assert decision.outcome is Outcome.DENY
    assert decision.reason.startswith("Expired")


def test_decided_approval_denied() -> None:
    decision = approve(APPROVER, pending(state=ApprovalState.SUCCEEDED))

    assert decision.outcome is Outcome.DENY
    assert "was already approved and has succeeded" in decision.reason


def test_second_vote_by_same_person_denied() -> None:
    decision = approve(APPROVER, pending(approvers=["demo-approver"]))

    assert decision.outcome is Outcome.DENY


def test_requester_without_approver_role_denied() -> None:
    other = DIRECTORY.lookup("slack", "U0DEMOREQ")
    decision = approve(other, pending(requester="someone-else"))

    assert decision.outcome is Outcome.DENY
    assert "needs the role approver" in decision.reason

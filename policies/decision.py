"""The one decision function: allow, deny or needs-approval, always with a reason.

Everything not explicitly allowed is denied. The reasons are written for the
person in the chat: they say why and what would work instead.
"""

from __future__ import annotations

import difflib
import enum
import re
from dataclasses import dataclass, field
from datetime import datetime

from config import ActionSpec, ChatOpsConfig
from policies.identity import Principal
from store.records import Approval, ApprovalState


class Outcome(enum.StrEnum):
    ALLOW = "allow"
    DENY = "deny"
    NEEDS_APPROVAL = "needs-approval"


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reason: str

    @property
    def allowed(self) -> bool:
        return self.outcome is not Outcome.DENY


@dataclass(frozen=True)
class ActionRequest:
    """A parsed `run` command."""

    action: str
    parameters: dict[str, str] = field(default_factory=dict)
    ticket: str | None = None
    confirm: str | None = None


def _deny(reason: str) -> Decision:
    return Decision(Outcome.DENY, reason)


def unknown_person_reason(platform: str, user_id: str) -> str:
    return (
        f"Refused: your {platform} account ({user_id}) is not mapped to a person in the bot's configuration. "
        "Ask an administrator to add it under people."
    )


def closest(word: str, choices: list[str]) -> str | None:
    matches = difflib.get_close_matches(word, choices, n=1, cutoff=0.5)
    return matches[0] if matches else None


def decide_request(
    config: ChatOpsConfig,
    principal: Principal | None,
    request: ActionRequest,
    *,
    platform: str,
    user_id: str,
    channel: str | None,
) -> Decision:
    """Decide whether `principal` may run `request` in `channel` (a configured channel name or None)."""
    if principal is None:
        return _deny(unknown_person_reason(platform, user_id))

    action = config.actions.get(request.action)
    if action is None:
        suggestion = closest(request.action, list(config.actions))
        hint = f" Did you mean {suggestion}?" if suggestion else ""
        return _deny(f"Refused: there is no action named {request.action}.{hint} Type help to see the actions you may run.")

    if not principal.has_any_role(action.allowed_roles):
        return _deny(
            f"Refused: {request.action} needs the role {' or '.join(action.allowed_roles)}, "
            f"and {principal.name} has {', '.join(sorted(principal.roles)) or 'no roles'}. "
            f"Ask {action.owner} for access."
        )

    if action.channels and channel not in action.channels:
        return _deny(
            f"Refused: {request.action} can only be run in {', '.join(action.channels)}. Run it from one of those channels."
        )

    for check in (_check_parameters, _check_ticket, _check_confirmation):
        problem = check(config, action, request)
        if problem:
            return _deny(problem)

    if action.mutating:
        rule = action.approval
        assert rule is not None  # the configuration loader requires a rule on mutating actions
        plural = "approval" if rule.count == 1 else "approvals"
        return Decision(
            Outcome.NEEDS_APPROVAL,
            f"{request.action} changes {action.target}: it needs {rule.count} {plural} from: {', '.join(rule.roles)}.",
        )
    return Decision(Outcome.ALLOW, f"{request.action} is read-only and {principal.name} may run it.")


def _check_parameters(config: ChatOpsConfig, action: ActionSpec, request: ActionRequest) -> str | None:
    for name in request.parameters:
        if name not in action.parameters:
            known = ", ".join(action.parameters) or "none"
            return f"Refused: {request.action} has no parameter {name}. Its parameters: {known}."

    for name, spec in action.parameters.items():
        value = request.parameters.get(name, spec.default)
        if value is None:
            if spec.required:
                return f"Refused: {request.action} needs {name}: add {name}=<value> ({spec.description or 'required'})."
            continue
        if not re.fullmatch(spec.pattern, value):
            return (
                f"Refused: the value of {name} is invalid. "
                f"{spec.description or 'It must match ' + spec.pattern} "
            ).rstrip()
    return None


def _check_ticket(config: ChatOpsConfig, action: ActionSpec, request: ActionRequest) -> str | None:
    if request.ticket is None:
        if action.requires_ticket:
            return f"Refused: {request.action} needs a ticket: add --ticket CHG-123."
        return None
    if not re.fullmatch(config.tickets.pattern, request.ticket):
        return "Refused: the ticket reference is invalid. Use a ticket key such as CHG-123."
    return None


def _check_confirmation(config: ChatOpsConfig, action: ActionSpec, request: ActionRequest) -> str | None:
    if action.destructive and request.confirm != action.target:
        return (
            f"Refused: {request.action} is destructive. To confirm, repeat the command "
            f"with --confirm {action.target}."
        )
    return None


class ApprovalVerb(enum.StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


def decide_approval(
    config: ChatOpsConfig,
    principal: Principal | None,
    approval: Approval,
    verb: ApprovalVerb,
    *,
    platform: str,
    user_id: str,
    now: datetime,
) -> Decision:
    """Decide whether `principal` may approve or reject a pending approval."""
    if principal is None:
        return _deny(unknown_person_reason(platform, user_id))

    expired = approval.state is ApprovalState.EXPIRED
    if approval.state is ApprovalState.PENDING and now >= approval.expires_at:
        expired = True
    if expired:
        return _deny("Expired: this request can no longer be approved. Ask the requester to run the command again.")

    if approval.state is not ApprovalState.PENDING:
        return _deny(f"Refused: this request {approval.state.phrase}.")

    action = config.actions.get(approval.action)
    if action is None or action.approval is None:
        return _deny(f"Refused: {approval.action} is no longer in the action catalog.")
    rule = action.approval

    if verb is ApprovalVerb.REJECT and principal.name == approval.requester:
        return Decision(Outcome.ALLOW, f"{principal.name} withdraws their own request.")

    if principal.name == approval.requester:
        return _deny(
            f"Refused: you can't approve your own request. Another person with the {' or '.join(rule.roles)} "
            "role must approve it."
        )

    if not principal.has_any_role(rule.roles):
        return _deny(
            f"Refused: {verb.value} on {approval.action} needs the role {' or '.join(rule.roles)}, "
            f"and {principal.name} has {', '.join(sorted(principal.roles)) or 'no roles'}."
        )

    if verb is ApprovalVerb.APPROVE and principal.name in approval.approvers:
        return _deny("Refused: you have already approved this request. Another approver must add theirs.")

    return Decision(Outcome.ALLOW, f"{principal.name} has the role to {verb.value} {approval.action}.")

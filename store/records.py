"""Records kept by the store: approvals and audit entries."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class ApprovalState(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def is_open(self) -> bool:
        return self is ApprovalState.PENDING

    @property
    def phrase(self) -> str:
        """Describe the state for a sentence such as "This request ..."."""
        return STATE_PHRASES[self]


STATE_PHRASES = {
    ApprovalState.PENDING: "is waiting for approval",
    ApprovalState.RUNNING: "was already approved and is running",
    ApprovalState.SUCCEEDED: "was already approved and has succeeded",
    ApprovalState.FAILED: "was already approved and has failed",
    ApprovalState.REJECTED: "was already rejected",
    ApprovalState.EXPIRED: "has expired",
}


@dataclass
class Approval:
    id: str
    action: str
    parameters: dict[str, str]
    ticket: str | None
    requester: str
    platform: str
    channel_id: str
    created_at: datetime
    expires_at: datetime
    state: ApprovalState = ApprovalState.PENDING
    approvers: list[str] = field(default_factory=list)
    decided_by: str | None = None
    decided_at: datetime | None = None
    reason: str | None = None
    result: dict[str, Any] | None = None
    message_refs: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class AuditRecord:
    """One command or click, allowed or denied, with what came of it."""

    time: datetime
    platform: str
    channel_id: str
    platform_user: str
    person: str | None
    command: str
    action: str | None
    target: str | None
    parameters: dict[str, str]
    ticket: str | None
    decision: str
    result: str
    request_id: str
    approval_id: str | None = None

"""Writing audit records for every command and click, allowed or denied."""

from __future__ import annotations

from datetime import datetime
from typing import Callable

from adapters.turn import Sender
from config import ChatOpsConfig
from policies import Principal
from store import Approval, AuditRecord, SQLiteStore


class Auditor:
    def __init__(self, config: ChatOpsConfig, store: SQLiteStore, clock: Callable[[], datetime]) -> None:
        self.config = config
        self.store = store
        self.clock = clock

    def _target(self, action: str | None) -> str | None:
        spec = self.config.actions.get(action) if action else None
        return spec.target if spec else None

    async def command(
        self,
        sender: Sender,
        principal: Principal | None,
        channel_id: str,
        command: str,
        request_id: str,
        *,
        decision: str,
        result: str,
        action: str | None = None,
        parameters: dict[str, str] | None = None,
        ticket: str | None = None,
        approval_id: str | None = None,
    ) -> None:
        await self.store.append_audit(
            AuditRecord(
                time=self.clock(),
                platform=sender.platform.value,
                channel_id=channel_id,
                platform_user=sender.user_id,
                person=principal.name if principal else None,
                command=command,
                action=action,
                target=self._target(action),
                parameters=parameters or {},
                ticket=ticket,
                decision=decision,
                result=result,
                request_id=request_id,
                approval_id=approval_id,
            )
        )

    async def denied(
        self, sender: Sender, principal: Principal | None, channel_id: str, command: str, request_id: str, reason: str
    ) -> None:
        await self.command(sender, principal, channel_id, command, request_id, decision="denied", result=reason)

    async def record(
        self,
        sender: Sender,
        principal: Principal | None,
        channel_id: str,
        command: str,
        request_id: str,
        approval: Approval,
        *,
        decision: str,
        result: str,
    ) -> None:
        """Audit a decision about an existing approval."""
        await self.command(
            sender,
            principal,
            channel_id,
            command,
            request_id,
            decision=decision,
            result=result,
            action=approval.action,
            parameters=approval.parameters,
            ticket=approval.ticket,
            approval_id=approval.id,
        )

    async def execution(self, approval: Approval, sender: Sender, request_id: str, succeeded: bool, result: str) -> None:
        """Audit the result of an approved action; the person is the one whose approval started it."""
        await self.store.append_audit(
            AuditRecord(
                time=self.clock(),
                platform=sender.platform.value,
                channel_id=approval.channel_id,
                platform_user=sender.user_id,
                person=approval.decided_by,
                command="execute",
                action=approval.action,
                target=self._target(approval.action),
                parameters=approval.parameters,
                ticket=approval.ticket,
                decision="executed",
                result=("succeeded " if succeeded else "failed ") + result,
                request_id=request_id,
                approval_id=approval.id,
            )
        )

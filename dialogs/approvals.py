"""The approval flow: request, approve or reject, execute, and update every card in place.

Every state change goes through the store's conditional transition, so a second
click, a retried delivery or two approvers clicking at once execute an action at
most once.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Awaitable, Callable
from urllib.parse import quote

from adapters.turn import Address, MessageRef, Outbound, Platform, Reply, Sender
from automation.executors import Executor
from cards.approval import ApprovalView, approval_card
from cards.replies import notice_card
from config import ChatOpsConfig
from dialogs.audit import Auditor
from policies import ActionRequest, Principal, decide_approval
from policies.decision import ApprovalVerb
from store import Approval, ApprovalState, SQLiteStore

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class ActionOutcome:
    """The result of a card click.

    `card` replaces the clicked card now (None leaves it as it is), `notice` is a
    message for the person who clicked, and `followup` runs after the platform's
    request has been acknowledged.
    """

    card: dict | None = None
    notice: Reply | None = None
    followup: Callable[[], Awaitable[None]] | None = None


def new_approval_id() -> str:
    return secrets.token_hex(6)


class ApprovalFlow:
    def __init__(
        self,
        config: ChatOpsConfig,
        store: SQLiteStore,
        executor: Executor,
        outbound: dict[Platform, Outbound],
        auditor: Auditor,
        clock: Clock,
    ) -> None:
        self.config = config
        self.store = store
        self.executor = executor
        self.outbound = outbound
        self.auditor = auditor
        self.clock = clock

    # Requesting

    async def request(self, sender: Sender, address: Address, principal: Principal, request: ActionRequest) -> Approval:
        """Create a pending approval and post its card where it was asked."""
        action = self.config.actions[request.action]
        assert action.approval is not None
        now = self.clock()
        parameters = self._with_defaults(request)
        approval = Approval(
            id=new_approval_id(),
            action=request.action,
            parameters=parameters,
            ticket=request.ticket,
            requester=principal.name,
            platform=sender.platform.value,
            channel_id=address.channel_id,
            created_at=now,
            expires_at=now + timedelta(minutes=action.approval.expires_minutes),
        )
        await self.store.create_approval(approval)
        log.info(
            "approval %s requested: action=%s requester=%s platform=%s channel=%s",
            approval.id,
            approval.action,
            approval.requester,
            approval.platform,
            approval.channel_id,
        )

        card = approval_card(self.view(approval), now)
        ref = await self.outbound[address.platform].post(address, Reply(text=card["fallbackText"], card=card))
        if ref is not None:
            await self.store.add_message_ref(approval.id, ref.to_json())
        return approval

    def _with_defaults(self, request: ActionRequest) -> dict[str, str]:
        parameters = dict(request.parameters)
        for name, spec in self.config.actions[request.action].parameters.items():
            if name not in parameters and spec.default is not None:
                parameters[name] = spec.default
        return parameters

    # Deciding

    async def decide(
        self,
        sender: Sender,
        principal: Principal | None,
        approval_id: str,
        verb: ApprovalVerb,
        reason: str | None,
        request_id: str,
        channel_id: str,
        command: str,
    ) -> ActionOutcome:
        """Apply an approve or reject from a click or a typed command."""
        approval = await self.store.get_approval(approval_id)
        if approval is None:
            await self.auditor.denied(sender, principal, channel_id, command, request_id, "approval not found")
            return ActionOutcome(notice=self._notice(f"Refused: there is no request with id {approval_id}. Type approvals to list them."))

        now = self.clock()
        if approval.state is ApprovalState.PENDING and now >= approval.expires_at:
            await self._expire(approval)
            approval = await self.store.get_approval(approval_id) or approval

        decision = decide_approval(
            self.config, principal, approval, verb, platform=sender.platform.value, user_id=sender.user_id, now=now
        )
        if not decision.allowed:
            await self.auditor.record(
                sender, principal, channel_id, command, request_id, approval, decision="denied", result=decision.reason
            )
            log.info("approval %s: %s by %s denied: %s", approval.id, verb.value, sender.user_id, decision.reason)
            # Re-render the current state so a stale or double-clicked card catches up.
            return ActionOutcome(card=self.card(approval), notice=self._notice(decision.reason))

        assert principal is not None
        if verb is ApprovalVerb.REJECT:
            return await self._reject(sender, principal, approval, reason, request_id, channel_id, command)
        return await self._approve(sender, principal, approval, request_id, channel_id, command)

    async def _reject(
        self,
        sender: Sender,
        principal: Principal,
        approval: Approval,
        reason: str | None,
        request_id: str,
        channel_id: str,
        command: str,
    ) -> ActionOutcome:
        reason = (reason or "").strip()
        if not reason:
            return ActionOutcome(
                notice=self._notice(
                    f"A rejection needs a reason: type reject {approval.id} <reason>, "
                    "or fill in the reason on the card first where the platform shows it."
                )
            )

        won = await self.store.transition(
            approval.id,
            ApprovalState.PENDING,
            ApprovalState.REJECTED,
            decided_by=principal.name,
            decided_at=self.clock(),
            reason=reason[:500],
        )
        current = await self.store.get_approval(approval.id) or approval
        if not won:
            return ActionOutcome(card=self.card(current), notice=self._notice(f"Refused: this request {current.state.phrase}."))

        log.info("approval %s rejected by %s", approval.id, principal.name)
        await self.auditor.record(
            sender, principal, channel_id, command, request_id, current, decision="rejected", result=f"reason: {reason[:500]}"
        )
        return ActionOutcome(card=self.card(current), followup=lambda: self.refresh_cards(current.id))

    async def _approve(
        self,
        sender: Sender,
        principal: Principal,
        approval: Approval,
        request_id: str,
        channel_id: str,
        command: str,
    ) -> ActionOutcome:
        rule = self.config.actions[approval.action].approval
        assert rule is not None
        votes = await self.store.add_vote(approval.id, principal.name, self.clock())
        if votes < rule.count:
            current = await self.store.get_approval(approval.id) or approval
            await self.auditor.record(
                sender, principal, channel_id, command, request_id, current,
                decision="approved", result=f"{votes} of {rule.count} approvals",
            )
            return ActionOutcome(card=self.card(current), followup=lambda: self.refresh_cards(current.id))

        won = await self.store.transition(
            approval.id, ApprovalState.PENDING, ApprovalState.RUNNING, decided_by=principal.name, decided_at=self.clock()
        )
        current = await self.store.get_approval(approval.id) or approval
        if not won:
            return ActionOutcome(card=self.card(current), notice=self._notice(f"Refused: this request {current.state.phrase}."))

        log.info("approval %s approved by %s; executing %s", approval.id, principal.name, approval.action)
        await self.auditor.record(
            sender, principal, channel_id, command, request_id, current, decision="approved", result="execution started"
        )
        return ActionOutcome(card=self.card(current), followup=lambda: self.execute(current.id, sender, request_id))

    async def expire_overdue(self) -> int:
        """Expire every pending approval past its deadline and update its cards; return how many expired."""
        now = self.clock()
        expired = 0
        for approval in await self.store.list_approvals(ApprovalState.PENDING, limit=500):
            if now >= approval.expires_at:
                await self._expire(approval)
                expired += 1
        return expired

    async def _expire(self, approval: Approval) -> None:
        if await self.store.transition(approval.id, ApprovalState.PENDING, ApprovalState.EXPIRED):
            log.info("approval %s expired", approval.id)
            await self.refresh_cards(approval.id)

    # Executing

    async def execute(self, approval_id: str, sender: Sender, request_id: str) -> None:
        """Run an approved action, store the result and update every card that shows it."""
        approval = await self.store.get_approval(approval_id)
        if approval is None or approval.state is not ApprovalState.RUNNING:
            return
        action = self.config.actions[approval.action]
        result = await self.executor.execute(approval.action, action, approval.parameters)
        state = ApprovalState.SUCCEEDED if result.succeeded else ApprovalState.FAILED
        await self.store.transition(
            approval_id,
            ApprovalState.RUNNING,
            state,
            result={
                "succeeded": result.succeeded,
                "run_id": result.run_id,
                "summary": result.summary,
                "duration_seconds": round(result.duration_seconds, 3),
            },
        )
        log.info(
            "approval %s: %s %s run_id=%s in %.3f s",
            approval_id,
            approval.action,
            state.value,
            result.run_id,
            result.duration_seconds,
        )
        current = await self.store.get_approval(approval_id) or approval
        await self.auditor.execution(current, sender, request_id, result.succeeded, f"run {result.run_id}: {result.summary}")
        await self.refresh_cards(approval_id)

    async def refresh_cards(self, approval_id: str) -> None:
        """Update every message that shows this approval to its current state."""
        approval = await self.store.get_approval(approval_id)
        if approval is None:
            return
        card = self.card(approval)
        reply = Reply(text=card["fallbackText"], card=card)
        for data in approval.message_refs:
            ref = MessageRef.from_json(data)
            outbound = self.outbound.get(ref.address.platform)
            if outbound is None:
                log.warning("approval %s: no adapter for %s to update its card", approval_id, ref.address.platform)
                continue
            try:
                await outbound.update(ref, reply)
            except Exception:
                log.exception(
                    "approval %s: updating the card on %s (message %s) failed",
                    approval_id,
                    ref.address.platform.value,
                    ref.message_id,
                )

    # Rendering

    def view(self, approval: Approval) -> ApprovalView:
        action = self.config.actions.get(approval.action)
        rule = action.approval if action else None
        result = approval.result or {}
        ticket_url = None
        if approval.ticket and self.config.tickets.url:
            ticket_url = self.config.tickets.url.replace("{ticket}", quote(approval.ticket, safe=""))
        return ApprovalView(
            approval_id=approval.id,
            action=approval.action,
            state=approval.state.value,
            requester=approval.requester,
            target=action.target if action else "unknown",
            environment=action.environment if action else "",
            parameters=approval.parameters,
            ticket=approval.ticket,
            ticket_url=ticket_url,
            needed_roles=list(rule.roles) if rule else [],
            needed_count=rule.count if rule else 1,
            expires_at=approval.expires_at,
            created_at=approval.created_at,
            destructive=bool(action and action.destructive),
            approvers=approval.approvers,
            decided_by=approval.decided_by,
            decided_at=approval.decided_at,
            reason=approval.reason,
            succeeded=result.get("succeeded"),
            run_id=result.get("run_id"),
            summary=result.get("summary"),
            duration_seconds=result.get("duration_seconds"),
        )

    def card(self, approval: Approval) -> dict:
        return approval_card(self.view(approval), self.clock())

    @staticmethod
    def _notice(text: str) -> Reply:
        return Reply(text=text, card=notice_card(text), private=True)

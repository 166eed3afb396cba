"""The bot's entry points for typed commands and card clicks.

Adapters call `handle_turn` after acknowledging a command, and `handle_action`
for a click, whose outcome they render in their acknowledgement.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Awaitable, Callable

from adapters.turn import CardAction, Outbound, Platform, Reply, Turn
from automation.executors import Executor
from cards.replies import ActionLine, PendingLine, approvals_card, help_card, notice_card, result_card, whoami_card
from config import ChatOpsConfig
from dialogs.approvals import ActionOutcome, ApprovalFlow
from dialogs.audit import Auditor
from dialogs.commands import Command, CommandError, parse_command, parse_run
from policies import Directory, Outcome, Principal, decide_request
from policies.decision import ApprovalVerb, closest, unknown_person_reason
from store import ApprovalState, SQLiteStore

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Context:
    """One typed command on its way through the dialogs."""

    turn: Turn
    command: Command
    principal: Principal | None


CommandHandler = Callable[[Context], Awaitable[None]]


class ChatOpsBot:
    def __init__(
        self,
        config: ChatOpsConfig,
        store: SQLiteStore,
        executor: Executor,
        outbound: dict[Platform, Outbound],
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.config = config
        self.store = store
        self.executor = executor
        self.outbound = outbound
        self.clock = clock
        self.directory = Directory(config)
        self.auditor = Auditor(config, store, clock)
        self.approvals = ApprovalFlow(config, store, executor, outbound, self.auditor, clock)
        self.commands: dict[str, CommandHandler] = {
            "help": self._help,
            "whoami": self._whoami,
            "run": self._run,
            "approvals": self._list_approvals,
            "approve": self._approve,
            "reject": self._reject,
        }
        self._channel_names = {
            (platform, channel_id): name
            for name, channel in config.channels.items()
            for platform in ("teams", "slack", "mattermost")
            if (channel_id := getattr(channel, platform))
        }

    # Typed commands

    async def handle_turn(self, turn: Turn) -> None:
        """Handle one typed command and send the replies.

        A failure inside a command is logged with a reference id, and the reply shows the same id.
        """
        principal = self.directory.lookup(turn.sender.platform.value, turn.sender.user_id)
        try:
            command = parse_command(turn.text)
        except CommandError as error:
            await self.auditor.denied(turn.sender, principal, turn.address.channel_id, turn.text, turn.request_id, str(error))
            await self._say(turn, str(error))
            return

        handler = self.commands.get(command.name)
        if handler is None:
            await self._unknown(turn, principal, command)
            return

        try:
            await handler(Context(turn=turn, command=command, principal=principal))
        except Exception:
            await self._unexpected(turn, command)

    async def _unknown(self, turn: Turn, principal: Principal | None, command: Command) -> None:
        suggestion = closest(command.name, list(self.commands))
        hint = f" Did you mean {suggestion}?" if suggestion else ""
        text = f"Unknown command.{hint} Type help to see what I can do."
        await self.auditor.denied(turn.sender, principal, turn.address.channel_id, command.text, turn.request_id, "unknown command")
        await self._say(turn, text)

    async def _unexpected(self, turn: Turn, command: Command) -> None:
        reference = secrets.token_hex(3)
        log.exception(
            "command %s failed (ref %s, request %s, platform %s, channel %s)",
            command.name,
            reference,
            turn.request_id,
            turn.sender.platform.value,
            turn.address.channel_id,
        )
        try:
            await self._say(turn, f"Something went wrong (ref {reference}). The bot's log has the details.")
        except Exception:
            log.exception("sending the error reply failed (ref %s)", reference)

    async def _say(self, turn: Turn, text: str, *, private: bool = True) -> None:
        reply = Reply(text=text, card=notice_card(text), private=private)
        await self.outbound[turn.address.platform].post(turn.address, reply, recipient=turn.sender)

    async def _send_card(self, turn: Turn, card: dict, *, private: bool = False) -> None:
        reply = Reply(text=card["fallbackText"], card=card, private=private)
        await self.outbound[turn.address.platform].post(turn.address, reply, recipient=turn.sender)

    def _channel_name(self, turn: Turn) -> str | None:
        return self._channel_names.get((turn.address.platform.value, turn.address.channel_id))

    async def _help(self, context: Context) -> None:
        turn, principal = context.turn, context.principal
        lines = []
        for name, action in self.config.actions.items():
            if principal is None or not principal.has_any_role(action.allowed_roles):
                continue
            if action.channels and self._channel_name(turn) not in action.channels:
                continue
            lines.append(ActionLine(name, action.description, action.owner, action.mutating))
        await self.auditor.command(
            turn.sender, principal, turn.address.channel_id, "help", turn.request_id, decision="allowed", result="help shown"
        )
        await self._send_card(turn, help_card(self.config.bot.name, lines), private=True)

    async def _whoami(self, context: Context) -> None:
        turn, principal = context.turn, context.principal
        card = whoami_card(
            turn.sender.platform.value,
            turn.sender.user_id,
            turn.sender.user_name,
            principal.name if principal else None,
            sorted(principal.roles) if principal else [],
        )
        await self.auditor.command(
            turn.sender, principal, turn.address.channel_id, "whoami", turn.request_id, decision="allowed", result="identity shown"
        )
        await self._send_card(turn, card, private=True)

    async def _list_approvals(self, context: Context) -> None:
        turn, principal = context.turn, context.principal
        if principal is None:
            await self._reject_unknown_person(context)
            return
        pending = await self.store.list_approvals(ApprovalState.PENDING)
        now = self.clock()
        lines = [
            PendingLine(item.id, item.action, item.requester, item.parameters, item.ticket, item.expires_at)
            for item in pending
            if item.expires_at > now
        ]
        await self.auditor.command(
            turn.sender, principal, turn.address.channel_id, "approvals", turn.request_id,
            decision="allowed", result=f"{len(lines)} pending listed",
        )
        await self._send_card(turn, approvals_card(lines), private=True)

    async def _reject_unknown_person(self, context: Context) -> None:
        turn = context.turn
        reason = unknown_person_reason(turn.sender.platform.value, turn.sender.user_id)
        await self.auditor.denied(turn.sender, None, turn.address.channel_id, context.command.text, turn.request_id, reason)
        await self._say(turn, reason)

    async def _run(self, context: Context) -> None:
        turn, principal = context.turn, context.principal
        try:
            request = parse_run(context.command.arguments)
        except CommandError as error:
            await self.auditor.denied(turn.sender, principal, turn.address.channel_id, context.command.text, turn.request_id, str(error))
            await self._say(turn, str(error))
            return

        decision = decide_request(
            self.config,
            principal,
            request,
            platform=turn.sender.platform.value,
            user_id=turn.sender.user_id,
            channel=self._channel_name(turn),
        )
        audit = dict(action=request.action, parameters=request.parameters, ticket=request.ticket)
        if decision.outcome is Outcome.DENY:
            log.info("run %s by %s denied: %s", request.action, turn.sender.user_id, decision.reason)
            await self.auditor.command(
                turn.sender, principal, turn.address.channel_id, context.command.text, turn.request_id,
                decision="denied", result=decision.reason, **audit,
            )
            await self._say(turn, decision.reason)
            return

        assert principal is not None
        if decision.outcome is Outcome.NEEDS_APPROVAL:
            approval = await self.approvals.request(turn.sender, turn.address, principal, request)
            await self.auditor.command(
                turn.sender, principal, turn.address.channel_id, context.command.text, turn.request_id,
                decision="needs-approval", result=f"approval {approval.id} requested", approval_id=approval.id, **audit,
            )
            return

        action = self.config.actions[request.action]
        result = await self.executor.execute(request.action, action, request.parameters)
        await self.auditor.command(
            turn.sender, principal, turn.address.channel_id, context.command.text, turn.request_id,
            decision="allowed",
            result=("succeeded" if result.succeeded else "failed") + f" run {result.run_id}: {result.summary}",
            **audit,
        )
        card = result_card(request.action, principal.name, result.succeeded, result.run_id, result.summary, result.duration_seconds)
        await self._send_card(turn, card)

    async def _approve(self, context: Context) -> None:
        await self._decide_by_text(context, ApprovalVerb.APPROVE)

    async def _reject(self, context: Context) -> None:
        await self._decide_by_text(context, ApprovalVerb.REJECT)

    async def _decide_by_text(self, context: Context, verb: ApprovalVerb) -> None:
        turn = context.turn
        arguments = context.command.arguments
        if not arguments:
            usage = "approve <id>" if verb is ApprovalVerb.APPROVE else "reject <id> <reason>"
            text = f"Refused: {verb.value} needs the request id: {usage}. Type approvals to list them."
            await self.auditor.denied(
                turn.sender, context.principal, turn.address.channel_id, context.command.text, turn.request_id, text
            )
            await self._say(turn, text)
            return
        reason = " ".join(arguments[1:]) or None
        outcome = await self.approvals.decide(
            turn.sender, context.principal, arguments[0], verb, reason, turn.request_id, turn.address.channel_id, context.command.text
        )
        if outcome.notice is not None:
            await self._say(turn, outcome.notice.text)
        elif outcome.card is not None:
            await self._say(turn, f"{'Approved' if verb is ApprovalVerb.APPROVE else 'Rejected'}: request {arguments[0]}.", private=False)
        if outcome.followup is not None:
            await outcome.followup()

    # Card clicks

    async def handle_action(self, action: CardAction) -> ActionOutcome:
        """Decide what a click does; the adapter acknowledges, then runs the follow-up."""
        principal = self.directory.lookup(action.sender.platform.value, action.sender.user_id)
        command = f"click {action.verb}"
        try:
            verb = ApprovalVerb(action.verb)
        except ValueError:
            await self.auditor.denied(action.sender, principal, action.address.channel_id, command, action.request_id, "unknown verb")
            text = "Refused: this button is not known to the bot. It may come from an older card."
            return ActionOutcome(notice=Reply(text=text, card=notice_card(text), private=True))

        approval_id = action.data.get("approval_id")
        if not isinstance(approval_id, str) or not approval_id:
            text = "Refused: this button carries no request id."
            await self.auditor.denied(action.sender, principal, action.address.channel_id, command, action.request_id, text)
            return ActionOutcome(notice=Reply(text=text, card=notice_card(text), private=True))

        reason = action.data.get("reason")
        try:
            return await self.approvals.decide(
                action.sender,
                principal,
                approval_id,
                verb,
                reason if isinstance(reason, str) else None,
                action.request_id,
                action.address.channel_id,
                command,
            )
        except Exception:
            reference = secrets.token_hex(3)
            log.exception(
                "click %s on approval %s failed (ref %s, request %s, platform %s)",
                action.verb,
                approval_id,
                reference,
                action.request_id,
                action.sender.platform.value,
            )
            text = f"Something went wrong (ref {reference}). The bot's log has the details."
            return ActionOutcome(notice=Reply(text=text, card=notice_card(text), private=True))

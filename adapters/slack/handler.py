"""The Slack adapter: verify the signature, acknowledge within 3 seconds, then work.

Slack sends slash commands and interactivity form-encoded, and the Events API as
JSON, all to `POST /slack/events`. The signature covers the raw body, so it is
checked before anything is parsed.
"""

from __future__ import annotations

import json
import logging
import os
import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from adapters.runtime import AdapterRuntime, SettingsError
from adapters.turn import Address, CardAction, MessageRef, Platform, Reply, Sender, Turn
from cards.render_slack import render_blocks
from cards.replies import notice_card

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
MENTION = re.compile(r"^\s*<@[A-Z0-9]+(?:\|[^>]*)?>[\s:,]*")


@dataclass(frozen=True)
class SlackSettings:
    signing_secret: str
    bot_token: str
    api_url: str | None = None

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> SlackSettings | None:
        """Read SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN and SLACK_API_URL; None when Slack is not configured."""
        environ = os.environ if environ is None else environ
        secret = environ.get("SLACK_SIGNING_SECRET", "")
        token = environ.get("SLACK_BOT_TOKEN", "")
        if not secret and not token:
            return None
        if not secret or not token:
            missing = "SLACK_SIGNING_SECRET" if not secret else "SLACK_BOT_TOKEN"
            raise SettingsError(f"{missing} is not set. Slack needs both SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN.")
        api_url = environ.get("SLACK_API_URL") or None
        if api_url and not api_url.endswith("/"):
            api_url += "/"
        return cls(signing_secret=secret, bot_token=token, api_url=api_url)


class SlackOutbound:
    platform = Platform.SLACK

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def post(self, address: Address, reply: Reply, *, recipient: Sender | None = None) -> MessageRef | None:
        text, blocks = self._render(reply)
        thread_ts = address.routing.get("thread_ts")
        if reply.private and recipient is not None:
            await self.client.chat_postEphemeral(
                channel=address.channel_id, user=recipient.user_id, text=text, blocks=blocks, thread_ts=thread_ts
            )
            return None
        response = await self.client.chat_postMessage(channel=address.channel_id, text=text, blocks=blocks, thread_ts=thread_ts)
        posted = Address(Platform.SLACK, response["channel"], address.routing)
        return MessageRef(address=posted, message_id=response["ts"])

    async def update(self, ref: MessageRef, reply: Reply) -> None:
        text, blocks = self._render(reply)
        await self.client.chat_update(channel=ref.address.channel_id, ts=ref.message_id, text=text, blocks=blocks)

    @staticmethod
    def _render(reply: Reply) -> tuple[str, list[dict[str, Any]]]:
        message = render_blocks(reply.card or notice_card(reply.text))
        return message.text, message.blocks


class SlackAdapter:
    def __init__(self, settings: SlackSettings, runtime: AdapterRuntime) -> None:
        self.settings = settings
        self.runtime = runtime
        self.verifier = SignatureVerifier(settings.signing_secret)
        self.client = AsyncWebClient(token=settings.bot_token, base_url=settings.api_url or AsyncWebClient.BASE_URL)
        self.client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=2))
        self.outbound = SlackOutbound(self.client)

    def routes(self) -> list[web.RouteDef]:
        return [web.post(EVENTS_PATH, self.handle)]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        signature = request.headers.get("X-Slack-Signature", "")
        # SignatureVerifier compares in constant time and rejects timestamps more than 5 minutes away.
        # It raises ValueError for a timestamp that is not a number and for a body that is not UTF-8.
        try:
            valid = bool(timestamp and signature) and self.verifier.is_valid(body, timestamp, signature)
        except ValueError:
            valid = False
        if not valid:
            log.warning("slack: rejected a request with a missing or invalid signature from %s", request.remote)
            return web.json_response({"error": "invalid signature"}, status=401)

        content_type = request.content_type
        try:
            if content_type == "application/json":
                return await self._event(json.loads(body))
            form = {key: values[0] for key, values in parse_qs(body.decode("utf-8"), keep_blank_values=True).items()}
        except (ValueError, UnicodeDecodeError):
            log.warning("slack: rejected a signed request whose body is not valid %s", content_type)
            return web.json_response({"error": "malformed body"}, status=400)

        if "payload" in form:
            return await self._interactivity(form["payload"])
        if "command" in form:
            return await self._slash_command(form)
        return web.json_response({"error": "unsupported request"}, status=400)

    # Events API

    async def _event(self, envelope: Any) -> web.StreamResponse:
        if not isinstance(envelope, dict):
            return web.json_response({"error": "malformed body"}, status=400)
        kind = envelope.get("type")
        if kind == "url_verification":
            return web.json_response({"challenge": envelope.get("challenge", "")})
        if kind != "event_callback":
            return web.Response(status=200)

        event_id = str(envelope.get("event_id", ""))
        event = envelope.get("event") or {}
        # Slack retries an event it thinks was not acknowledged; the event id makes a retry a no-op.
        if not event_id or not await self.runtime.store.claim_delivery(f"slack:event:{event_id}"):
            log.info("slack: event %s already handled, ignoring the retry", event_id or "(no id)")
            return web.Response(status=200)

        turn = self._turn_from_event(event, event_id)
        if turn is not None:
            self.runtime.tasks.spawn(self.runtime.bot.handle_turn(turn), f"slack-event-{event_id}")
        # Acknowledged at once: Slack's deadline is 3 seconds.
        return web.Response(status=200)

    def _turn_from_event(self, event: dict[str, Any], event_id: str) -> Turn | None:
        if event.get("bot_id") or event.get("subtype"):
            return None
        kind = event.get("type")
        is_direct = kind == "message" and event.get("channel_type") == "im"
        if kind != "app_mention" and not is_direct:
            return None

        user, channel = event.get("user"), event.get("channel")
        if not isinstance(user, str) or not isinstance(channel, str):
            return None
        text = MENTION.sub("", str(event.get("text", "")), count=1)
        routing = {"thread_ts": event["thread_ts"]} if event.get("thread_ts") else {}
        return Turn(
            sender=Sender(Platform.SLACK, user),
            address=Address(Platform.SLACK, channel, routing),
            text=text,
            request_id=event_id,
        )

    # Slash commands

    async def _slash_command(self, form: dict[str, str]) -> web.StreamResponse:
        user, channel = form.get("user_id", ""), form.get("channel_id", "")
        if not user or not channel:
            return web.json_response({"error": "missing user_id or channel_id"}, status=400)
        turn = Turn(
            sender=Sender(Platform.SLACK, user, form.get("user_name", "")),
            address=Address(Platform.SLACK, channel),
            text=form.get("text", ""),
            request_id=form.get("trigger_id") or uuid.uuid4().hex,
        )
        self.runtime.tasks.spawn(self.runtime.bot.handle_turn(turn), f"slack-command-{turn.request_id}")
        # An empty 200 acknowledges the command within Slack's 3-second deadline; replies follow.
        return web.Response(status=200)

    # Interactivity

    async def _interactivity(self, raw_payload: str) -> web.StreamResponse:
        try:
            payload = json.loads(raw_payload)
        except ValueError:
            return web.json_response({"error": "malformed payload"}, status=400)
        if not isinstance(payload, dict) or payload.get("type") != "block_actions":
            return web.Response(status=200)

        action = self._card_action(payload)
        if action is None:
            return web.json_response({"error": "unsupported action"}, status=400)
        self.runtime.tasks.spawn(self.runtime.handle_action_by_api(action, self.outbound), f"slack-action-{action.request_id}")
        # Acknowledged before the decision is made: Slack's deadline is 3 seconds.
        return web.Response(status=200)

    def _card_action(self, payload: dict[str, Any]) -> CardAction | None:
        actions = payload.get("actions") or []
        user = (payload.get("user") or {}).get("id")
        container = payload.get("container") or {}
        channel = (payload.get("channel") or {}).get("id") or container.get("channel_id")
        if not actions or not isinstance(user, str) or not isinstance(channel, str):
            return None
        clicked = actions[0]
        try:
            value = json.loads(clicked.get("value") or "{}")
        except ValueError:
            return None
        if not isinstance(value, dict):
            return None

        verb = value.get("verb") or clicked.get("action_id", "")
        data = value.get("data") if isinstance(value.get("data"), dict) else {}
        message_ts = container.get("message_ts") or (payload.get("message") or {}).get("ts")
        address = Address(Platform.SLACK, channel)
        message = MessageRef(address, message_ts) if message_ts and not container.get("is_ephemeral") else None
        return CardAction(
            sender=Sender(Platform.SLACK, user, (payload.get("user") or {}).get("username", "")),
            address=address,
            verb=str(verb),
            data=data,
            message=message,
            request_id=str(clicked.get("action_ts") or payload.get("trigger_id") or uuid.uuid4().hex),
        )


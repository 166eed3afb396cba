"""The Mattermost adapter: slash commands, interactive buttons and REST API v4 posts."""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import aiohttp
from aiohttp import web

from adapters.mattermost.context import sign_context, verify_context
from adapters.runtime import AdapterRuntime, SettingsError
from adapters.turn import Address, CardAction, MessageRef, Platform, Reply, Sender, Turn
from cards.render_mattermost import render_attachment
from cards.replies import notice_card

log = logging.getLogger(__name__)

COMMAND_PATH = "/mattermost/command"
ACTION_PATH = "/mattermost/action"
MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class MattermostSettings:
    url: str
    bot_token: str
    # One token per team: a slash command belongs to one team and each has its own token.
    command_tokens: tuple[str, ...]
    public_url: str

    @classmethod
    def from_env(cls, public_url: str, environ: dict[str, str] | None = None) -> MattermostSettings | None:
        """Read MATTERMOST_URL, MATTERMOST_BOT_TOKEN and MATTERMOST_COMMAND_TOKEN; None when not configured.

        MATTERMOST_COMMAND_TOKEN may list several tokens separated by commas, one per team.
        """
        environ = os.environ if environ is None else environ
        names = ("MATTERMOST_URL", "MATTERMOST_BOT_TOKEN", "MATTERMOST_COMMAND_TOKEN")
        values = {name: environ.get(name, "") for name in names}
        if not any(values.values()):
            return None
        missing = [name for name, value in values.items() if not value]
        if missing:
            raise SettingsError(f"{', '.join(missing)} not set. Mattermost needs all of {', '.join(names)}.")
        return cls(
            url=values["MATTERMOST_URL"].rstrip("/"),
            bot_token=values["MATTERMOST_BOT_TOKEN"],
            command_tokens=tuple(token.strip() for token in values["MATTERMOST_COMMAND_TOKEN"].split(",") if token.strip()),
            public_url=public_url.rstrip("/"),
        )


class MattermostApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"Mattermost API answered {status}: {message}")
        self.status = status


class MattermostOutbound:
    platform = Platform.MATTERMOST

    def __init__(self, settings: MattermostSettings, signing_key: bytes) -> None:
        self.settings = settings
        self.signing_key = signing_key
        self._session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                headers={"Authorization": f"Bearer {self.settings.bot_token}"},
                timeout=aiohttp.ClientTimeout(total=15),
            )
        return self._session

    def integration(self, action: dict[str, Any]) -> dict[str, Any]:
        """Build a button's integration: our action URL and a signed context with verb and data."""
        verb = action.get("verb") or (action.get("data") or {}).get("verb", "")
        data = {key: value for key, value in (action.get("data") or {}).items() if key != "verb"}
        context = sign_context({"verb": verb, "data": data}, self.signing_key)
        return {"url": f"{self.settings.public_url}{ACTION_PATH}", "context": context}

    def render(self, reply: Reply) -> dict[str, Any]:
        message = render_attachment(reply.card or notice_card(reply.text), self.integration)
        return {"message": message.message, "props": {"attachments": message.attachments}}

    async def _request(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.settings.url}/api/v4{path}"
        for attempt in range(1, MAX_ATTEMPTS + 1):
            async with self._client().request(method, url, json=body) as response:
                if response.status == 429 and attempt < MAX_ATTEMPTS:
                    delay = min(float(response.headers.get("Retry-After", "1") or 1), 10.0)
                    log.warning("mattermost: %s %s rate limited, retrying in %.1f s", method, path, delay)
                    await asyncio.sleep(delay)
                    continue
                payload = await response.json(content_type=None) if response.content_length != 0 else {}
                if response.status >= 400:
                    message = payload.get("message", "") if isinstance(payload, dict) else ""
                    raise MattermostApiError(response.status, message or response.reason or "")
                return payload if isinstance(payload, dict) else {}
        raise MattermostApiError(429, "rate limited")

    async def post(self, address: Address, reply: Reply, *, recipient: Sender | None = None) -> MessageRef | None:
        post = {"channel_id": address.channel_id, **self.render(reply)}
        if address.routing.get("root_id"):
            post["root_id"] = address.routing["root_id"]
        if reply.private and recipient is not None:
            await self._request("POST", "/posts/ephemeral", {"user_id": recipient.user_id, "post": post})
            return None
        created = await self._request("POST", "/posts", post)
        return MessageRef(address=address, message_id=str(created["id"]))

    async def update(self, ref: MessageRef, reply: Reply) -> None:
        await self._request("PUT", f"/posts/{ref.message_id}/patch", self.render(reply))


class MattermostAdapter:
    def __init__(self, settings: MattermostSettings, signing_key: bytes, runtime: AdapterRuntime) -> None:
        self.settings = settings
        self.runtime = runtime
        self.signing_key = signing_key
        self.outbound = MattermostOutbound(settings, signing_key)

    def routes(self) -> list[web.RouteDef]:
        return [web.post(COMMAND_PATH, self.handle_command), web.post(ACTION_PATH, self.handle_action)]

    async def close(self) -> None:
        await self.outbound.close()

    def _token_valid(self, request: web.Request, form: dict[str, str]) -> bool:
        header = request.headers.get("Authorization", "")
        token = header[len("Token ") :] if header.startswith("Token ") else form.get("token", "")
        # Constant-time comparison against every token, so timing reveals nothing about them.
        received = token.encode("utf-8")
        matches = [hmac.compare_digest(received, expected.encode("utf-8")) for expected in self.settings.command_tokens]
        return any(matches)

    async def handle_command(self, request: web.Request) -> web.StreamResponse:
        try:
            body = (await request.read()).decode("utf-8")
            form = {key: values[0] for key, values in parse_qs(body, keep_blank_values=True).items()}
        except UnicodeDecodeError:
            form = {}
        if not self._token_valid(request, form):
            log.warning("mattermost: rejected a slash command with an invalid token from %s", request.remote)
            return web.json_response({"text": "Invalid command token."}, status=401)

        user, channel = form.get("user_id", ""), form.get("channel_id", "")
        if not user or not channel:
            return web.json_response({"text": "The command carries no user_id or channel_id."}, status=400)
        turn = Turn(
            sender=Sender(Platform.MATTERMOST, user, form.get("user_name", "")),
            address=Address(Platform.MATTERMOST, channel),
            text=form.get("text", ""),
            request_id=form.get("trigger_id") or uuid.uuid4().hex,
        )
        self.runtime.tasks.spawn(self.runtime.bot.handle_turn(turn), f"mattermost-command-{turn.request_id}")
        # Acknowledged at once with nothing to show; the replies follow as posts.
        return web.json_response({})

    async def handle_action(self, request: web.Request) -> web.StreamResponse:
        try:
            payload = await request.json()
        except ValueError:
            return web.json_response({"ephemeral_text": "Malformed request."}, status=400)
        if not isinstance(payload, dict):
            return web.json_response({"ephemeral_text": "Malformed request."}, status=400)

        context = verify_context(payload.get("context"), self.signing_key)
        if context is None:
            log.warning("mattermost: rejected a button click with an invalid context signature from %s", request.remote)
            return web.json_response({"ephemeral_text": "This button is not valid: its signature does not match."}, status=401)

        user, channel, post_id = payload.get("user_id"), payload.get("channel_id"), payload.get("post_id")
        if not all(isinstance(value, str) and value for value in (user, channel, post_id)):
            return web.json_response({"ephemeral_text": "The click carries no user, channel or post."}, status=400)

        address = Address(Platform.MATTERMOST, channel)
        action = CardAction(
            sender=Sender(Platform.MATTERMOST, user, str(payload.get("user_name", ""))),
            address=address,
            verb=str(context.get("verb", "")),
            data=context.get("data") if isinstance(context.get("data"), dict) else {},
            message=MessageRef(address, post_id),
            request_id=str(payload.get("trigger_id") or uuid.uuid4().hex),
        )
        # The person is authorized again by the policy inside handle_action, from user_id.
        # NOTE: user_id itself is unsigned. Mattermost strips integration contexts from the
        # posts it sends to clients, so forging a click needs a context seen on the wire
        # between the server and the bot: serve the bot over HTTPS.
        outcome = await self.runtime.bot.handle_action(action)

        answer: dict[str, Any] = {}
        if outcome.card is not None:
            answer["update"] = self.outbound.render(Reply(text=outcome.card["fallbackText"], card=outcome.card))
        if outcome.notice is not None:
            answer["ephemeral_text"] = outcome.notice.text

        response = web.json_response(answer)
        await response.prepare(request)
        await response.write_eof()
        # The follow-up starts only once the response is sent, so its later updates land after this one.
        if outcome.followup is not None:
            self.runtime.tasks.spawn(outcome.followup(), f"mattermost-action-{action.request_id}")
        return response

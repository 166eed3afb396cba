"""Fake Slack Web API for the methods the bot calls, plus `response_url` endpoints.

Point slack_sdk at it with `AsyncWebClient(token=..., base_url=fake.base_url)`.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes import FakeHttpServer

logger = logging.getLogger(__name__)

BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
TEAM_ID = "T0DEMO"

# Slack sends these arguments as JSON strings in form-encoded requests.
_JSON_ARGUMENTS = ("blocks", "attachments", "metadata")

_FIRST_TS_SECONDS = 1_700_000_000
_TS_STEP_MICROSECONDS = 100


@dataclass(frozen=True)
class SlackCall:
    """One request received by `FakeSlackApi`.

    `method` is the Web API method name such as `chat.postMessage`, or
    `response_url` for a post to a `response_url`. `body` merges query
    parameters with the JSON or form body, and JSON-string `blocks`,
    `attachments` and `metadata` arguments are decoded.
    """

    method: str
    body: dict[str, Any]
    authorization: str | None
    http_method: str = "POST"
    path: str = ""
    content_type: str = ""


SlackHandler = Callable[[dict[str, Any]], dict[str, Any]]


class FakeSlackApi(FakeHttpServer[SlackCall]):
    """Slack Web API fake: `chat.postMessage`, `chat.update`, `chat.postEphemeral`, `auth.test`, `users.info`.

    Every request is recorded before its token is checked. Errors are HTTP
    200 with `{"ok": false, "error": ...}`, as the Slack Web API returns them,
    and an unknown method gets a 404 response. `messages` contains the latest
    version of each posted message, keyed by `(channel, ts)`.
    """

    def __init__(self, token: str = "xoxb-test") -> None:
        super().__init__()
        self.token = token
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        self.ephemeral_messages: list[dict[str, Any]] = []
        self.users: dict[str, dict[str, Any]] = {}
        self._ts_counter = itertools.count(1)
        self._handlers: dict[str, SlackHandler] = {
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.postEphemeral": self._post_ephemeral,
            "auth.test": self._auth_test,
            "users.info": self._users_info,
        }

    @property
    def base_url(self) -> str:
        """Web API base URL for slack_sdk, with a trailing slash."""
        return self.url + "/api/"

    def response_url(self, name: str = "default") -> str:
        """Return a `response_url` on this server. Posts to it are recorded with method `response_url`."""
        return f"{self.url}/response/{name}"

    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        email: str | None = None,
        real_name: str | None = None,
        is_bot: bool = False,
    ) -> dict[str, Any]:
        """Register a user for `users.info`, which returns `user_not_found` for unregistered ids."""
        profile: dict[str, Any] = {"real_name": real_name or name, "display_name": name}
        if email is not None:
            profile["email"] = email
        user = {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": name,
            "real_name": real_name or name,
            "deleted": False,
            "is_bot": is_bot,
            "profile": profile,
        }
        self.users[user_id] = user
        return user

    def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("GET", "/api/{method}", self._api_method)
        app.router.add_route("POST", "/api/{method}", self._api_method)
        app.router.add_post("/response/{name}", self._response_url)
        return app

    async def _record(self, request: web.Request, method: str) -> SlackCall:
        call = SlackCall(
            method=method,
            body=await _read_arguments(request),
            authorization=request.headers.get("Authorization"),
            http_method=request.method,
            path=request.path,
            content_type=request.content_type,
        )
        self.log.record(call)
        return call

    async def _api_method(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        call = await self._record(request, method)
        if call.authorization != f"Bearer {self.token}":
            return web.json_response({"ok": False, "error": "invalid_auth"})
        handler = self._handlers.get(method)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"}, status=404)
        return web.json_response(handler(call.body))

    async def _response_url(self, request: web.Request) -> web.Response:
        await self._record(request, "response_url")
        return web.Response(text="ok")

    def _next_ts(self) -> str:
        microseconds = next(self._ts_counter) * _TS_STEP_MICROSECONDS
        seconds = _FIRST_TS_SECONDS + microseconds // 1_000_000
        return f"{seconds}.{microseconds % 1_000_000:06d}"

    def _post_message(self, body: dict[str, Any]) -> dict[str, Any]:
        channel = body.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not (body.get("text") or body.get("blocks") or body.get("attachments")):
            return {"ok": False, "error": "no_text"}
        ts = self._next_ts()
        message: dict[str, Any] = {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "ts": ts,
            "text": body.get("text", ""),
        }
        for key in ("blocks", "attachments", "thread_ts", "metadata"):
            if key in body:
                message[key] = body[key]
        self.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _update(self, body: dict[str, Any]) -> dict[str, Any]:
        channel = body.get("channel", "")
        ts = body.get("ts", "")
        message = self.messages.get((channel, ts))
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        updated = dict(message)
        for key in ("text", "blocks", "attachments", "metadata"):
            if key in body:
                updated[key] = body[key]
        updated["edited"] = {"user": BOT_USER_ID, "ts": self._next_ts()}
        self.messages[(channel, ts)] = updated
        return {
            "ok": True,
            "channel": channel,
            "ts": ts,
            "text": updated.get("text", ""),
            "message": updated,
        }

    def _post_ephemeral(self, body: dict[str, Any]) -> dict[str, Any]:
        if not body.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        if not body.get("user"):
            return {"ok": False, "error": "user_not_found"}
        if not (body.get("text") or body.get("blocks") or body.get("attachments")):
            return {"ok": False, "error": "no_text"}
        ts = self._next_ts()
        self.ephemeral_messages.append({**body, "message_ts": ts})
        return {"ok": True, "message_ts": ts}

    def _auth_test(self, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://demo.slack.com/",
            "team": "Demo",
            "user": "chatops",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _users_info(self, body: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(body.get("user", ""))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": user}


async def _read_arguments(request: web.Request) -> dict[str, Any]:
    arguments: dict[str, Any] = dict(request.query)
    if request.content_type == "application/json":
        raw = await request.read()
        try:
            parsed = json.loads(raw) if raw else {}
        except ValueError:
            parsed = {"_invalid_json": raw.decode(errors="replace")}
        if isinstance(parsed, dict):
            arguments.update(parsed)
    elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        arguments.update({key: value for key, value in form.items() if isinstance(value, str)})
    for key in _JSON_ARGUMENTS:
        value = arguments.get(key)
        if isinstance(value, str) and value[:1] in ("[", "{"):
            try:
                arguments[key] = json.loads(value)
            except ValueError:
                logger.debug("FakeSlackApi: argument %s is not valid JSON", key)
    return arguments

"""Fake Mattermost REST API v4 for the post and user routes the bot calls.

It also accepts posts to `response_url` (`/hooks/commands/{id}`), which
Mattermost gives to slash commands.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from tests.fakes import FakeHttpServer

BOT_USER_ID = "chatopsbot0000000000000000"
BOT_USERNAME = "chatops"

# Fields of a post that `PUT /api/v4/posts/{id}/patch` replaces when present.
_PATCHABLE_FIELDS = ("message", "props", "is_pinned", "file_ids", "has_reactions")


def new_id() -> str:
    """Return a 26-character lowercase base32 id, the length and alphabet size of Mattermost ids."""
    return base64.b32encode(uuid.uuid4().bytes).decode("ascii").rstrip("=").lower()


def error_body(error_id: str, message: str, status: int) -> dict[str, Any]:
    """Build an error body with the fields of a Mattermost API error response."""
    return {
        "id": error_id,
        "message": message,
        "detailed_error": "",
        "request_id": new_id(),
        "status_code": status,
    }


def _error_response(error_id: str, message: str, status: int) -> web.Response:
    return web.json_response(error_body(error_id, message, status), status=status)


@dataclass(frozen=True)
class MattermostCall:
    """One request received by `FakeMattermostApi`. `body` is the parsed JSON, or None."""

    method: str
    path: str
    body: Any
    authorization: str | None


_CALL_KEY = web.RequestKey("call", MattermostCall)


class FakeMattermostApi(FakeHttpServer[MattermostCall]):
    """Mattermost REST API v4 fake.

    Routes: `POST /api/v4/posts`, `GET /api/v4/posts/{id}`,
    `PUT /api/v4/posts/{id}/patch`, `POST /api/v4/posts/ephemeral`,
    `GET /api/v4/users/me`, `GET /api/v4/users/{id}`, and
    `POST /hooks/commands/{id}`. Every request is recorded before its token
    is checked. `posts` contains the latest version of each post by id.
    """

    def __init__(
        self,
        token: str = "mattermost-bot-token",
        *,
        bot_user_id: str = BOT_USER_ID,
        bot_username: str = BOT_USERNAME,
    ) -> None:
        super().__init__()
        self.token = token
        self.bot_user_id = bot_user_id
        self.posts: dict[str, dict[str, Any]] = {}
        self.ephemeral_posts: list[dict[str, Any]] = []
        self.users: dict[str, dict[str, Any]] = {}
        self._last_timestamp_ms = 0
        self.add_user(bot_user_id, bot_username, is_bot=True)

    def response_url(self, hook_id: str = "demo") -> str:
        """Return a slash-command `response_url` on this server."""
        return f"{self.url}/hooks/commands/{hook_id}"

    def add_user(
        self,
        user_id: str,
        username: str,
        *,
        email: str = "",
        first_name: str = "",
        last_name: str = "",
        is_bot: bool = False,
    ) -> dict[str, Any]:
        """Register a user for `GET /api/v4/users/{id}`, which returns 404 for unknown ids."""
        user = {
            "id": user_id,
            "username": username,
            "email": email,
            "first_name": first_name,
            "last_name": last_name,
            "nickname": "",
            "is_bot": is_bot,
            "delete_at": 0,
            "roles": "system_user",
        }
        self.users[user_id] = user
        return user

    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._record_and_authenticate])
        app.router.add_post("/api/v4/posts", self._create_post)
        app.router.add_post("/api/v4/posts/ephemeral", self._create_ephemeral_post)
        app.router.add_get("/api/v4/posts/{post_id}", self._get_post)
        app.router.add_put("/api/v4/posts/{post_id}/patch", self._patch_post)
        app.router.add_get("/api/v4/users/me", self._get_me)
        app.router.add_get("/api/v4/users/{user_id}", self._get_user)
        app.router.add_post("/hooks/commands/{hook_id}", self._response_url)
        app.router.add_route("*", "/{tail:.*}", self._unknown_route)
        return app

    @web.middleware
    async def _record_and_authenticate(
        self, request: web.Request, handler: Handler
    ) -> web.StreamResponse:
        call = MattermostCall(
            method=request.method,
            path=request.path,
            body=await _read_json(request),
            authorization=request.headers.get("Authorization"),
        )
        self.log.record(call)
        # Mattermost does not authenticate posts to a response_url.
        if request.path.startswith("/api/") and call.authorization != f"Bearer {self.token}":
            return _error_response(
                "api.context.session_expired.app_error",
                "Invalid or expired session, please login again.",
                401,
            )
        request[_CALL_KEY] = call
        return await handler(request)

    def _now_ms(self) -> int:
        # Strictly increasing, so two posts in the same millisecond still sort.
        self._last_timestamp_ms = max(int(time.time() * 1000), self._last_timestamp_ms + 1)
        return self._last_timestamp_ms

    def _new_post(self, fields: dict[str, Any]) -> dict[str, Any]:
        now = self._now_ms()
        return {
            "id": new_id(),
            "create_at": now,
            "update_at": now,
            "edit_at": 0,
            "delete_at": 0,
            "is_pinned": False,
            "user_id": self.bot_user_id,
            "channel_id": fields.get("channel_id", ""),
            "root_id": fields.get("root_id", ""),
            "original_id": "",
            "message": fields.get("message", ""),
            "type": fields.get("type", ""),
            "props": fields.get("props") or {},
            "hashtags": "",
            "pending_post_id": "",
            "reply_count": 0,
            "metadata": {},
        }

    async def _create_post(self, request: web.Request) -> web.Response:
        body = request[_CALL_KEY].body
        if not isinstance(body, dict) or not body.get("channel_id"):
            return _error_response(
                "api.context.invalid_body_param.app_error",
                "Invalid or missing channel_id in request body.",
                400,
            )
        post = self._new_post(body)
        self.posts[post["id"]] = post
        return web.json_response(post, status=201)

    async def _create_ephemeral_post(self, request: web.Request) -> web.Response:
        body = request[_CALL_KEY].body
        post_fields = body.get("post") if isinstance(body, dict) else None
        if not isinstance(post_fields, dict) or not body.get("user_id"):
            return _error_response(
                "api.context.invalid_body_param.app_error",
                "Invalid or missing user_id or post in request body.",
                400,
            )
        post = self._new_post({**post_fields, "type": "system_ephemeral"})
        self.ephemeral_posts.append({"user_id": body["user_id"], "post": post})
        return web.json_response(post, status=201)

    async def _get_post(self, request: web.Request) -> web.Response:
        post = self.posts.get(request.match_info["post_id"])
        if post is None:
            return _post_not_found()
        return web.json_response(post)

    async def _patch_post(self, request: web.Request) -> web.Response:
        post_id = request.match_info["post_id"]
        post = self.posts.get(post_id)
        if post is None:
            return _post_not_found()
        body = request[_CALL_KEY].body
        patch = body if isinstance(body, dict) else {}
        patched = dict(post)
        patched.update({key: patch[key] for key in _PATCHABLE_FIELDS if key in patch})
        now = self._now_ms()
        patched["update_at"] = now
        patched["edit_at"] = now
        self.posts[post_id] = patched
        return web.json_response(patched)

    async def _get_me(self, request: web.Request) -> web.Response:
        return web.json_response(self.users[self.bot_user_id])

    async def _get_user(self, request: web.Request) -> web.Response:
        user = self.users.get(request.match_info["user_id"])
        if user is None:
            return _error_response(
                "app.user.missing_account.const", "Unable to find the user.", 404
            )
        return web.json_response(user)

    async def _response_url(self, request: web.Request) -> web.Response:
        return web.json_response({})

    async def _unknown_route(self, request: web.Request) -> web.Response:
        return _error_response(
            "api.context.404.app_error", "Sorry, we could not find the page.", 404
        )


def _post_not_found() -> web.Response:
    return _error_response(
        "app.post.get.app_error", "Unable to get the post.", 404
    )


async def _read_json(request: web.Request) -> Any:
    raw = await request.read()
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")

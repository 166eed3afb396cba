"""Fake Bot Framework services: token signing, OpenID metadata and the Teams connector.

`TokenSigner` issues channel tokens like the Bot Framework service does.
`OpenIdServer` publishes their keys the way login.botframework.com does.
`FakeBotConnector` replaces the `serviceUrl` that the bot replies to.
The `*_activity` builders return inbound activities shaped like Teams sends them.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

import jwt
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.fakes import DEFAULT_TIMEOUT, LOCAL_HOST, FakeHttpServer

logger = logging.getLogger(__name__)

BOT_FRAMEWORK_ISSUER = "https://api.botframework.com"
DEFAULT_ENDORSEMENTS = ("msteams", "emulator")
METADATA_PATH = "/v1/.well-known/openidconfiguration"
KEYS_PATH = "/v1/.well-known/keys"

DEMO_TENANT_ID = "11111111-2222-3333-4444-555555555555"
DEMO_TEAM_ID = "19:demoteam@thread.tacv2"
DEMO_CHANNEL_CONVERSATION_ID = "19:demo@thread.tacv2"
DEMO_BOT_ID = "28:bot"
DEMO_BOT_NAME = "ChatOps"


# --- Token signing ---------------------------------------------------------


def _base64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


class TokenSigner:
    """RSA 2048 key that signs Bot Framework channel tokens (RS256).

    A signer that no `OpenIdServer` publishes models a token signed with the
    wrong key.
    """

    def __init__(
        self, kid: str | None = None, endorsements: Sequence[str] = DEFAULT_ENDORSEMENTS
    ) -> None:
        self.kid = kid or f"test-key-{uuid.uuid4().hex[:12]}"
        self.endorsements = list(endorsements)
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwk(self) -> dict[str, Any]:
        """Public key as a JWK, with the Bot Framework `endorsements` member."""
        numbers = self.private_key.public_key().public_numbers()
        return {
            "kty": "RSA",
            "use": "sig",
            "kid": self.kid,
            "n": _base64url_uint(numbers.n),
            "e": _base64url_uint(numbers.e),
            "endorsements": list(self.endorsements),
        }

    def token(
        self,
        app_id: str,
        service_url: str,
        *,
        issuer: str = BOT_FRAMEWORK_ISSUER,
        audience: str | None = None,
        expires_in: int = 3600,
        kid: str | None = None,
        extra_claims: dict[str, Any] | None = None,
    ) -> str:
        """Sign a channel token for `app_id` with a `serviceurl` claim.

        `expires_in` is in seconds and may be negative. botbuilder 4.17.1
        accepts 300 seconds of clock skew, so an expired token for it needs
        `expires_in` below -300.
        """
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": issuer,
            "aud": app_id if audience is None else audience,
            "iat": now,
            "nbf": now,
            "exp": now + expires_in,
            "serviceurl": service_url,
        }
        claims.update(extra_claims or {})
        headers = {"kid": self.kid if kid is None else kid}
        return jwt.encode(claims, self.private_key, algorithm="RS256", headers=headers)

    def authorization(self, app_id: str, service_url: str, **options: Any) -> str:
        """Return an `Authorization` header value carrying `token(app_id, service_url, **options)`."""
        return "Bearer " + self.token(app_id, service_url, **options)


# --- OpenID metadata server --------------------------------------------------


@dataclass(frozen=True)
class OpenIdRequest:
    """One request received by `OpenIdServer`."""

    method: str
    path: str


class _OpenIdHttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, owner: OpenIdServer) -> None:
        super().__init__((LOCAL_HOST, 0), _OpenIdRequestHandler)
        self.owner = owner


class _OpenIdRequestHandler(BaseHTTPRequestHandler):
    server: _OpenIdHttpServer

    def do_GET(self) -> None:
        owner = self.server.owner
        owner._record(OpenIdRequest("GET", self.path))
        path = self.path.split("?", 1)[0]
        if path == METADATA_PATH:
            self._send_json(200, owner.metadata())
        elif path == KEYS_PATH:
            self._send_json(200, owner.jwks())
        else:
            self._send_json(404, {"error": f"no route for {path}"})

    def _send_json(self, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("OpenIdServer: " + format, *args)


class OpenIdServer:
    """Bot Framework OpenID metadata and JWKS server, running in its own thread.

    botbuilder 4.17.1 fetches the metadata with a blocking `requests.get` on
    the event loop that validates the token, so this server cannot share
    that loop. `start()` and `stop()` are synchronous. Point botbuilder at it
    by setting `ChannelValidation.open_id_metadata_endpoint` to `metadata_url`.
    """

    def __init__(self, *signers: TokenSigner, issuer: str = BOT_FRAMEWORK_ISSUER) -> None:
        self.issuer = issuer
        self._signers = list(signers)
        self._requests: list[OpenIdRequest] = []
        self._condition = threading.Condition()
        self._http_server: _OpenIdHttpServer | None = None
        self._thread: threading.Thread | None = None
        self._url: str | None = None

    @property
    def url(self) -> str:
        """Server address as `http://127.0.0.1:<port>`, without a trailing slash. It stays set after `stop()`."""
        if self._url is None:
            raise RuntimeError("OpenIdServer is not started")
        return self._url

    @property
    def metadata_url(self) -> str:
        return self.url + METADATA_PATH

    @property
    def jwks_url(self) -> str:
        return self.url + KEYS_PATH

    def publish(self, signer: TokenSigner) -> None:
        """Add a signer's key to the served key set, also while running."""
        with self._condition:
            self._signers.append(signer)

    def metadata(self) -> dict[str, Any]:
        """OpenID configuration document as served."""
        return {
            "issuer": self.issuer,
            "authorization_endpoint": "https://invalid.botframework.com",
            "jwks_uri": self.jwks_url,
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        }

    def jwks(self) -> dict[str, Any]:
        """JWK set as served."""
        with self._condition:
            signers = list(self._signers)
        return {"keys": [signer.jwk() for signer in signers]}

    @property
    def requests(self) -> list[OpenIdRequest]:
        """Copy of the received requests, oldest first."""
        with self._condition:
            return list(self._requests)

    def _record(self, request: OpenIdRequest) -> None:
        with self._condition:
            self._requests.append(request)
            self._condition.notify_all()

    def wait_for_blocking(
        self, predicate: Callable[[OpenIdRequest], bool], timeout: float = DEFAULT_TIMEOUT
    ) -> OpenIdRequest:
        """Block until a received request matches `predicate` and return it.

        Raises AssertionError listing the received requests after `timeout` seconds.
        """

        def find() -> OpenIdRequest | None:
            return next((r for r in self._requests if predicate(r)), None)

        with self._condition:
            found = self._condition.wait_for(find, timeout)
            if found is None:
                received = "\n".join(f"  {r!r}" for r in self._requests)
                raise AssertionError(
                    f"OpenIdServer: no matching request within {timeout} s; "
                    f"received {len(self._requests)}:\n{received}"
                )
            return found

    async def wait_for(
        self, predicate: Callable[[OpenIdRequest], bool], timeout: float = DEFAULT_TIMEOUT
    ) -> OpenIdRequest:
        """Await a received request matching `predicate` without blocking the event loop."""
        return await asyncio.to_thread(self.wait_for_blocking, predicate, timeout)

    def start(self) -> Self:
        """Bind a port and serve from a daemon thread."""
        if self._http_server is not None:
            raise RuntimeError("OpenIdServer is already started")
        self._http_server = _OpenIdHttpServer(self)
        self._url = f"http://{LOCAL_HOST}:{self._http_server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._http_server.serve_forever, name="OpenIdServer", daemon=True
        )
        self._thread.start()
        logger.debug("OpenIdServer listening on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._http_server is None:
            return
        http_server, self._http_server = self._http_server, None
        http_server.shutdown()
        http_server.server_close()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        logger.debug("OpenIdServer stopped")

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def clear_openid_metadata_cache() -> None:
    """Empty botbuilder's process-wide OpenID metadata cache.

    botbuilder 4.17.1 caches keys per metadata URL in
    `JwtTokenExtractor.metadataCache` and refreshes them only after a day, so
    a new `OpenIdServer` that reuses an earlier port would otherwise be
    checked against the earlier server's keys.
    """
    from botframework.connector.auth.jwt_token_extractor import JwtTokenExtractor

    JwtTokenExtractor.metadataCache.clear()


# --- Bot Connector (serviceUrl) ----------------------------------------------


@dataclass(frozen=True)
class ConnectorCall:
    """One request received by `FakeBotConnector`.

    `operation` is the Bot Connector operation name (`reply_to_activity`,
    `send_to_conversation`, `update_activity`, `delete_activity`), or
    `unknown` for a route the fake does not implement.
    """

    method: str
    path: str
    conversation_id: str | None
    activity_id: str | None
    body: Any
    authorization: str | None
    operation: str = "unknown"


class FakeBotConnector(FakeHttpServer[ConnectorCall]):
    """Bot Connector REST API (v3) for the activities routes the bot uses.

    Requests to other routes are recorded and get a 404 response.
    """

    def __init__(self) -> None:
        super().__init__()
        self._activity_ids = itertools.count(1)

    @property
    def url(self) -> str:
        """Service URL with a trailing slash, as Teams sends `serviceUrl`."""
        return self.root_url + "/"

    def build_app(self) -> web.Application:
        app = web.Application()
        base = "/v3/conversations/{conversation_id}/activities"
        app.router.add_post(base, self._send_to_conversation)
        app.router.add_post(base + "/{activity_id}", self._reply_to_activity)
        app.router.add_put(base + "/{activity_id}", self._update_activity)
        app.router.add_delete(base + "/{activity_id}", self._delete_activity)
        app.router.add_route("*", "/{tail:.*}", self._unknown_route)
        return app

    async def _record(self, request: web.Request, operation: str) -> ConnectorCall:
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        call = ConnectorCall(
            method=request.method,
            path=request.path,
            conversation_id=request.match_info.get("conversation_id"),
            activity_id=request.match_info.get("activity_id"),
            body=body,
            authorization=request.headers.get("Authorization"),
            operation=operation,
        )
        self.log.record(call)
        return call

    def _new_activity_id(self) -> str:
        return f"activity-{next(self._activity_ids)}"

    async def _send_to_conversation(self, request: web.Request) -> web.Response:
        await self._record(request, "send_to_conversation")
        return web.json_response({"id": self._new_activity_id()}, status=201)

    async def _reply_to_activity(self, request: web.Request) -> web.Response:
        await self._record(request, "reply_to_activity")
        return web.json_response({"id": self._new_activity_id()}, status=201)

    async def _update_activity(self, request: web.Request) -> web.Response:
        call = await self._record(request, "update_activity")
        return web.json_response({"id": call.activity_id})

    async def _delete_activity(self, request: web.Request) -> web.Response:
        await self._record(request, "delete_activity")
        return web.Response(status=200)

    async def _unknown_route(self, request: web.Request) -> web.Response:
        await self._record(request, "unknown")
        message = f"FakeBotConnector has no route for {request.method} {request.path}"
        return web.json_response(
            {"error": {"code": "NotFound", "message": message}}, status=404
        )


# --- Inbound activities ------------------------------------------------------

_activity_counter = itertools.count(1)
_ACTIVITY_ID_BASE = int(time.time() * 1000)


def _new_inbound_activity_id() -> str:
    # Teams message ids look like Unix timestamps in milliseconds.
    return str(_ACTIVITY_ID_BASE + next(_activity_counter))


def _timestamp() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _teams_user_id(user_aad_id: str) -> str:
    return "29:" + user_aad_id.replace("-", "")


def activity(
    activity_type: str,
    *,
    user_aad_id: str,
    service_url: str,
    conversation_id: str = DEMO_CHANNEL_CONVERSATION_ID,
    conversation_type: str = "channel",
    user_name: str = "Demo User",
    bot_id: str = DEMO_BOT_ID,
    bot_name: str = DEMO_BOT_NAME,
    tenant_id: str = DEMO_TENANT_ID,
    team_id: str = DEMO_TEAM_ID,
    locale: str = "en-US",
) -> dict[str, Any]:
    """Build the fields common to every inbound Teams activity.

    `conversation_type` is `channel`, `groupChat` or `personal`. Channel
    activities carry the team and channel in `channelData`, as Teams sends them.
    """
    conversation: dict[str, Any] = {
        "id": conversation_id,
        "conversationType": conversation_type,
        "tenantId": tenant_id,
    }
    channel_data: dict[str, Any] = {"tenant": {"id": tenant_id}}
    if conversation_type != "personal":
        conversation["isGroup"] = True
    if conversation_type == "channel":
        channel_id = conversation_id.split(";", 1)[0]
        channel_data.update(
            {
                "teamsChannelId": channel_id,
                "teamsTeamId": team_id,
                "channel": {"id": channel_id},
                "team": {"id": team_id},
            }
        )
    return {
        "type": activity_type,
        "id": _new_inbound_activity_id(),
        "timestamp": _timestamp(),
        "localTimestamp": _timestamp(),
        "locale": locale,
        "channelId": "msteams",
        "serviceUrl": service_url,
        "from": {
            "id": _teams_user_id(user_aad_id),
            "name": user_name,
            "aadObjectId": user_aad_id,
        },
        "recipient": {"id": bot_id, "name": bot_name},
        "conversation": conversation,
        "channelData": channel_data,
    }


def message_activity(
    text: str,
    *,
    user_aad_id: str,
    service_url: str,
    conversation_id: str = DEMO_CHANNEL_CONVERSATION_ID,
    bot_id: str = DEMO_BOT_ID,
    bot_name: str = DEMO_BOT_NAME,
    mention: bool = True,
    **common: Any,
) -> dict[str, Any]:
    """Build a Teams `message` activity, by default @mentioning the bot.

    `common` accepts the other keyword arguments of `activity`.
    """
    result = activity(
        "message",
        user_aad_id=user_aad_id,
        service_url=service_url,
        conversation_id=conversation_id,
        bot_id=bot_id,
        bot_name=bot_name,
        **common,
    )
    result["textFormat"] = "plain"
    result["entities"] = []
    if mention:
        mention_text = f"<at>{bot_name}</at>"
        text = f"{mention_text} {text}"
        result["entities"].append(
            {
                "type": "mention",
                "mentioned": {"id": bot_id, "name": bot_name},
                "text": mention_text,
            }
        )
    result["text"] = text
    return result


def invoke_action_activity(
    verb: str,
    data: dict[str, Any],
    *,
    user_aad_id: str,
    service_url: str,
    reply_to_id: str,
    conversation_id: str = DEMO_CHANNEL_CONVERSATION_ID,
    **common: Any,
) -> dict[str, Any]:
    """Build the `adaptiveCard/action` invoke Teams sends for an `Action.Execute` button."""
    result = activity(
        "invoke",
        user_aad_id=user_aad_id,
        service_url=service_url,
        conversation_id=conversation_id,
        **common,
    )
    result["name"] = "adaptiveCard/action"
    result["replyToId"] = reply_to_id
    result["value"] = {
        "action": {"type": "Action.Execute", "verb": verb, "data": data},
        "trigger": "manual",
    }
    return result


def submit_activity(
    data: dict[str, Any],
    *,
    user_aad_id: str,
    service_url: str,
    reply_to_id: str,
    conversation_id: str = DEMO_CHANNEL_CONVERSATION_ID,
    **common: Any,
) -> dict[str, Any]:
    """Build the `message` activity Teams sends for an `Action.Submit` button: `value` and no text."""
    result = activity(
        "message",
        user_aad_id=user_aad_id,
        service_url=service_url,
        conversation_id=conversation_id,
        **common,
    )
    result["replyToId"] = reply_to_id
    result["value"] = data
    return result


def conversation_update_activity(
    *,
    user_aad_id: str,
    service_url: str,
    members_added: Iterable[str] | None = None,
    members_removed: Iterable[str] = (),
    event_type: str = "teamMemberAdded",
    conversation_id: str = DEMO_CHANNEL_CONVERSATION_ID,
    **common: Any,
) -> dict[str, Any]:
    """Build a `conversationUpdate` activity, by default for the bot being added to the team.

    `members_added` and `members_removed` are channel account ids and
    `members_added` defaults to the bot. `user_aad_id` is the user who made
    the change.
    """
    result = activity(
        "conversationUpdate",
        user_aad_id=user_aad_id,
        service_url=service_url,
        conversation_id=conversation_id,
        **common,
    )
    if members_added is None:
        members_added = [result["recipient"]["id"]]
    result["membersAdded"] = [{"id": member} for member in members_added]
    result["membersRemoved"] = [{"id": member} for member in members_removed]
    result["channelData"]["eventType"] = event_type
    return result


def installation_update_activity(
    action: str = "add",
    *,
    user_aad_id: str,
    service_url: str,
    conversation_id: str = DEMO_CHANNEL_CONVERSATION_ID,
    **common: Any,
) -> dict[str, Any]:
    """Build an `installationUpdate` activity. `action` is `add`, `remove`, `add-upgrade` or `remove-upgrade`."""
    result = activity(
        "installationUpdate",
        user_aad_id=user_aad_id,
        service_url=service_url,
        conversation_id=conversation_id,
        **common,
    )
    result["action"] = action
    return result

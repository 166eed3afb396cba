"""The Teams adapter: Bot Framework activities at `POST /api/messages`.

botbuilder is imported only inside this package, so the SDK can be replaced by
rewriting this adapter alone. The HTTP handling is our own because botbuilder
4.17.1's aiohttp integration returns 500 for an invoke response whose body is a
dict and for several token failures, where Teams must get the refreshed card or a 401.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from typing import Any, Awaitable, Callable
from urllib.parse import urlsplit

import requests
from aiohttp import web
from botbuilder.core import CardFactory, TurnContext
from botbuilder.core.cloud_adapter_base import CloudAdapterBase
from botbuilder.core.invoke_response import InvokeResponse
from botbuilder.schema import Activity, ActivityTypes, ConversationReference
from botframework.connector.auth import AuthenticationConstants, BotFrameworkAuthenticationFactory
from botframework.connector.auth.authenticate_request_result import AuthenticateRequestResult

from adapters.runtime import AdapterRuntime
from adapters.teams.credentials import AzureIdentityCredentialsFactory, prefetch_token
from adapters.teams.settings import TeamsSettings
from adapters.turn import Address, CardAction, MessageRef, Platform, Reply, Sender, Turn
from cards.replies import notice_card

log = logging.getLogger(__name__)

MESSAGES_PATH = "/api/messages"
ADAPTIVE_CARD_ACTION = "adaptiveCard/action"
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
MESSAGE_CONTENT_TYPE = "application/vnd.microsoft.activity.message"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Adapter(CloudAdapterBase):
    """CloudAdapterBase with nothing added: botbuilder's aiohttp layer is replaced by TeamsAdapter."""


def card_activity(reply: Reply) -> Activity:
    card = reply.card or notice_card(reply.text)
    return Activity(
        type=ActivityTypes.message,
        summary=card.get("fallbackText", reply.text),
        attachments=[CardFactory.adaptive_card(card)],
    )


class TeamsOutbound:
    """Sends and updates messages through the conversation reference stored with each address."""

    platform = Platform.TEAMS

    def __init__(self, adapter: CloudAdapterBase, app_id: str, credential: Any) -> None:
        self.adapter = adapter
        self.app_id = app_id
        self.credential = credential

    async def _continue(self, routing: dict[str, Any], callback: Callable[[TurnContext], Awaitable[None]]) -> None:
        await prefetch_token(self.credential)
        reference = ConversationReference().deserialize(routing)
        await self.adapter.continue_conversation(reference, callback, self.app_id)

    async def post(self, address: Address, reply: Reply, *, recipient: Sender | None = None) -> MessageRef | None:
        # Teams has no ephemeral messages for bots, so a private reply is posted in the conversation.
        posted: list[str] = []

        async def send(context: TurnContext) -> None:
            response = await context.send_activity(card_activity(reply))
            if response is not None and response.id:
                posted.append(response.id)

        await self._continue(address.routing, send)
        return MessageRef(address=address, message_id=posted[0]) if posted else None

    async def update(self, ref: MessageRef, reply: Reply) -> None:
        async def update(context: TurnContext) -> None:
            activity = card_activity(reply)
            activity.id = ref.message_id
            await context.update_activity(activity)

        await self._continue(ref.address.routing, update)


class TeamsAdapter:
    def __init__(self, settings: TeamsSettings, runtime: AdapterRuntime, credential: Any = None) -> None:
        self.settings = settings
        self.runtime = runtime
        factory = AzureIdentityCredentialsFactory(settings.app_id, credential)
        self.auth = BotFrameworkAuthenticationFactory.create(
            to_channel_from_bot_login_url=AuthenticationConstants.TO_CHANNEL_FROM_BOT_LOGIN_URL,
            to_channel_from_bot_oauth_scope=AuthenticationConstants.TO_CHANNEL_FROM_BOT_OAUTH_SCOPE,
            to_bot_from_channel_token_issuer=AuthenticationConstants.TO_BOT_FROM_CHANNEL_TOKEN_ISSUER,
            oauth_url=AuthenticationConstants.OAUTH_URL,
            to_bot_from_channel_open_id_metadata_url=settings.openid_metadata_url,
            to_bot_from_emulator_open_id_metadata_url=AuthenticationConstants.TO_BOT_FROM_EMULATOR_OPENID_METADATA_URL,
            credential_factory=factory,
        )
        self.adapter = _Adapter(self.auth)
        self.adapter.on_turn_error = self._on_turn_error
        self.credential = credential if settings.app_id else None
        self.outbound = TeamsOutbound(self.adapter, settings.app_id, self.credential)

    def routes(self) -> list[web.RouteDef]:
        return [web.post(MESSAGES_PATH, self.handle)]

    async def _on_turn_error(self, context: TurnContext, error: Exception) -> None:
        log.error("teams: turn failed for activity %s: %s", context.activity.id, error, exc_info=error)
        raise error

    # Inbound

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
            activity = Activity().deserialize(body)
        except (ValueError, TypeError, AttributeError):
            return web.json_response({"error": "the body is not a Bot Framework activity"}, status=400)

        problem = self._service_url_problem(activity.service_url)
        if problem:
            log.warning("teams: rejected activity %s: %s", activity.id, problem)
            return web.json_response({"error": problem}, status=400)

        header = request.headers.get("Authorization")
        try:
            auth_result = await self._authenticate(activity, header)
        except requests.RequestException as error:
            log.error("teams: fetching the OpenID metadata failed: %s", type(error).__name__)
            return web.json_response({"error": "could not verify the token now"}, status=503)
        except Exception as error:
            # botbuilder reports bad tokens with assorted exceptions (PermissionError,
            # jwt errors, IndexError for an unknown key id); all of them are a 401.
            log.warning(
                "teams: rejected activity %s: %s (%s)", activity.id, type(error).__name__, error
            )
            return web.json_response({"error": "unauthorized"}, status=401)

        followups: list[Callable[[], Awaitable[None]]] = []

        async def logic(context: TurnContext) -> None:
            await self._on_turn(context, followups)

        try:
            invoke_response = await self.adapter.process_activity(auth_result, activity, logic)
        except Exception:
            log.exception("teams: processing activity %s (%s) failed", activity.id, activity.type)
            return web.json_response({"error": "internal error"}, status=500)

        response = self._http_response(invoke_response)
        await response.prepare(request)
        await response.write_eof()
        # Follow-ups start only after the response is sent, so later updates land after it.
        for followup in followups:
            self.runtime.tasks.spawn(followup(), f"teams-{activity.id}")
        return response

    def _service_url_problem(self, service_url: str | None) -> str | None:
        """Return why a serviceUrl cannot be replied to, or None when it can.

        Replies go to the serviceUrl, so an empty one would make botbuilder fall back to
        a default host. Without authentication (development mode) nothing vouches for
        the URL, so only loopback addresses, where the Emulator listens, are accepted.
        """
        parsed = urlsplit(service_url or "")
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            return "the activity has no http(s) serviceUrl to reply to"
        if not self.settings.authenticated and not _is_loopback(parsed.hostname):
            return "without authentication (development mode) the serviceUrl must be a loopback address"
        return None

    async def _authenticate(self, activity: Activity, header: str | None) -> AuthenticateRequestResult:
        # botbuilder 4.17.1 fetches the OpenID keys with a blocking requests.get, so token
        # validation runs on a worker thread with its own event loop.
        def validate() -> AuthenticateRequestResult:
            return asyncio.run(self.auth.authenticate_request(activity, header))

        return await asyncio.to_thread(validate)

    @staticmethod
    def _http_response(invoke_response: InvokeResponse | None) -> web.Response:
        if invoke_response is None:
            return web.Response(status=200)
        body = invoke_response.body
        if body is None:
            return web.Response(status=invoke_response.status)
        return web.json_response(body, status=invoke_response.status)

    async def _on_turn(self, context: TurnContext, followups: list[Callable[[], Awaitable[None]]]) -> None:
        activity = context.activity
        handlers = {
            ActivityTypes.message: self._on_message,
            ActivityTypes.invoke: self._on_invoke,
            ActivityTypes.conversation_update: self._on_conversation_update,
            ActivityTypes.installation_update: self._on_conversation_update,
        }
        handler = handlers.get(activity.type)
        if handler is None:
            log.debug("teams: ignoring activity type %s", activity.type)
            return
        await handler(context, followups)

    def _address(self, activity: Activity) -> Address:
        reference = TurnContext.get_conversation_reference(activity)
        return Address(Platform.TEAMS, activity.conversation.id, reference.serialize())

    @staticmethod
    def _sender(activity: Activity) -> Sender:
        account = activity.from_property
        # The Entra object id is the stable identity the configuration maps; the
        # Teams user id (29:...) differs per bot.
        user_id = account.aad_object_id or account.id
        return Sender(Platform.TEAMS, user_id, account.name or "")

    async def _save_reference(self, activity: Activity) -> None:
        reference = TurnContext.get_conversation_reference(activity)
        await self.runtime.store.save_conversation_ref("teams", activity.conversation.id, reference.serialize())

    async def _on_conversation_update(self, context: TurnContext, followups: list) -> None:
        await self._save_reference(context.activity)
        log.info("teams: stored the conversation reference for %s", context.activity.conversation.id)

    async def _on_message(self, context: TurnContext, followups: list) -> None:
        activity = context.activity
        await self._save_reference(activity)
        if isinstance(activity.value, dict) and activity.value:
            # Action.Submit from a client without Universal Actions: the card's data is the value.
            data = dict(activity.value)
            verb = str(data.pop("verb", ""))
            message = MessageRef(self._address(activity), activity.reply_to_id) if activity.reply_to_id else None
            action = self._card_action(activity, verb, data, message)
            followups.append(lambda: self.runtime.handle_action_by_api(action, self.outbound))
            return

        text = TurnContext.remove_recipient_mention(activity) or ""
        turn = Turn(
            sender=self._sender(activity),
            address=self._address(activity),
            text=text.strip(),
            request_id=activity.id or "",
        )
        followups.append(lambda: self.runtime.bot.handle_turn(turn))

    def _card_action(self, activity: Activity, verb: str, data: dict[str, Any], message: MessageRef | None) -> CardAction:
        return CardAction(
            sender=self._sender(activity),
            address=self._address(activity),
            verb=verb,
            data=data,
            message=message,
            request_id=activity.id or "",
        )

    async def _on_invoke(self, context: TurnContext, followups: list) -> None:
        activity = context.activity
        if activity.name != ADAPTIVE_CARD_ACTION:
            await self._set_invoke_response(context, 501, None)
            return

        value = activity.value if isinstance(activity.value, dict) else {}
        action_value = value.get("action") if isinstance(value.get("action"), dict) else {}
        data = action_value.get("data") if isinstance(action_value.get("data"), dict) else {}
        message = MessageRef(self._address(activity), activity.reply_to_id) if activity.reply_to_id else None
        action = self._card_action(activity, str(action_value.get("verb", "")), data, message)

        outcome = await self.runtime.bot.handle_action(action)
        if outcome.card is not None:
            body: dict[str, Any] = {"statusCode": 200, "type": CARD_CONTENT_TYPE, "value": outcome.card}
            if outcome.notice is not None:
                notice = outcome.notice
                followups.append(lambda: self._post_notice(action, notice))
        elif outcome.notice is not None:
            body = {"statusCode": 200, "type": MESSAGE_CONTENT_TYPE, "value": outcome.notice.text}
        else:
            body = {"statusCode": 200, "type": MESSAGE_CONTENT_TYPE, "value": "Done."}
        if outcome.followup is not None:
            followups.append(outcome.followup)
        await self._set_invoke_response(context, 200, body)

    async def _post_notice(self, action: CardAction, notice: Reply) -> None:
        await self.outbound.post(action.address, notice, recipient=action.sender)

    @staticmethod
    async def _set_invoke_response(context: TurnContext, status: int, body: dict[str, Any] | None) -> None:
        # The adapter returns this from process_activity; the HTTP handler serializes it.
        await context.send_activity(
            Activity(type=ActivityTypes.invoke_response, value=InvokeResponse(status=status, body=body))
        )

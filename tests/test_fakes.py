"""Checks that the fake platform servers behave like the services they replace."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import parse_qs

import aiohttp
import jwt
import pytest
import requests
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes import CallLog
from tests.fakes.botframework import (
    ConnectorCall,
    FakeBotConnector,
    OpenIdServer,
    TokenSigner,
    clear_openid_metadata_cache,
    invoke_action_activity,
    message_activity,
)
from tests.fakes.mattermost_api import FakeMattermostApi, MattermostCall
from tests.fakes.signing import (
    mattermost_action_body,
    mattermost_command_body,
    slack_block_actions_body,
    slack_signed_headers,
    slack_slash_command_body,
)
from tests.fakes.slack_api import FakeSlackApi, SlackCall

pytestmark = pytest.mark.asyncio

APP_ID = "00000000-0000-0000-0000-0000000000aa"
USER_AAD_ID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"


# --- CallLog -------------------------------------------------------------------


async def test_call_log_wakes_waiter_on_record() -> None:
    log: CallLog[str] = CallLog("demo")
    loop = asyncio.get_running_loop()
    # The callbacks run only once wait_for has scanned the empty log and suspended.
    loop.call_soon(log.record, "first")
    loop.call_soon(log.record, "second")

    found = await log.wait_for(lambda call: call == "second", timeout=5.0)

    assert found == "second"
    assert log.calls == ["first", "second"]


async def test_call_log_timeout_lists_calls() -> None:
    log: CallLog[str] = CallLog("demo")
    log.record("only-call")

    with pytest.raises(AssertionError) as error:
        await log.wait_for(lambda call: call == "missing", timeout=0.05)

    assert "no matching request" in str(error.value)
    assert "only-call" in str(error.value)


# --- Bot Framework -------------------------------------------------------------


async def test_openid_server_serves_usable_keys() -> None:
    signer = TokenSigner()
    with OpenIdServer(signer) as server:
        metadata = await asyncio.to_thread(_get_json, server.metadata_url)
        keys = await asyncio.to_thread(_get_json, metadata["jwks_uri"])
        await server.wait_for(lambda request: request.path.endswith("/keys"))

    assert metadata["issuer"] == "https://api.botframework.com"
    assert metadata["jwks_uri"] == server.jwks_url
    [served_key] = keys["keys"]
    assert served_key["kid"] == signer.kid
    assert served_key["endorsements"] == ["msteams", "emulator"]

    token = signer.token(APP_ID, "http://127.0.0.1:1/")
    public_key = jwt.PyJWK(served_key).key
    claims = jwt.decode(token, public_key, algorithms=["RS256"], audience=APP_ID)
    assert claims["iss"] == "https://api.botframework.com"
    assert claims["serviceurl"] == "http://127.0.0.1:1/"
    assert jwt.get_unverified_header(token)["kid"] == signer.kid


async def test_botbuilder_accepts_published_key_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from botframework.connector.auth import ChannelValidation, SimpleCredentialProvider

    signer = TokenSigner()
    stranger = TokenSigner(kid=signer.kid)  # same kid, key not published
    credentials = SimpleCredentialProvider(APP_ID, "")
    service_url = "http://127.0.0.1:1/"
    clear_openid_metadata_cache()

    with OpenIdServer(signer) as server:
        monkeypatch.setattr(ChannelValidation, "open_id_metadata_endpoint", server.metadata_url)
        identity = await ChannelValidation.authenticate_channel_token_with_service_url(
            signer.authorization(APP_ID, service_url), credentials, service_url, "msteams"
        )
        with pytest.raises(jwt.InvalidSignatureError):
            await ChannelValidation.authenticate_channel_token_with_service_url(
                stranger.authorization(APP_ID, service_url), credentials, service_url, "msteams"
            )

    assert identity.is_authenticated
    assert identity.get_claim_value("aud") == APP_ID


async def test_connector_records_reply_and_update() -> None:
    async with FakeBotConnector() as connector, aiohttp.ClientSession() as session:
        assert connector.url.endswith("/")
        base = connector.url + "v3/conversations/19%3Ademo%40thread.tacv2/activities"
        headers = {"Authorization": "Bearer outbound"}

        async with session.post(base + "/inbound-1", json={"text": "hi"}, headers=headers) as reply:
            reply_body = await reply.json()
        async with session.put(base + "/activity-1", json={"text": "edited"}) as update:
            update_body = await update.json()

        call = await connector.wait_for(lambda c: c.operation == "update_activity")

    assert reply_body == {"id": "activity-1"}
    assert update_body == {"id": "activity-1"}
    first = connector.calls[0]
    assert first.operation == "reply_to_activity"
    assert first.conversation_id == "19:demo@thread.tacv2"
    assert first.activity_id == "inbound-1"
    assert first.authorization == "Bearer outbound"
    assert call.body == {"text": "edited"}
    assert call.authorization is None


async def test_connector_works_with_botframework_client() -> None:
    from botbuilder.schema import Activity
    from botframework.connector.aio import ConnectorClient
    from botframework.connector.auth import MicrosoftAppCredentials

    async with FakeBotConnector() as connector:
        client = ConnectorClient(MicrosoftAppCredentials(None, None), base_url=connector.url)
        async with client:
            response = await client.conversations.send_to_conversation(
                "19:demo@thread.tacv2", Activity(type="message", text="hello")
            )

    call: ConnectorCall = connector.calls[0]
    assert response.id == "activity-1"
    assert call.operation == "send_to_conversation"
    assert call.conversation_id == "19:demo@thread.tacv2"
    assert call.body["text"] == "hello"


async def test_activity_builders_match_teams_shape() -> None:
    message = message_activity("deploy api", user_aad_id=USER_AAD_ID, service_url="http://x/")
    invoke = invoke_action_activity(
        "approve",
        {"request_id": "r1"},
        user_aad_id=USER_AAD_ID,
        service_url="http://x/",
        reply_to_id="activity-1",
    )

    assert message["text"] == "<at>ChatOps</at> deploy api"
    assert message["entities"][0]["mentioned"] == {"id": "28:bot", "name": "ChatOps"}
    assert message["from"]["aadObjectId"] == USER_AAD_ID
    assert message["channelData"]["tenant"]["id"] == message["conversation"]["tenantId"]
    assert invoke["name"] == "adaptiveCard/action"
    assert invoke["value"]["action"] == {
        "type": "Action.Execute",
        "verb": "approve",
        "data": {"request_id": "r1"},
    }
    assert invoke["replyToId"] == "activity-1"


# --- Slack ---------------------------------------------------------------------


async def test_slack_sdk_posts_and_updates() -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}]
    async with FakeSlackApi(token="xoxb-good") as slack:
        client = AsyncWebClient(token="xoxb-good", base_url=slack.base_url)
        posted = await client.chat_postMessage(channel="C1", text="x", blocks=blocks)
        updated = await client.chat_update(channel="C1", ts=posted["ts"], text="y", blocks=[])
        second = await client.chat_postMessage(channel="C1", text="z")
        call = await slack.wait_for(lambda c: c.method == "chat.postMessage")

    assert posted["ok"] is True
    assert posted["channel"] == "C1"
    assert float(second["ts"]) > float(posted["ts"])
    assert updated["text"] == "y"
    assert slack.messages[("C1", posted["ts"])]["text"] == "y"
    assert call.body["blocks"] == blocks
    assert call.authorization == "Bearer xoxb-good"


async def test_slack_rejects_wrong_token() -> None:
    async with FakeSlackApi(token="xoxb-good") as slack:
        client = AsyncWebClient(token="xoxb-wrong", base_url=slack.base_url)
        with pytest.raises(SlackApiError) as error:
            await client.auth_test()

    assert error.value.response["error"] == "invalid_auth"
    assert slack.calls[0].method == "auth.test"


async def test_slack_users_info_and_form_body() -> None:
    async with FakeSlackApi(token="xoxb-good") as slack, aiohttp.ClientSession() as session:
        slack.add_user("U1", "alice", email="alice@example.com")
        client = AsyncWebClient(token="xoxb-good", base_url=slack.base_url)
        info = await client.users_info(user="U1")

        form = {"channel": "C1", "user": "U1", "text": "only you", "blocks": "[]"}
        headers = {"Authorization": "Bearer xoxb-good"}
        async with session.post(
            slack.base_url + "chat.postEphemeral", data=form, headers=headers
        ) as response:
            ephemeral = await response.json()
        call: SlackCall = await slack.wait_for(lambda c: c.method == "chat.postEphemeral")

    assert info["user"]["profile"]["email"] == "alice@example.com"
    assert ephemeral["ok"] is True
    assert "message_ts" in ephemeral
    assert call.body["blocks"] == []
    assert call.content_type == "application/x-www-form-urlencoded"


# --- Mattermost ----------------------------------------------------------------


async def test_mattermost_create_and_patch_post() -> None:
    async with FakeMattermostApi(token="mm-good") as mattermost:
        async with _mattermost_session("mm-good") as session:
            created, created_status = await _send(
                session, "POST", mattermost.url + "/api/v4/posts",
                {"channel_id": "c1", "message": "pending", "props": {"attachments": []}},
            )
            post_id = created["id"]
            patched, patched_status = await _send(
                session, "PUT", f"{mattermost.url}/api/v4/posts/{post_id}/patch",
                {"message": "approved"},
            )
            missing, missing_status = await _send(
                session, "PUT", mattermost.url + "/api/v4/posts/nope/patch", {"message": "x"}
            )
        call: MattermostCall = await mattermost.wait_for(lambda c: c.path.endswith("/patch"))

    assert created_status == 201
    assert len(post_id) == 26
    assert created["user_id"] == mattermost.bot_user_id
    assert patched_status == 200
    assert patched["message"] == "approved"
    assert patched["props"] == {"attachments": []}
    assert mattermost.posts[post_id]["message"] == "approved"
    assert missing_status == 404
    assert missing["id"] == "app.post.get.app_error"
    assert call.authorization == "Bearer mm-good"


async def test_mattermost_rejects_wrong_token() -> None:
    async with FakeMattermostApi(token="mm-good") as mattermost:
        async with _mattermost_session("mm-wrong") as session:
            body, status = await _send(session, "GET", mattermost.url + "/api/v4/users/me")
        async with _mattermost_session("mm-good") as session:
            me, me_status = await _send(session, "GET", mattermost.url + "/api/v4/users/me")

    assert status == 401
    assert body["status_code"] == 401
    assert me_status == 200
    assert me["username"] == "chatops"
    assert mattermost.calls[0].authorization == "Bearer mm-wrong"


# --- Request builders --------------------------------------------------------------


async def test_slack_signature_verifies_with_slack_sdk() -> None:
    body = slack_slash_command_body("deploy api", user_id="U1")
    headers = slack_signed_headers("secret", body)

    assert SignatureVerifier("secret").is_valid_request(body, headers)
    assert not SignatureVerifier("other").is_valid_request(body, headers)
    fields = parse_qs(body.decode())
    assert fields["text"] == ["deploy api"]
    assert fields["command"] == ["/chatops"]


async def test_interaction_bodies_parse() -> None:
    slack_body = slack_block_actions_body(
        "approve", "r1", user_id="U1", channel_id="C1", message_ts="1700000000.000100"
    )
    mattermost_form = mattermost_command_body("deploy", token="t", user_id="u1")
    mattermost_json = mattermost_action_body(
        {"request_id": "r1"}, user_id="u1", channel_id="c1", post_id="p1"
    )

    payload = json.loads(parse_qs(slack_body.decode())["payload"][0])
    assert payload["type"] == "block_actions"
    assert payload["actions"][0]["action_id"] == "approve"
    assert payload["container"]["message_ts"] == "1700000000.000100"
    assert parse_qs(mattermost_form.decode())["token"] == ["t"]
    assert json.loads(mattermost_json)["context"] == {"request_id": "r1"}


# --- Helpers -------------------------------------------------------------------


def _get_json(url: str) -> Any:
    response = requests.get(url, timeout=5)
    response.raise_for_status()
    return response.json()


def _mattermost_session(token: str) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"})


async def _send(
    session: aiohttp.ClientSession, method: str, url: str, body: Any = None
) -> tuple[Any, int]:
    async with session.request(method, url, json=body) as response:
        return await response.json(), response.status

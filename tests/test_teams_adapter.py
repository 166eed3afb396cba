"""The Teams adapter: Bot Framework token checks at /api/messages, activities, invokes and outbound calls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from cards.render_text import render_text
from store import ApprovalState
from tests.fakes.botframework import (
    FakeBotConnector,
    TokenSigner,
    activity,
    conversation_update_activity,
    installation_update_activity,
    message_activity,
)
from tests.harness import OUTBOUND_TOKEN, TEAMS_APP_ID, RunningBot, bound_socket, serve_bot
from tests.platforms import USERS, Posted, TeamsDriver

RUN_DEPLOY = "run deploy-demo version=1.2.3 --ticket CHG-101"
CONNECTOR_SCOPE = "https://api.botframework.com/.default"
REQUESTER = USERS["teams"]["requester"]
APPROVER = USERS["teams"]["approver"]


@pytest.fixture
def teams(running_bot: RunningBot, http: aiohttp.ClientSession, connector: FakeBotConnector, signer: TokenSigner) -> TeamsDriver:
    return TeamsDriver(running_bot, http, connector, signer)


def deploy_request(connector: FakeBotConnector) -> dict[str, Any]:
    """A message that creates an approval and posts a card when the bot accepts it."""
    return message_activity(RUN_DEPLOY, user_aad_id=REQUESTER, service_url=connector.url)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def assert_nothing_happened(running_bot: RunningBot, connector: FakeBotConnector) -> None:
    await running_bot.tasks.idle()
    assert connector.calls == []
    assert await running_bot.store.list_audit() == []
    assert await running_bot.store.list_approvals(ApprovalState.PENDING) == []


async def request_deploy(teams: TeamsDriver) -> Posted:
    await teams.send("requester", RUN_DEPLOY)
    return await teams.wait_post(lambda text: "Approval needed" in text)


# --- Inbound token verification -------------------------------------------------


async def test_jwt_valid_token_accepted(teams: TeamsDriver, connector: FakeBotConnector, signer: TokenSigner) -> None:
    activity_body = message_activity("help", user_aad_id=REQUESTER, service_url=connector.url)

    response = await teams.post_activity(activity_body, bearer(signer.token(TEAMS_APP_ID, connector.url)))

    assert response.status == 200
    call = await connector.wait_for(lambda call: call.method == "POST")
    assert "chatops commands" in TeamsDriver.card_text(call.body)


# Each entry builds the Authorization headers of a request that the bot must reject.
HeaderBuilder = Callable[[TokenSigner, str], dict[str, str]]

REJECTED_HEADERS: dict[str, HeaderBuilder] = {
    "wrong_audience": lambda signer, url: bearer(signer.token(TEAMS_APP_ID, url, audience="another-app-id")),
    "wrong_issuer": lambda signer, url: bearer(signer.token(TEAMS_APP_ID, url, issuer="https://issuer.invalid")),
    # botbuilder's ChannelValidation allows 300 seconds of clock skew.
    "expired": lambda signer, url: bearer(signer.token(TEAMS_APP_ID, url, expires_in=-600)),
    "unpublished_key_same_kid": lambda signer, url: bearer(TokenSigner(kid=signer.kid).token(TEAMS_APP_ID, url)),
    "unpublished_key_other_kid": lambda signer, url: bearer(TokenSigner(kid="test-key-2").token(TEAMS_APP_ID, url)),
    "unknown_kid": lambda signer, url: bearer(signer.token(TEAMS_APP_ID, url, kid="unknown")),
    "missing_header": lambda signer, url: {},
    "serviceurl_mismatch": lambda signer, url: bearer(signer.token(TEAMS_APP_ID, "http://127.0.0.1:9/other/")),
    "bearer_without_token": lambda signer, url: {"Authorization": "Bearer"},
    "basic_scheme": lambda signer, url: {"Authorization": "Basic xyz"},
}


@pytest.mark.parametrize("case", list(REJECTED_HEADERS))
async def test_jwt_rejected(
    case: str, teams: TeamsDriver, running_bot: RunningBot, connector: FakeBotConnector, signer: TokenSigner
) -> None:
    headers = REJECTED_HEADERS[case](signer, connector.url)

    response = await teams.post_activity(deploy_request(connector), headers)

    assert response.status == 401
    await assert_nothing_happened(running_bot, connector)


async def test_body_malformed_json_400(
    http: aiohttp.ClientSession, running_bot: RunningBot, connector: FakeBotConnector, signer: TokenSigner
) -> None:
    headers = {**bearer(signer.token(TEAMS_APP_ID, connector.url)), "Content-Type": "application/json"}

    response = await http.post(f"{running_bot.url}/api/messages", data=b'{"type": "message", "text": ', headers=headers)

    assert response.status == 400
    await assert_nothing_happened(running_bot, connector)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"type=message&text=help", "application/x-www-form-urlencoded"),
        (b"<activity><text>help</text></activity>", "application/xml"),
        (b'["message", "help"]', "application/json"),
        (b'"help"', "application/json"),
    ],
    ids=["form", "xml", "json_array", "json_string"],
)
async def test_body_not_activity_never_dispatched(
    body: bytes,
    content_type: str,
    http: aiohttp.ClientSession,
    running_bot: RunningBot,
    connector: FakeBotConnector,
    signer: TokenSigner,
) -> None:
    headers = {**bearer(signer.token(TEAMS_APP_ID, connector.url)), "Content-Type": content_type}

    response = await http.post(f"{running_bot.url}/api/messages", data=body, headers=headers)

    assert response.status == 400
    await assert_nothing_happened(running_bot, connector)


# --- Activities --------------------------------------------------------------------


async def test_message_mention_stripped(teams: TeamsDriver, running_bot: RunningBot, connector: FakeBotConnector) -> None:
    activity_body = message_activity("help", user_aad_id=REQUESTER, service_url=connector.url)
    assert activity_body["text"] == "<at>ChatOps</at> help"

    await teams.post_activity(activity_body)
    call = await connector.wait_for(lambda call: call.method == "POST")
    await running_bot.tasks.idle()

    assert "chatops commands" in TeamsDriver.card_text(call.body)
    (row,) = await running_bot.store.list_audit()
    assert row.command == "help"
    assert row.decision == "allowed"


async def test_outbound_bearer_token_and_scope(
    teams: TeamsDriver, running_bot: RunningBot, connector: FakeBotConnector
) -> None:
    await teams.send("requester", "help")
    call = await connector.wait_for(lambda call: call.method == "POST")

    assert call.authorization == f"Bearer {OUTBOUND_TOKEN}"
    assert CONNECTOR_SCOPE in running_bot.credential.scopes


@pytest.mark.parametrize(
    "build",
    [
        lambda url, conversation_id: conversation_update_activity(
            user_aad_id=REQUESTER, service_url=url, conversation_id=conversation_id
        ),
        lambda url, conversation_id: installation_update_activity(
            "add", user_aad_id=REQUESTER, service_url=url, conversation_id=conversation_id
        ),
    ],
    ids=["conversation_update", "installation_update"],
)
async def test_update_stores_conversation_reference(
    build: Callable[[str, str], dict[str, Any]], teams: TeamsDriver, running_bot: RunningBot, connector: FakeBotConnector
) -> None:
    conversation_id = "19:stored@thread.tacv2"
    assert await running_bot.store.get_conversation_ref("teams", conversation_id) is None

    response = await teams.post_activity(build(connector.url, conversation_id))
    await running_bot.tasks.idle()

    assert response.status == 200
    reference = await running_bot.store.get_conversation_ref("teams", conversation_id)
    assert reference is not None
    assert reference["serviceUrl"] == connector.url
    assert reference["conversation"]["id"] == conversation_id
    assert connector.calls == []


# --- Card actions ----------------------------------------------------------------


async def test_invoke_approve_returns_card(teams: TeamsDriver) -> None:
    posted = await request_deploy(teams)

    status = await teams.click("approver", posted, "approve")

    assert status == 200
    answer = teams.last_invoke
    assert answer is not None
    assert answer["statusCode"] == 200
    assert answer["type"] == "application/vnd.microsoft.card.adaptive"
    assert answer["value"]["type"] == "AdaptiveCard"
    assert "Approved" in render_text(answer["value"])
    assert "Approval needed" not in render_text(answer["value"])


async def test_submit_fallback_approves_and_puts_card(
    teams: TeamsDriver, running_bot: RunningBot, connector: FakeBotConnector
) -> None:
    posted = await request_deploy(teams)

    status = await teams.submit("approver", posted, "approve")
    final = await teams.wait_update(posted, lambda text: "succeeded" in text)
    await running_bot.tasks.idle()

    assert status == 200
    assert "Approved" in final
    puts = [call for call in connector.calls if call.method == "PUT"]
    assert puts
    assert all(call.activity_id == posted.message_id for call in puts)
    approvals = await running_bot.store.list_approvals(ApprovalState.SUCCEEDED)
    assert [approval.decided_by for approval in approvals] == ["demo-approver"]


async def test_invoke_unknown_name_not_implemented(
    teams: TeamsDriver, running_bot: RunningBot, connector: FakeBotConnector
) -> None:
    invoke = activity("invoke", user_aad_id=APPROVER, service_url=connector.url)
    invoke["name"] = "composeExtension/query"
    invoke["value"] = {"commandId": "search", "parameters": [{"name": "query", "value": "deploy"}]}

    response = await teams.post_activity(invoke)

    assert response.status == 501
    await assert_nothing_happened(running_bot, connector)


# --- serviceUrl checks ----------------------------------------------------------


@pytest.mark.parametrize("service_url", ["", "ftp://127.0.0.1/", "not a url"], ids=["empty", "ftp", "no-scheme"])
async def test_service_url_invalid_400(
    teams: TeamsDriver, running_bot: RunningBot, connector: FakeBotConnector, service_url: str
) -> None:
    body = message_activity("help", user_aad_id=REQUESTER, service_url=service_url)

    response = await teams.post_activity(body)

    assert response.status == 400
    await assert_nothing_happened(running_bot, connector)


async def dev_bot(tmp_path, openid) -> tuple[Any, RunningBot]:
    environ = {"CHATOPS_TEAMS_OPENID_METADATA_URL": openid.metadata_url}
    return await serve_bot(environ, tmp_path, bound_socket(), dev=True)


async def test_dev_mode_rejects_remote_service_url(tmp_path, openid, http: aiohttp.ClientSession) -> None:
    runner, running = await dev_bot(tmp_path, openid)
    try:
        body = message_activity("help", user_aad_id=REQUESTER, service_url="https://smba.trafficmanager.net/emea/")
        async with http.post(f"{running.url}/api/messages", json=body) as response:
            status = await response.json(), response.status
        rows = await running.store.list_audit()
    finally:
        await runner.cleanup()

    assert status[1] == 400
    assert "loopback" in status[0]["error"]
    assert rows == []


async def test_dev_mode_accepts_loopback_without_token(
    tmp_path, openid, http: aiohttp.ClientSession, connector: FakeBotConnector
) -> None:
    runner, running = await dev_bot(tmp_path, openid)
    try:
        body = message_activity("whoami", user_aad_id=REQUESTER, service_url=connector.url)
        async with http.post(f"{running.url}/api/messages", json=body) as response:
            status = response.status
        call = await connector.wait_for(lambda call: call.method == "POST")
        await running.tasks.idle()
    finally:
        await runner.cleanup()

    assert status == 200
    assert call.authorization is None
    assert "demo-requester" in render_text(call.body["attachments"][0]["content"])

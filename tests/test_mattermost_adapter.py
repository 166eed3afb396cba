"""The Mattermost adapter: slash command tokens, signed button context and action responses."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode

import aiohttp
import pytest

from adapters.mattermost.context import sign_context
from store import ApprovalState
from tests.fakes.mattermost_api import FakeMattermostApi
from tests.fakes.signing import FORM_CONTENT_TYPE, mattermost_command_body
from tests.harness import MATTERMOST_COMMAND_TOKEN, RunningBot
from tests.platforms import USERS, MattermostDriver, Posted

RUN_DEPLOY = "run deploy-demo version=1.2.3 --ticket CHG-101"
REQUESTER = USERS["mattermost"]["requester"]


@pytest.fixture
def mattermost(running_bot: RunningBot, http: aiohttp.ClientSession, mattermost_api: FakeMattermostApi) -> MattermostDriver:
    return MattermostDriver(running_bot, http, mattermost_api)


def command_body(text: str, token: str | None) -> bytes:
    """A slash command body as Mattermost sends it, without the `token` field when `token` is None."""
    body = mattermost_command_body(text, token=token or "", user_id=REQUESTER, channel_id=MattermostDriver.channel)
    if token is not None:
        return body
    fields = parse_qsl(body.decode(), keep_blank_values=True)
    return urlencode([(key, value) for key, value in fields if key != "token"]).encode()


async def post_command(
    http: aiohttp.ClientSession, running_bot: RunningBot, body: bytes, authorization: str | None
) -> aiohttp.ClientResponse:
    headers = {"Content-Type": FORM_CONTENT_TYPE}
    if authorization is not None:
        headers["Authorization"] = authorization
    response = await http.post(f"{running_bot.url}/mattermost/command", data=body, headers=headers)
    await response.read()
    return response


async def request_deploy(mattermost: MattermostDriver) -> Posted:
    await mattermost.send("requester", RUN_DEPLOY)
    return await mattermost.wait_post(lambda text: "Approval needed" in text)


def is_patch(posted: Posted) -> Callable[[Any], bool]:
    return lambda call: call.method == "PUT" and call.path == f"/api/v4/posts/{posted.message_id}/patch"


# --- Slash command token -------------------------------------------------------------


@pytest.mark.parametrize(
    ("body_token", "authorization"),
    [
        ("wrong-command-token", None),
        (None, "Token wrong-command-token"),
        ("", None),
        (None, None),
    ],
    ids=["body_wrong", "header_wrong", "body_empty", "missing"],
)
async def test_command_token_rejected(
    body_token: str | None,
    authorization: str | None,
    http: aiohttp.ClientSession,
    running_bot: RunningBot,
    mattermost_api: FakeMattermostApi,
) -> None:
    response = await post_command(http, running_bot, command_body(RUN_DEPLOY, body_token), authorization)
    await running_bot.tasks.idle()

    assert response.status == 401
    assert mattermost_api.calls == []
    assert await running_bot.store.list_audit() == []
    assert await running_bot.store.list_approvals(ApprovalState.PENDING) == []


async def test_command_body_token_accepted(
    http: aiohttp.ClientSession, running_bot: RunningBot, mattermost_api: FakeMattermostApi
) -> None:
    response = await post_command(http, running_bot, command_body("help", MATTERMOST_COMMAND_TOKEN), None)
    call = await mattermost_api.wait_for(lambda call: call.method == "POST" and call.path.startswith("/api/v4/posts"))

    assert response.status == 200
    assert "chatops commands" in MattermostDriver.post_text(call.body.get("post") or call.body)


async def test_command_header_token_accepted(
    http: aiohttp.ClientSession, running_bot: RunningBot, mattermost_api: FakeMattermostApi
) -> None:
    body = command_body("help", None)
    assert b"token=" not in body

    response = await post_command(http, running_bot, body, f"Token {MATTERMOST_COMMAND_TOKEN}")
    call = await mattermost_api.wait_for(lambda call: call.method == "POST" and call.path.startswith("/api/v4/posts"))

    assert response.status == 200
    assert "chatops commands" in MattermostDriver.post_text(call.body.get("post") or call.body)


# --- Button context signature --------------------------------------------------------


def changed_approval_id(context: dict[str, Any], reject: dict[str, Any]) -> dict[str, Any]:
    context["data"]["approval_id"] = "0123456789ab"
    return context


def changed_verb(context: dict[str, Any], reject: dict[str, Any]) -> dict[str, Any]:
    # The Reject button's context turned into an approval.
    reject["verb"] = "approve"
    return reject


def added_key(context: dict[str, Any], reject: dict[str, Any]) -> dict[str, Any]:
    context["data"]["reason"] = "added by the client"
    return context


def added_top_level_key(context: dict[str, Any], reject: dict[str, Any]) -> dict[str, Any]:
    context["user_id"] = USERS["mattermost"]["approver"]
    return context


def removed_key(context: dict[str, Any], reject: dict[str, Any]) -> dict[str, Any]:
    del context["data"]
    return context


def missing_signature(context: dict[str, Any], reject: dict[str, Any]) -> dict[str, Any]:
    del context["signature"]
    return context


def other_key_signature(context: dict[str, Any], reject: dict[str, Any]) -> dict[str, Any]:
    unsigned = {key: value for key, value in context.items() if key != "signature"}
    return sign_context(unsigned, b"another-signing-key-0123456789abcdef")


def signature_not_text(context: dict[str, Any], reject: dict[str, Any]) -> dict[str, Any]:
    context["signature"] = None
    return context


@pytest.mark.parametrize(
    "tamper",
    [
        changed_approval_id,
        changed_verb,
        added_key,
        added_top_level_key,
        removed_key,
        missing_signature,
        other_key_signature,
        signature_not_text,
    ],
    ids=lambda tamper: tamper.__name__,
)
async def test_context_tampered_rejected(
    tamper: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]],
    mattermost: MattermostDriver,
    running_bot: RunningBot,
    mattermost_api: FakeMattermostApi,
) -> None:
    posted = await request_deploy(mattermost)
    await running_bot.tasks.idle()
    approve = copy.deepcopy(mattermost.button(posted, "approve")["integration"]["context"])
    reject = copy.deepcopy(mattermost.button(posted, "reject")["integration"]["context"])
    calls_before = len(mattermost_api.calls)
    audit_before = await running_bot.store.list_audit()

    response = await mattermost.post_action("approver", posted, tamper(approve, reject))
    await running_bot.tasks.idle()

    assert response.status == 401
    assert "update" not in await response.json()
    assert len(mattermost_api.calls) == calls_before
    assert await running_bot.store.list_audit() == audit_before
    (pending,) = await running_bot.store.list_approvals(ApprovalState.PENDING)
    assert pending.approvers == []


# --- Buttons and action responses ----------------------------------------------------


async def test_button_integration_url(mattermost: MattermostDriver, running_bot: RunningBot) -> None:
    posted = await request_deploy(mattermost)

    assert mattermost.button(posted, "approve")["integration"]["url"] == f"{running_bot.url}/mattermost/action"
    assert mattermost.button(posted, "reject")["integration"]["url"] == f"{running_bot.url}/mattermost/action"


async def test_action_approve_update_then_patch(
    mattermost: MattermostDriver, running_bot: RunningBot, mattermost_api: FakeMattermostApi
) -> None:
    posted = await request_deploy(mattermost)

    status = await mattermost.click("approver", posted, "approve")
    patch = await mattermost_api.wait_for(
        lambda call: is_patch(posted)(call) and "succeeded" in MattermostDriver.post_text(call.body)
    )

    assert status == 200
    answer = mattermost.action_answers[-1]
    assert "update" in answer
    updated = MattermostDriver.post_text(answer["update"])
    assert "Approved" in updated
    assert "Approval needed" not in updated
    assert "Approved" in MattermostDriver.post_text(patch.body)
    assert "demo-approver" in MattermostDriver.post_text(patch.body)


async def test_action_self_approval_rejected(
    mattermost: MattermostDriver, running_bot: RunningBot, mattermost_api: FakeMattermostApi
) -> None:
    posted = await request_deploy(mattermost)

    status = await mattermost.click("requester", posted, "approve")
    await running_bot.tasks.idle()

    assert status == 200
    answer = mattermost.action_answers[-1]
    assert "can't approve your own request" in answer.get("ephemeral_text", "")
    assert mattermost_api.log.matching(is_patch(posted)) == []
    (pending,) = await running_bot.store.list_approvals(ApprovalState.PENDING)
    assert pending.approvers == []
    rows = await running_bot.store.list_audit()
    assert rows[-1].decision == "denied"
    assert rows[-1].person == "demo-requester"

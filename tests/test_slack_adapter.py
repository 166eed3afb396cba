"""The Slack adapter: request signatures, the Events API, slash commands and button clicks at /slack/events."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from adapters.turn import Turn
from store import ApprovalState
from tests.fakes.signing import (
    FORM_CONTENT_TYPE,
    JSON_CONTENT_TYPE,
    slack_app_mention_event,
    slack_block_actions_body,
    slack_dm_event,
    slack_event_body,
    slack_signed_headers,
    slack_slash_command_body,
    slack_url_verification_body,
)
from tests.fakes.slack_api import FakeSlackApi, SlackCall
from tests.harness import SLACK_SIGNING_SECRET, RunningBot
from tests.platforms import USERS, Posted, SlackDriver

RUN_DEPLOY = "run deploy-demo version=1.2.3 --ticket CHG-101"
REQUESTER = USERS["slack"]["requester"]
APPROVER = USERS["slack"]["approver"]
REPLY_METHODS = ("chat.postMessage", "chat.postEphemeral")


@pytest.fixture
def slack(running_bot: RunningBot, http: aiohttp.ClientSession, slack_api: FakeSlackApi) -> SlackDriver:
    return SlackDriver(running_bot, http, slack_api)


def is_reply(call: SlackCall) -> bool:
    return call.method in REPLY_METHODS


def deploy_command() -> bytes:
    """A slash command that creates an approval and posts a card when the bot accepts it."""
    return slack_slash_command_body(RUN_DEPLOY, user_id=REQUESTER, channel_id=SlackDriver.channel)


async def assert_nothing_happened(running_bot: RunningBot, slack_api: FakeSlackApi) -> None:
    await running_bot.tasks.idle()
    assert slack_api.calls == []
    assert await running_bot.store.list_audit() == []
    assert await running_bot.store.list_approvals(ApprovalState.PENDING) == []


# --- Signature verification ------------------------------------------------------


async def test_signature_valid_accepted(slack: SlackDriver, slack_api: FakeSlackApi) -> None:
    response = await slack.post_signed(deploy_command(), FORM_CONTENT_TYPE)

    assert response.status == 200
    call = await slack_api.wait_for(lambda call: call.method == "chat.postMessage")
    assert "Approval needed" in SlackDriver.message_text(call.body)


def stale_headers(body: bytes) -> dict[str, str]:
    # Six minutes old: SignatureVerifier rejects timestamps more than five minutes away from now.
    return slack_signed_headers(SLACK_SIGNING_SECRET, body, timestamp=int(time.time()) - 360)


def future_headers(body: bytes) -> dict[str, str]:
    return slack_signed_headers(SLACK_SIGNING_SECRET, body, timestamp=int(time.time()) + 360)


def wrong_secret_headers(body: bytes) -> dict[str, str]:
    return slack_signed_headers("another-signing-secret-9876543210", body)


def tampered_body_headers(body: bytes) -> dict[str, str]:
    return slack_signed_headers(SLACK_SIGNING_SECRET, body.replace(b"1.2.3", b"1.2.4"))


def missing_signature_headers(body: bytes) -> dict[str, str]:
    headers = slack_signed_headers(SLACK_SIGNING_SECRET, body)
    del headers["X-Slack-Signature"]
    return headers


def missing_timestamp_headers(body: bytes) -> dict[str, str]:
    headers = slack_signed_headers(SLACK_SIGNING_SECRET, body)
    del headers["X-Slack-Request-Timestamp"]
    return headers


def non_numeric_timestamp_headers(body: bytes) -> dict[str, str]:
    headers = slack_signed_headers(SLACK_SIGNING_SECRET, body)
    headers["X-Slack-Request-Timestamp"] = "yesterday"
    return headers


@pytest.mark.parametrize(
    "build_headers",
    [
        wrong_secret_headers,
        tampered_body_headers,
        stale_headers,
        future_headers,
        missing_signature_headers,
        missing_timestamp_headers,
        non_numeric_timestamp_headers,
    ],
    ids=lambda build: build.__name__.removesuffix("_headers"),
)
async def test_signature_rejected(
    build_headers: Callable[[bytes], dict[str, str]], slack: SlackDriver, running_bot: RunningBot, slack_api: FakeSlackApi
) -> None:
    body = deploy_command()

    response = await slack.post_signed(body, FORM_CONTENT_TYPE, headers=build_headers(body))

    assert response.status == 401
    await assert_nothing_happened(running_bot, slack_api)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"type": "event_callback", "event": ', JSON_CONTENT_TYPE),
        (b'["event_callback"]', JSON_CONTENT_TYPE),
        (b"payload=%7Bnot+json", FORM_CONTENT_TYPE),
        (b"text=help&user_id=U0DEMOREQ", FORM_CONTENT_TYPE),
    ],
    ids=["truncated_json", "json_array", "payload_not_json", "form_without_command"],
)
async def test_body_malformed_400(
    body: bytes, content_type: str, slack: SlackDriver, running_bot: RunningBot, slack_api: FakeSlackApi
) -> None:
    response = await slack.post_signed(body, content_type)

    assert response.status == 400
    await assert_nothing_happened(running_bot, slack_api)


async def test_body_not_utf8_401(slack: SlackDriver, running_bot: RunningBot, slack_api: FakeSlackApi) -> None:
    # slack_sdk computes signatures over text, so a body that is not UTF-8 cannot be verified.
    body = b"command=%2Fchatops&text=\xff\xfe&user_id=U0DEMOREQ&channel_id=C0DEMO"

    response = await slack.post_signed(body, FORM_CONTENT_TYPE)

    assert response.status == 401
    await assert_nothing_happened(running_bot, slack_api)


# --- Events API --------------------------------------------------------------------


async def test_url_verification_challenge(slack: SlackDriver, running_bot: RunningBot, slack_api: FakeSlackApi) -> None:
    challenge = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"

    response = await slack.post_signed(slack_url_verification_body(challenge), JSON_CONTENT_TYPE)

    assert response.status == 200
    assert await response.json() == {"challenge": challenge}
    await assert_nothing_happened(running_bot, slack_api)


@pytest.mark.parametrize(
    ("event", "channel"),
    [
        (slack_app_mention_event("help", REQUESTER, channel="C0DEMO"), "C0DEMO"),
        (slack_dm_event("help", REQUESTER, channel="D0DEMO"), "D0DEMO"),
    ],
    ids=["app_mention", "message_im"],
)
async def test_event_gets_reply(
    event: dict[str, Any], channel: str, slack: SlackDriver, running_bot: RunningBot, slack_api: FakeSlackApi
) -> None:
    response = await slack.post_signed(slack_event_body(event, event_id="Ev0REPLY"), JSON_CONTENT_TYPE)
    call = await slack_api.wait_for(is_reply)

    assert response.status == 200
    assert call.body["channel"] == channel
    assert "chatops commands" in SlackDriver.message_text(call.body)
    assert call.authorization == "Bearer xoxb-test"


async def test_event_retry_handled_once(slack: SlackDriver, running_bot: RunningBot, slack_api: FakeSlackApi) -> None:
    body = slack_event_body(slack_app_mention_event("help", REQUESTER), event_id="Ev0RETRY")
    retry_headers = {
        **slack_signed_headers(SLACK_SIGNING_SECRET, body),
        "X-Slack-Retry-Num": "1",
        "X-Slack-Retry-Reason": "http_timeout",
    }

    first = await slack.post_signed(body, JSON_CONTENT_TYPE)
    retry = await slack.post_signed(body, JSON_CONTENT_TYPE, headers=retry_headers)
    await running_bot.tasks.idle()

    assert first.status == 200
    assert retry.status == 200
    assert len(slack_api.log.matching(is_reply)) == 1
    assert len(await running_bot.store.list_audit()) == 1


@pytest.mark.parametrize(
    "event",
    [
        {**slack_app_mention_event("help", REQUESTER), "bot_id": "B0OTHER"},
        {**slack_dm_event("help", REQUESTER), "bot_id": "B0OTHER"},
    ],
    ids=["app_mention", "message_im"],
)
async def test_event_from_bot_ignored(
    event: dict[str, Any], slack: SlackDriver, running_bot: RunningBot, slack_api: FakeSlackApi
) -> None:
    response = await slack.post_signed(slack_event_body(event, event_id="Ev0BOT"), JSON_CONTENT_TYPE)

    assert response.status == 200
    await assert_nothing_happened(running_bot, slack_api)


# --- Slash commands ----------------------------------------------------------------


async def test_slash_command_ack_empty_before_reply(
    slack: SlackDriver, running_bot: RunningBot, slack_api: FakeSlackApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The dialogs start only once the acknowledgement has arrived, so the acknowledgement cannot wait for them.
    acknowledged = asyncio.Event()
    handle_turn = running_bot.bot.handle_turn

    async def gated_handle_turn(turn: Turn) -> None:
        await acknowledged.wait()
        await handle_turn(turn)

    monkeypatch.setattr(running_bot.bot, "handle_turn", gated_handle_turn)
    body = slack_slash_command_body("help", user_id=REQUESTER, channel_id=SlackDriver.channel)

    try:
        # Slack shows a timeout error when the acknowledgement takes longer than 3 seconds.
        async with asyncio.timeout(3):
            response = await slack.post_signed(body, FORM_CONTENT_TYPE)
    finally:
        acknowledged.set()
    call = await slack_api.wait_for(is_reply)

    assert response.status == 200
    assert await response.read() == b""
    assert "chatops commands" in SlackDriver.message_text(call.body)


# --- Button clicks -------------------------------------------------------------------


async def test_click_unknown_verb_rejected(slack: SlackDriver, running_bot: RunningBot, slack_api: FakeSlackApi) -> None:
    await slack.send("requester", RUN_DEPLOY)
    posted: Posted = await slack.wait_post(lambda text: "Approval needed" in text)
    (approval,) = await running_bot.store.list_approvals(ApprovalState.PENDING)
    value = json.dumps({"verb": "launch", "data": {"approval_id": approval.id}})
    body = slack_block_actions_body(
        "launch", value, user_id=APPROVER, channel_id=SlackDriver.channel, message_ts=posted.message_id
    )

    response = await slack.post_signed(body, FORM_CONTENT_TYPE)
    notice = await slack_api.wait_for(lambda call: call.method == "chat.postEphemeral")
    await running_bot.tasks.idle()

    assert response.status == 200
    assert "not known to the bot" in SlackDriver.message_text(notice.body)
    assert notice.body["user"] == APPROVER
    rows = await running_bot.store.list_audit()
    assert rows[-1].decision == "denied"
    assert rows[-1].result == "unknown verb"
    assert slack.updates(posted) == []
    stored = await running_bot.store.get_approval(approval.id)
    assert stored.state is ApprovalState.PENDING

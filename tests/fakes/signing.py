"""Inbound request bodies and headers built the way Slack and Mattermost send them.

The Slack slash command fields match the `SlashCommand` type in the Bolt for
JavaScript reference on docs.slack.dev.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import secrets
import time
from typing import Any
from urllib.parse import urlencode

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
JSON_CONTENT_TYPE = "application/json"

SLACK_TEAM_ID = "T0DEMO"
SLACK_TEAM_DOMAIN = "demo"
SLACK_API_APP_ID = "A0DEMO"
SLACK_BOT_USER_ID = "UBOT"
# Slack still sends the deprecated verification token in every payload.
SLACK_VERIFICATION_TOKEN = "verification-token"

MATTERMOST_TEAM_ID = "mmteam00000000000000000000"
MATTERMOST_CHANNEL_ID = "mmchannel00000000000000000"

# Nothing listens on port 9 (discard) of the loopback address, so a bot that
# posts to a default response_url fails fast and never leaves the machine.
# Pass FakeSlackApi.response_url() or FakeMattermostApi.response_url() to
# record those posts.
UNSET_RESPONSE_URL = "http://127.0.0.1:9/response-url-not-set"

_ts_counter = itertools.count(1)


def _new_slack_ts() -> str:
    return f"{int(time.time())}.{next(_ts_counter):06d}"


def _new_trigger_id() -> str:
    return f"{secrets.randbelow(10**11)}.{secrets.randbelow(10**9)}.{secrets.token_hex(16)}"


# --- Slack -------------------------------------------------------------------


def slack_signature(signing_secret: str, body: bytes, timestamp: int) -> str:
    """Return `v0=` and the hex HMAC-SHA256 of `v0:{timestamp}:{body}`, as Slack signs requests."""
    base = b"v0:" + str(timestamp).encode() + b":" + body
    digest = hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()
    return "v0=" + digest


def slack_signed_headers(
    signing_secret: str, body: bytes, timestamp: int | None = None
) -> dict[str, str]:
    """Build `X-Slack-Request-Timestamp` and `X-Slack-Signature` for `body`.

    `timestamp` is in Unix seconds and defaults to now. The caller sets Content-Type.
    """
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": slack_signature(signing_secret, body, ts),
    }


def slack_slash_command_body(
    text: str,
    *,
    user_id: str,
    channel_id: str = "C0DEMO",
    command: str = "/chatops",
    team_id: str = SLACK_TEAM_ID,
    user_name: str = "demo",
    channel_name: str = "ops",
    response_url: str = UNSET_RESPONSE_URL,
) -> bytes:
    """Build a form-encoded slash command body."""
    fields = {
        "token": SLACK_VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": SLACK_TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": SLACK_API_APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": _new_trigger_id(),
    }
    return urlencode(fields).encode()


def slack_event_body(
    event: dict[str, Any], *, event_id: str, team_id: str = SLACK_TEAM_ID
) -> bytes:
    """Build a JSON `event_callback` body wrapping `event`."""
    payload = {
        "token": SLACK_VERIFICATION_TOKEN,
        "team_id": team_id,
        "api_app_id": SLACK_API_APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "authorizations": [
            {
                "team_id": team_id,
                "user_id": SLACK_BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
    }
    return json.dumps(payload).encode()


def slack_url_verification_body(challenge: str) -> bytes:
    """Build the JSON `url_verification` body Slack sends when an Events API URL is saved."""
    payload = {"token": SLACK_VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
    return json.dumps(payload).encode()


def slack_app_mention_event(
    text: str, user_id: str, channel: str = "C0DEMO", bot_user_id: str = SLACK_BOT_USER_ID
) -> dict[str, Any]:
    """Build an `app_mention` event whose text starts with `<@bot_user_id> `."""
    ts = _new_slack_ts()
    return {
        "type": "app_mention",
        "user": user_id,
        "text": f"<@{bot_user_id}> {text}",
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
    }


def slack_dm_event(text: str, user_id: str, channel: str = "D0DEMO") -> dict[str, Any]:
    """Build a `message` event from a direct message with the bot (`channel_type: "im"`)."""
    ts = _new_slack_ts()
    return {
        "type": "message",
        "channel_type": "im",
        "user": user_id,
        "text": text,
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
    }


def slack_block_actions_body(
    action_id: str,
    value: str,
    *,
    user_id: str,
    channel_id: str,
    message_ts: str,
    block_id: str = "approval",
    user_name: str = "demo",
    channel_name: str = "ops",
    button_text: str = "Approve",
    response_url: str = UNSET_RESPONSE_URL,
) -> bytes:
    """Build a form-encoded `payload=<json>` body for a `block_actions` button click."""
    payload = {
        "type": "block_actions",
        "user": {"id": user_id, "username": user_name, "name": user_name, "team_id": SLACK_TEAM_ID},
        "api_app_id": SLACK_API_APP_ID,
        "token": SLACK_VERIFICATION_TOKEN,
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        },
        "trigger_id": _new_trigger_id(),
        "team": {"id": SLACK_TEAM_ID, "domain": SLACK_TEAM_DOMAIN},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": channel_name},
        "message": {
            "type": "message",
            "user": SLACK_BOT_USER_ID,
            "ts": message_ts,
            "text": "",
            "blocks": [],
        },
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": block_id,
                "value": value,
                "text": {"type": "plain_text", "text": button_text, "emoji": True},
                "action_ts": _new_slack_ts(),
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


# --- Mattermost ----------------------------------------------------------------


def mattermost_command_headers(token: str) -> dict[str, str]:
    """Build the headers of a Mattermost slash command request: `Authorization: Token <token>` and Content-Type."""
    return {"Authorization": f"Token {token}", "Content-Type": FORM_CONTENT_TYPE}


def mattermost_command_body(
    text: str,
    *,
    token: str,
    user_id: str,
    channel_id: str = MATTERMOST_CHANNEL_ID,
    command: str = "/chatops",
    team_id: str = MATTERMOST_TEAM_ID,
    user_name: str = "demo",
    channel_name: str = "ops",
    team_domain: str = "demo",
    response_url: str = UNSET_RESPONSE_URL,
) -> bytes:
    """Build a form-encoded Mattermost slash command body. `token` is the slash command's token."""
    fields = {
        "token": token,
        "team_id": team_id,
        "team_domain": team_domain,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "response_url": response_url,
        "trigger_id": secrets.token_urlsafe(32),
    }
    return urlencode(fields).encode()


def mattermost_action_body(
    context: dict[str, Any],
    *,
    user_id: str,
    channel_id: str,
    post_id: str,
    user_name: str = "demo",
    channel_name: str = "ops",
    team_id: str = MATTERMOST_TEAM_ID,
    team_domain: str = "demo",
) -> bytes:
    """Build the JSON body Mattermost posts to an interactive button's integration URL.

    `context` is the button's `integration.context`, returned unchanged.
    """
    payload = {
        "user_id": user_id,
        "user_name": user_name,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "team_id": team_id,
        "team_domain": team_domain,
        "post_id": post_id,
        "trigger_id": secrets.token_urlsafe(32),
        "type": "",
        "data_source": "",
        "context": context,
    }
    return json.dumps(payload).encode()

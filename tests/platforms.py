"""One driver per platform, so a scenario is written once and run on Teams, Slack and Mattermost.

A driver sends requests to the bot as the platform builds them and reads what
the bot posted from the platform's fake server.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Protocol

import aiohttp

from cards.render_text import render_text
from tests.fakes.botframework import (
    FakeBotConnector,
    TokenSigner,
    invoke_action_activity,
    message_activity,
    submit_activity,
)
from tests.fakes.mattermost_api import FakeMattermostApi
from tests.fakes.signing import (
    FORM_CONTENT_TYPE,
    JSON_CONTENT_TYPE,
    mattermost_action_body,
    mattermost_command_body,
    slack_block_actions_body,
    slack_signed_headers,
    slack_slash_command_body,
)
from tests.fakes.slack_api import FakeSlackApi
from tests.harness import MATTERMOST_COMMAND_TOKEN, SLACK_SIGNING_SECRET, TEAMS_APP_ID, RunningBot

USERS = {
    "teams": {
        "requester": "00000000-0000-0000-0000-0000000000a1",
        "approver": "00000000-0000-0000-0000-0000000000a2",
        "stranger": "00000000-0000-0000-0000-0000000000ff",
    },
    "slack": {"requester": "U0DEMOREQ", "approver": "U0DEMOAPP", "stranger": "U0STRANGER"},
    "mattermost": {
        "requester": "demorequester000000000000a",
        "approver": "demoapprover0000000000000a",
        "stranger": "stranger00000000000000000a",
    },
}


@dataclass
class Posted:
    """A message the bot posted: its id on the platform and its visible text."""

    message_id: str
    text: str
    raw: Any


class Driver(Protocol):
    name: str

    async def send(self, role: str, text: str) -> None: ...
    async def wait_post(self, predicate: Callable[[str], bool]) -> Posted: ...
    async def click(self, role: str, posted: Posted, verb: str, extra: dict[str, Any] | None = None) -> int: ...
    async def wait_update(self, posted: Posted, predicate: Callable[[str], bool]) -> str: ...
    def updates(self, posted: Posted) -> list[str]: ...
    def private_texts(self) -> list[str]: ...


def _texts(value: Any) -> list[str]:
    """Collect every string under a `text`, `title`, `value` or `message` key, in order."""
    found: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("text", "title", "value", "message", "name") and isinstance(item, str):
                found.append(item)
            else:
                found.extend(_texts(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(_texts(item))
    return found


class TeamsDriver:
    name = "teams"

    def __init__(self, bot: RunningBot, http: aiohttp.ClientSession, connector: FakeBotConnector, signer: TokenSigner) -> None:
        self.bot, self.http, self.connector, self.signer = bot, http, connector, signer
        self.last_invoke: dict[str, Any] | None = None

    def _headers(self) -> dict[str, str]:
        token = self.signer.token(TEAMS_APP_ID, self.connector.url)
        return {"Authorization": f"Bearer {token}"}

    async def post_activity(self, activity: dict[str, Any], headers: dict[str, str] | None = None) -> aiohttp.ClientResponse:
        response = await self.http.post(
            f"{self.bot.url}/api/messages", json=activity, headers=self._headers() if headers is None else headers
        )
        await response.read()
        return response

    async def send(self, role: str, text: str) -> None:
        activity = message_activity(text, user_aad_id=USERS["teams"][role], service_url=self.connector.url)
        response = await self.post_activity(activity)
        assert response.status == 200, await response.text()

    @staticmethod
    def card_text(body: dict[str, Any]) -> str:
        attachments = body.get("attachments") or []
        if not attachments:
            return body.get("text") or ""
        return render_text(attachments[0]["content"])

    async def wait_post(self, predicate: Callable[[str], bool]) -> Posted:
        call = await self.connector.wait_for(
            lambda call: call.method == "POST" and predicate(self.card_text(call.body))
        )
        index = self.connector.calls.index(call)
        # The fake returns activity ids in order: activity-1 for the first post, and so on.
        message_id = f"activity-{sum(1 for earlier in self.connector.calls[: index + 1] if earlier.method == 'POST')}"
        return Posted(message_id=message_id, text=self.card_text(call.body), raw=call.body)

    async def click(self, role: str, posted: Posted, verb: str, extra: dict[str, Any] | None = None) -> int:
        data = {**self._action_data(posted, verb), **(extra or {})}
        activity = invoke_action_activity(
            verb, data, user_aad_id=USERS["teams"][role], service_url=self.connector.url, reply_to_id=posted.message_id
        )
        response = await self.http.post(f"{self.bot.url}/api/messages", json=activity, headers=self._headers())
        self.last_invoke = await response.json() if response.status == 200 else None
        return response.status

    async def submit(self, role: str, posted: Posted, verb: str) -> int:
        data = {"verb": verb, **self._action_data(posted, verb)}
        activity = submit_activity(
            data, user_aad_id=USERS["teams"][role], service_url=self.connector.url, reply_to_id=posted.message_id
        )
        response = await self.post_activity(activity)
        return response.status

    @staticmethod
    def _action_data(posted: Posted, verb: str) -> dict[str, Any]:
        card = posted.raw["attachments"][0]["content"]
        for action in card.get("actions", []):
            if action.get("verb") == verb:
                return dict(action["data"])
        raise AssertionError(f"the card has no {verb} button: {card.get('actions')}")

    def updates(self, posted: Posted) -> list[str]:
        return [
            self.card_text(call.body)
            for call in self.connector.calls
            if call.method == "PUT" and call.activity_id == posted.message_id
        ]

    async def wait_update(self, posted: Posted, predicate: Callable[[str], bool]) -> str:
        call = await self.connector.wait_for(
            lambda call: call.method == "PUT" and call.activity_id == posted.message_id and predicate(self.card_text(call.body))
        )
        return self.card_text(call.body)

    def private_texts(self) -> list[str]:
        texts = [self.card_text(call.body) for call in self.connector.calls if call.method == "POST"]
        if self.last_invoke and self.last_invoke.get("type") == "application/vnd.microsoft.activity.message":
            texts.append(self.last_invoke["value"])
        return texts


class SlackDriver:
    name = "slack"
    channel = "C0DEMO"

    def __init__(self, bot: RunningBot, http: aiohttp.ClientSession, api: FakeSlackApi) -> None:
        self.bot, self.http, self.api = bot, http, api

    async def post_signed(self, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> aiohttp.ClientResponse:
        signed = slack_signed_headers(SLACK_SIGNING_SECRET, body) if headers is None else headers
        response = await self.http.post(
            f"{self.bot.url}/slack/events", data=body, headers={**signed, "Content-Type": content_type}
        )
        await response.read()
        return response

    async def send(self, role: str, text: str) -> None:
        body = slack_slash_command_body(text, user_id=USERS["slack"][role], channel_id=self.channel)
        response = await self.post_signed(body, FORM_CONTENT_TYPE)
        assert response.status == 200, await response.text()

    @staticmethod
    def message_text(body: dict[str, Any]) -> str:
        return "\n".join(_texts(body.get("blocks") or [])) or str(body.get("text", ""))

    async def wait_post(self, predicate: Callable[[str], bool]) -> Posted:
        call = await self.api.wait_for(lambda call: call.method == "chat.postMessage" and predicate(self.message_text(call.body)))
        ts = next(ts for (channel, ts), message in self.api.messages.items() if message.get("blocks") == call.body.get("blocks"))
        return Posted(message_id=ts, text=self.message_text(call.body), raw=call.body)

    async def click(self, role: str, posted: Posted, verb: str, extra: dict[str, Any] | None = None) -> int:
        button = self._button(posted, verb)
        value = button["value"]
        if extra:
            decoded = json.loads(value)
            decoded["data"].update(extra)
            value = json.dumps(decoded)
        body = slack_block_actions_body(
            button["action_id"], value, user_id=USERS["slack"][role], channel_id=self.channel, message_ts=posted.message_id
        )
        response = await self.post_signed(body, FORM_CONTENT_TYPE)
        return response.status

    @staticmethod
    def _button(posted: Posted, verb: str) -> dict[str, Any]:
        for block in posted.raw.get("blocks") or []:
            for element in block.get("elements", []) if block.get("type") == "actions" else []:
                if element.get("action_id") == verb:
                    return element
        raise AssertionError(f"the message has no {verb} button")

    def updates(self, posted: Posted) -> list[str]:
        return [
            self.message_text(call.body)
            for call in self.api.calls
            if call.method == "chat.update" and call.body.get("ts") == posted.message_id
        ]

    async def wait_update(self, posted: Posted, predicate: Callable[[str], bool]) -> str:
        call = await self.api.wait_for(
            lambda call: call.method == "chat.update"
            and call.body.get("ts") == posted.message_id
            and predicate(self.message_text(call.body))
        )
        return self.message_text(call.body)

    def private_texts(self) -> list[str]:
        return [self.message_text(call.body) for call in self.api.calls if call.method == "chat.postEphemeral"]


class MattermostDriver:
    name = "mattermost"
    channel = "mmchannel00000000000000000"

    def __init__(self, bot: RunningBot, http: aiohttp.ClientSession, api: FakeMattermostApi) -> None:
        self.bot, self.http, self.api = bot, http, api
        self.action_answers: list[dict[str, Any]] = []

    async def post_command(self, role_or_user: str, text: str, token: str = MATTERMOST_COMMAND_TOKEN) -> aiohttp.ClientResponse:
        user_id = USERS["mattermost"].get(role_or_user, role_or_user)
        body = mattermost_command_body(text, token=token, user_id=user_id, channel_id=self.channel)
        response = await self.http.post(
            f"{self.bot.url}/mattermost/command", data=body, headers={"Content-Type": FORM_CONTENT_TYPE}
        )
        await response.read()
        return response

    async def send(self, role: str, text: str) -> None:
        response = await self.post_command(role, text)
        assert response.status == 200, await response.text()

    @staticmethod
    def post_text(post: dict[str, Any]) -> str:
        return "\n".join([post.get("message", ""), *_texts((post.get("props") or {}).get("attachments") or [])]).strip()

    async def wait_post(self, predicate: Callable[[str], bool]) -> Posted:
        call = await self.api.wait_for(
            lambda call: call.method == "POST" and call.path == "/api/v4/posts" and predicate(self.post_text(call.body))
        )
        post_id = next(post_id for post_id, post in self.api.posts.items() if post.get("props") == call.body.get("props"))
        return Posted(message_id=post_id, text=self.post_text(call.body), raw=call.body)

    def button(self, posted: Posted, verb: str) -> dict[str, Any]:
        for attachment in (posted.raw.get("props") or {}).get("attachments") or []:
            for action in attachment.get("actions") or []:
                if action["integration"]["context"].get("verb") == verb:
                    return action
        raise AssertionError(f"the post has no {verb} button")

    async def post_action(self, role: str, posted: Posted, context: dict[str, Any]) -> aiohttp.ClientResponse:
        body = mattermost_action_body(
            context, user_id=USERS["mattermost"][role], channel_id=self.channel, post_id=posted.message_id
        )
        response = await self.http.post(
            f"{self.bot.url}/mattermost/action", data=body, headers={"Content-Type": JSON_CONTENT_TYPE}
        )
        await response.read()
        return response

    async def click(self, role: str, posted: Posted, verb: str, extra: dict[str, Any] | None = None) -> int:
        context = self.button(posted, verb)["integration"]["context"]
        if extra:
            # Mattermost buttons carry no inputs; a reason must be typed as a command instead.
            raise AssertionError("Mattermost buttons cannot carry extra data")
        response = await self.post_action(role, posted, context)
        if response.status == 200:
            answer = await response.json()
            self.action_answers.append(answer)
            if "update" in answer:
                self.api.posts[posted.message_id] = {**self.api.posts[posted.message_id], **answer["update"]}
        return response.status

    def updates(self, posted: Posted) -> list[str]:
        patched = [
            self.post_text(call.body)
            for call in self.api.calls
            if call.method == "PUT" and call.path == f"/api/v4/posts/{posted.message_id}/patch"
        ]
        answered = [self.post_text(answer["update"]) for answer in self.action_answers if "update" in answer]
        return answered + patched

    async def wait_update(self, posted: Posted, predicate: Callable[[str], bool]) -> str:
        for answer in self.action_answers:
            if "update" in answer and predicate(self.post_text(answer["update"])):
                return self.post_text(answer["update"])
        call = await self.api.wait_for(
            lambda call: call.method == "PUT"
            and call.path == f"/api/v4/posts/{posted.message_id}/patch"
            and predicate(self.post_text(call.body))
        )
        return self.post_text(call.body)

    def private_texts(self) -> list[str]:
        ephemeral = [
            self.post_text(call.body.get("post") or {})
            for call in self.api.calls
            if call.method == "POST" and call.path == "/api/v4/posts/ephemeral"
        ]
        return ephemeral + [answer["ephemeral_text"] for answer in self.action_answers if answer.get("ephemeral_text")]

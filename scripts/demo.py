"""Walk through one release approval on Teams, Slack and Mattermost, on this machine only.

The script starts stand-ins for the three platforms on 127.0.0.1: a Bot
Connector, the Slack Web API and the Mattermost REST API. It starts `bot.py` as a
separate process pointed at them. Then, on each platform in turn, it sends the
requests the platform would send:

1. demo-requester types `run deploy-demo version=1.2.3 --ticket CHG-101`;
2. the bot posts the approval card (printed here as text);
3. demo-approver clicks Approve;
4. the bot executes the action and updates the card with the result.

Run it from the repository root: `python scripts/demo.py`. It needs no cloud
credentials and sends nothing beyond 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cards.render_text import render_text  # noqa: E402
from tests.fakes.botframework import FakeBotConnector, invoke_action_activity, message_activity  # noqa: E402
from tests.fakes.mattermost_api import FakeMattermostApi  # noqa: E402
from tests.fakes.signing import (  # noqa: E402
    FORM_CONTENT_TYPE,
    JSON_CONTENT_TYPE,
    mattermost_action_body,
    mattermost_command_body,
    slack_block_actions_body,
    slack_signed_headers,
    slack_slash_command_body,
)
from tests.fakes.slack_api import FakeSlackApi  # noqa: E402

COMMAND = "run deploy-demo version=1.2.3 --ticket CHG-101"
SLACK_SECRET = "demo-signing-secret"
SLACK_TOKEN = "xoxb-demo"
MATTERMOST_TOKEN = "demo-bot-token"
MATTERMOST_COMMAND_TOKEN = "demo-command-token"
TEAMS_REQUESTER = "00000000-0000-0000-0000-0000000000a1"
TEAMS_APPROVER = "00000000-0000-0000-0000-0000000000a2"
TIMEOUT = 15.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def show(title: str, text: str) -> None:
    print(f"\n--- {title} ---")
    print(text.strip())


def mrkdwn_lines(blocks: list[dict[str, Any]]) -> str:
    lines = []
    for block in blocks:
        text = block.get("text")
        if isinstance(text, dict):
            lines.append(text.get("text", ""))
        for field in block.get("fields") or []:
            lines.append(field.get("text", "").replace("\n", " "))
        for element in block.get("elements") or []:
            label = element.get("text")
            lines.append(f"[{label.get('text')}]" if isinstance(label, dict) else str(label or ""))
    return "\n".join(line for line in lines if line)


def attachment_lines(post: dict[str, Any]) -> str:
    lines = [post.get("message", "")]
    for attachment in (post.get("props") or {}).get("attachments") or []:
        lines.append(attachment.get("title", ""))
        lines.append(attachment.get("text", ""))
        lines += [f"{field['title']}: {field['value']}" for field in attachment.get("fields") or []]
        lines += [f"[{action['name']}]" for action in attachment.get("actions") or []]
    return "\n".join(line for line in lines if line)


async def teams(http: aiohttp.ClientSession, bot_url: str, connector: FakeBotConnector) -> None:
    print("\n=== Microsoft Teams (Bot Framework Emulator mode: --dev, no app id) ===")
    print(f"demo-requester types: {COMMAND}")
    activity = message_activity(COMMAND, user_aad_id=TEAMS_REQUESTER, service_url=connector.url)
    async with http.post(f"{bot_url}/api/messages", json=activity) as response:
        print(f"POST /api/messages (demo-requester): HTTP {response.status}")
    call = await connector.wait_for(lambda call: call.method == "POST" and call.body.get("attachments"), TIMEOUT)
    card = call.body["attachments"][0]["content"]
    show("card posted to the conversation", render_text(card))

    approve = next(action for action in card["actions"] if action["verb"] == "approve")
    click = invoke_action_activity(
        "approve", approve["data"], user_aad_id=TEAMS_APPROVER, service_url=connector.url, reply_to_id="activity-1"
    )
    async with http.post(f"{bot_url}/api/messages", json=click) as response:
        answer = await response.json()
        print(f"\nPOST /api/messages invoke adaptiveCard/action (demo-approver): HTTP {response.status}")
    show("card in the invoke response", render_text(answer["value"]))
    final = await connector.wait_for(
        lambda call: call.method == "PUT" and "succeeded" in json.dumps(call.body), TIMEOUT
    )
    show("card updated in place (PUT activity-1)", render_text(final.body["attachments"][0]["content"]))


async def slack(http: aiohttp.ClientSession, bot_url: str, api: FakeSlackApi) -> None:
    print("\n=== Slack ===")
    print(f"demo-requester types: {COMMAND}")
    body = slack_slash_command_body(COMMAND, user_id="U0DEMOREQ", channel_id="C0DEMO")
    headers = {**slack_signed_headers(SLACK_SECRET, body), "Content-Type": FORM_CONTENT_TYPE}
    async with http.post(f"{bot_url}/slack/events", data=body, headers=headers) as response:
        print(f"POST /slack/events /chatops (U0DEMOREQ, signed): HTTP {response.status}")
    call = await api.wait_for(lambda call: call.method == "chat.postMessage", TIMEOUT)
    show("chat.postMessage", mrkdwn_lines(call.body["blocks"]))

    ts = next(ts for (channel, ts) in api.messages)
    button = next(
        element
        for block in call.body["blocks"]
        if block["type"] == "actions"
        for element in block["elements"]
        if element.get("action_id") == "approve"
    )
    body = slack_block_actions_body("approve", button["value"], user_id="U0DEMOAPP", channel_id="C0DEMO", message_ts=ts)
    headers = {**slack_signed_headers(SLACK_SECRET, body), "Content-Type": FORM_CONTENT_TYPE}
    async with http.post(f"{bot_url}/slack/events", data=body, headers=headers) as response:
        print(f"\nPOST /slack/events block_actions approve (U0DEMOAPP, signed): HTTP {response.status}")
    final = await api.wait_for(
        lambda call: call.method == "chat.update" and "succeeded" in json.dumps(call.body), TIMEOUT
    )
    show("chat.update", mrkdwn_lines(final.body["blocks"]))


async def mattermost(http: aiohttp.ClientSession, bot_url: str, api: FakeMattermostApi) -> None:
    print("\n=== Mattermost ===")
    print(f"demo-requester types: {COMMAND}")
    body = mattermost_command_body(COMMAND, token=MATTERMOST_COMMAND_TOKEN, user_id="demorequester000000000000a")
    async with http.post(f"{bot_url}/mattermost/command", data=body, headers={"Content-Type": FORM_CONTENT_TYPE}) as response:
        print(f"POST /mattermost/command /chatops (demo-requester): HTTP {response.status}")
    call = await api.wait_for(lambda call: call.method == "POST" and call.path == "/api/v4/posts", TIMEOUT)
    post_id = next(iter(api.posts))
    show("POST /api/v4/posts", attachment_lines(call.body))

    actions = call.body["props"]["attachments"][0]["actions"]
    approve = next(action for action in actions if action["integration"]["context"]["verb"] == "approve")
    body = mattermost_action_body(
        approve["integration"]["context"],
        user_id="demoapprover0000000000000a",
        channel_id=call.body["channel_id"],
        post_id=post_id,
    )
    async with http.post(approve["integration"]["url"], data=body, headers={"Content-Type": JSON_CONTENT_TYPE}) as response:
        answer = await response.json()
        print(f"\nPOST /mattermost/action approve (demo-approver): HTTP {response.status}")
    show("post in the action response", attachment_lines(answer["update"]))
    final = await api.wait_for(
        lambda call: call.method == "PUT" and "succeeded" in json.dumps(call.body), TIMEOUT
    )
    show(f"PUT /api/v4/posts/{post_id}/patch", attachment_lines(final.body))


async def wait_healthy(http: aiohttp.ClientSession, url: str, process: subprocess.Popen) -> None:
    deadline = asyncio.get_running_loop().time() + TIMEOUT
    while asyncio.get_running_loop().time() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"bot.py exited with status {process.returncode} before it was ready")
        try:
            async with http.get(f"{url}/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientConnectionError:
            pass
        await asyncio.sleep(0.1)
    raise SystemExit(f"bot.py did not respond on /healthz within {TIMEOUT} s")


async def main() -> int:
    async with FakeBotConnector() as connector, FakeSlackApi(token=SLACK_TOKEN) as slack_api, FakeMattermostApi(
        token=MATTERMOST_TOKEN
    ) as mattermost_api:
        port = free_port()
        bot_url = f"http://127.0.0.1:{port}"
        environ = {
            **os.environ,
            "SLACK_SIGNING_SECRET": SLACK_SECRET,
            "SLACK_BOT_TOKEN": SLACK_TOKEN,
            "SLACK_API_URL": slack_api.base_url,
            "MATTERMOST_URL": mattermost_api.url,
            "MATTERMOST_BOT_TOKEN": MATTERMOST_TOKEN,
            "MATTERMOST_COMMAND_TOKEN": MATTERMOST_COMMAND_TOKEN,
            "CHATOPS_PUBLIC_URL": bot_url,
        }
        for name in ("MICROSOFT_APP_ID", "MICROSOFT_APP_PASSWORD", "MICROSOFT_APP_TENANT_ID"):
            environ.pop(name, None)

        with tempfile.TemporaryDirectory(prefix="chatops-demo-") as data_dir:
            command = [sys.executable, str(ROOT / "bot.py"), "--dev", "--port", str(port), "--data-dir", data_dir]
            print("starting:", " ".join(command[1:]))
            process = subprocess.Popen(command, cwd=ROOT, env=environ)
            try:
                async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as http:
                    await wait_healthy(http, bot_url, process)
                    await teams(http, bot_url, connector)
                    await slack(http, bot_url, slack_api)
                    await mattermost(http, bot_url, mattermost_api)
            finally:
                process.send_signal(signal.SIGTERM)
                status = process.wait(timeout=TIMEOUT)
                print(f"\nbot.py stopped on SIGTERM with exit status {status}")
    print("\nDone: the request, the card and the approval worked on Teams, Slack and Mattermost.")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

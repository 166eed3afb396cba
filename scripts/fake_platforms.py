"""Run stand-ins for the Bot Connector, the Slack Web API and the Mattermost API on 127.0.0.1.

Use it to try the bot by hand without any chat platform. It prints the
environment variables to export before starting `bot.py`. Then it prints every
message the bot posts or updates, with the card as text. For Mattermost it also
prints a curl command for each button, ready to paste. Stop it with Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shlex
import signal
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from demo import attachment_lines, mrkdwn_lines  # noqa: E402

from cards.render_text import render_text  # noqa: E402
from tests.fakes.botframework import FakeBotConnector  # noqa: E402
from tests.fakes.mattermost_api import FakeMattermostApi  # noqa: E402
from tests.fakes.slack_api import FakeSlackApi  # noqa: E402

SLACK_SECRET = "demo-signing-secret"
SLACK_TOKEN = "xoxb-demo"
MATTERMOST_TOKEN = "demo-bot-token"
MATTERMOST_COMMAND_TOKEN = "demo-command-token"


def describe_teams(call: Any) -> str:
    attachments = call.body.get("attachments") or []
    text = render_text(attachments[0]["content"]) if attachments else str(call.body.get("text", ""))
    return f"Teams {call.method} {call.path}\n{text}"


def describe_slack(call: Any) -> str:
    header = f"Slack {call.method} channel={call.body.get('channel')} ts={call.body.get('ts', '-')}"
    return header + "\n" + mrkdwn_lines(call.body.get("blocks") or [])


def describe_mattermost(call: Any, api: FakeMattermostApi) -> str:
    post = call.body.get("post", call.body) if isinstance(call.body, dict) else {}
    lines = [f"Mattermost {call.method} {call.path}", attachment_lines(post)]
    post_id = mattermost_post_id(call, api)
    for attachment in (post.get("props") or {}).get("attachments") or []:
        for action in attachment.get("actions") or []:
            lines.append(f"To click [{action['name']}] as demo-approver:")
            lines.append(mattermost_click_command(action, post_id))
    return "\n".join(line for line in lines if line)


def mattermost_post_id(call: Any, api: FakeMattermostApi) -> str:
    if call.method == "PUT":
        return call.path.split("/")[4]
    for post_id, post in api.posts.items():
        if post.get("props") == call.body.get("props"):
            return post_id
    return "<post id>"


def mattermost_click_command(action: dict[str, Any], post_id: str) -> str:
    body = {
        "user_id": "demoapprover0000000000000a",
        "channel_id": "town-square",
        "post_id": post_id,
        "context": action["integration"]["context"],
    }
    url = action["integration"]["url"]
    return f"  curl -s {url} -H 'Content-Type: application/json' -d {shlex.quote(json.dumps(body))}"


async def follow(server: Any, describe: Any) -> None:
    seen = 0
    while True:
        await server.wait_for(lambda call: len(server.calls) > seen, timeout=24 * 3600)
        for call in server.calls[seen:]:
            print("\n" + describe(call), flush=True)
        seen = len(server.calls)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bot-port", type=int, default=3978, help="the port bot.py listens on (default: 3978)")
    arguments = parser.parse_args()

    async with FakeBotConnector() as connector, FakeSlackApi(token=SLACK_TOKEN) as slack, FakeMattermostApi(
        token=MATTERMOST_TOKEN
    ) as mattermost:
        print("Export these in the terminal where you start bot.py and in the one where you run curl:\n")
        print(f"export SLACK_SIGNING_SECRET={SLACK_SECRET}")
        print(f"export SLACK_BOT_TOKEN={SLACK_TOKEN}")
        print(f"export SLACK_API_URL={slack.base_url}")
        print(f"export MATTERMOST_URL={mattermost.url}")
        print(f"export MATTERMOST_BOT_TOKEN={MATTERMOST_TOKEN}")
        print(f"export MATTERMOST_COMMAND_TOKEN={MATTERMOST_COMMAND_TOKEN}")
        print(f"export CHATOPS_PUBLIC_URL=http://127.0.0.1:{arguments.bot_port}")
        print(f"export BOT_CONNECTOR_URL={connector.url}")
        print("\nWaiting for the bot's messages (Ctrl-C stops).", flush=True)

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signal_number, stop.set)
        watchers = [
            asyncio.create_task(follow(connector, describe_teams)),
            asyncio.create_task(follow(slack, describe_slack)),
            asyncio.create_task(follow(mattermost, lambda call: describe_mattermost(call, mattermost))),
        ]
        await stop.wait()
        for watcher in watchers:
            watcher.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

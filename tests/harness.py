"""The bot app served over HTTP on 127.0.0.1 for tests, with the settings that point it at fake platforms."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from azure.core.credentials import AccessToken

from bot import BOT_KEY, STORE_KEY, TASKS_KEY, Options, build_app
from config import load_config
from dialogs.router import ChatOpsBot
from dialogs.tasks import BackgroundTasks
from store import SQLiteStore
from tests.fakes.botframework import OpenIdServer
from tests.fakes.mattermost_api import FakeMattermostApi
from tests.fakes.slack_api import FakeSlackApi

ROOT = Path(__file__).resolve().parent.parent
CONFIG_PATH = ROOT / "config" / "chatops.yaml"

TEAMS_APP_ID = "5b2a4f9e-1c3d-4e5f-8a7b-9c0d1e2f3a4b"
TEAMS_TENANT_ID = "0c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f"
SLACK_SIGNING_SECRET = "test-signing-secret-0123456789"
SLACK_BOT_TOKEN = "xoxb-test"
MATTERMOST_BOT_TOKEN = "mattermost-bot-token"
MATTERMOST_COMMAND_TOKEN = "mattermost-command-token"
OUTBOUND_TOKEN = "outbound-token-from-azure-identity"


class StaticTokenCredential:
    """An azure-identity TokenCredential stand-in that records the scopes it was asked for."""

    def __init__(self, token: str = OUTBOUND_TOKEN) -> None:
        self.token = token
        self.scopes: list[str] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.extend(scopes)
        return AccessToken(self.token, int(time.time()) + 3600)


@dataclass
class RunningBot:
    url: str
    app: web.Application
    credential: StaticTokenCredential

    @property
    def bot(self) -> ChatOpsBot:
        return self.app[BOT_KEY]

    @property
    def store(self) -> SQLiteStore:
        return self.app[STORE_KEY]

    @property
    def tasks(self) -> BackgroundTasks:
        return self.app[TASKS_KEY]


def platform_environment(openid: OpenIdServer, slack_api: FakeSlackApi, mattermost_api: FakeMattermostApi, public_url: str) -> dict[str, str]:
    return {
        "MICROSOFT_APP_ID": TEAMS_APP_ID,
        "MICROSOFT_APP_PASSWORD": "unused-because-a-credential-is-injected",
        "MICROSOFT_APP_TENANT_ID": TEAMS_TENANT_ID,
        "MICROSOFT_APP_TYPE": "SingleTenant",
        "CHATOPS_TEAMS_OPENID_METADATA_URL": openid.metadata_url,
        "SLACK_SIGNING_SECRET": SLACK_SIGNING_SECRET,
        "SLACK_BOT_TOKEN": SLACK_BOT_TOKEN,
        "SLACK_API_URL": slack_api.base_url,
        "MATTERMOST_URL": mattermost_api.url,
        "MATTERMOST_BOT_TOKEN": MATTERMOST_BOT_TOKEN,
        "MATTERMOST_COMMAND_TOKEN": MATTERMOST_COMMAND_TOKEN,
        "CHATOPS_PUBLIC_URL": public_url,
        "CHATOPS_SIGNING_KEY": "test-signing-key-0123456789abcdef",
    }


_DEFAULT = object()


async def serve_bot(
    environ: dict[str, str],
    data_dir: Path,
    sock: socket.socket,
    config_path: Path = CONFIG_PATH,
    teams_credential: Any = _DEFAULT,
    dev: bool = False,
) -> tuple[web.AppRunner, RunningBot]:
    """Build the app from `environ` and serve it on `sock`; Teams gets a StaticTokenCredential unless `teams_credential` is given."""
    credential = StaticTokenCredential()
    injected = credential if teams_credential is _DEFAULT else teams_credential
    options = Options(
        config_path=config_path, data_dir=data_dir, environ=environ, teams_credential=injected, dev=dev
    )
    app = build_app(load_config(config_path), options)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    host, port = sock.getsockname()[:2]
    return runner, RunningBot(url=f"http://{host}:{port}", app=app, credential=credential)


def bound_socket() -> socket.socket:
    """A listening socket on 127.0.0.1 with a port the OS chose, so the URL is known before the app starts."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock

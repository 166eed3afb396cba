"""Fixtures: fake platform servers on 127.0.0.1 and the real bot app served over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.fakes.botframework import FakeBotConnector, OpenIdServer, TokenSigner, clear_openid_metadata_cache
from tests.fakes.mattermost_api import FakeMattermostApi
from tests.fakes.slack_api import FakeSlackApi
from tests.harness import (
    MATTERMOST_BOT_TOKEN,
    SLACK_BOT_TOKEN,
    RunningBot,
    bound_socket,
    platform_environment,
    serve_bot,
)
from tests.platforms import Driver, MattermostDriver, SlackDriver, TeamsDriver


@pytest.fixture
def signer() -> TokenSigner:
    return TokenSigner(kid="test-key-1")


@pytest.fixture
def openid(signer: TokenSigner) -> Iterator[OpenIdServer]:
    clear_openid_metadata_cache()
    server = OpenIdServer(signer).start()
    yield server
    server.stop()
    clear_openid_metadata_cache()


@pytest.fixture
async def connector() -> AsyncIterator[FakeBotConnector]:
    async with FakeBotConnector() as server:
        yield server


@pytest.fixture
async def slack_api() -> AsyncIterator[FakeSlackApi]:
    async with FakeSlackApi(token=SLACK_BOT_TOKEN) as server:
        yield server


@pytest.fixture
async def mattermost_api() -> AsyncIterator[FakeMattermostApi]:
    async with FakeMattermostApi(token=MATTERMOST_BOT_TOKEN) as server:
        yield server


@pytest.fixture
async def running_bot(
    tmp_path: Path, openid: OpenIdServer, slack_api: FakeSlackApi, mattermost_api: FakeMattermostApi
) -> AsyncIterator[RunningBot]:
    sock = bound_socket()
    host, port = sock.getsockname()
    environ = platform_environment(openid, slack_api, mattermost_api, f"http://{host}:{port}")
    runner, running = await serve_bot(environ, tmp_path / "data", sock)
    yield running
    await running.tasks.idle()
    await runner.cleanup()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
        yield session


@pytest.fixture(params=["teams", "slack", "mattermost"])
def driver(
    request: pytest.FixtureRequest,
    running_bot: RunningBot,
    http: aiohttp.ClientSession,
    connector: FakeBotConnector,
    signer: TokenSigner,
    slack_api: FakeSlackApi,
    mattermost_api: FakeMattermostApi,
) -> Driver:
    """The same conversation on each platform: a driver sends as the platform does and reads its fake."""
    drivers = {
        "teams": lambda: TeamsDriver(running_bot, http, connector, signer),
        "slack": lambda: SlackDriver(running_bot, http, slack_api),
        "mattermost": lambda: MattermostDriver(running_bot, http, mattermost_api),
    }
    return drivers[request.param]()

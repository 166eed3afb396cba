"""An action that needs two approvals executes only after the second approver."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import yaml

from store import ApprovalState
from tests.fakes.botframework import OpenIdServer
from tests.fakes.mattermost_api import FakeMattermostApi
from tests.fakes.slack_api import FakeSlackApi
from tests.harness import CONFIG_PATH, RunningBot, bound_socket, platform_environment, serve_bot
from tests.platforms import USERS, SlackDriver


@pytest.fixture
async def two_approval_bot(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    openid: OpenIdServer,
    slack_api: FakeSlackApi,
    mattermost_api: FakeMattermostApi,
) -> AsyncIterator[RunningBot]:
    config = yaml.safe_load(CONFIG_PATH.read_text())
    config["actions"]["deploy-demo"]["approval"]["count"] = 2
    config["people"]["second-approver"] = {"roles": ["approver"], "slack": "U0SECOND"}
    path = tmp_path / "two-approvals.yaml"
    path.write_text(yaml.safe_dump(config))
    monkeypatch.setitem(USERS["slack"], "second", "U0SECOND")

    sock = bound_socket()
    host, port = sock.getsockname()
    environ = platform_environment(openid, slack_api, mattermost_api, f"http://{host}:{port}")
    runner, running = await serve_bot(environ, tmp_path / "data", sock, config_path=path)
    yield running
    await running.tasks.idle()
    await runner.cleanup()


async def test_second_approval_executes(
    two_approval_bot: RunningBot, http: aiohttp.ClientSession, slack_api: FakeSlackApi
) -> None:
    driver = SlackDriver(two_approval_bot, http, slack_api)
    await driver.send("requester", "run deploy-demo version=2.0.0 --ticket CHG-7")
    card = await driver.wait_post(lambda text: "Approval needed" in text)
    assert "2 approvals from: approver" in card.text

    await driver.click("approver", card, "approve")
    partial = await driver.wait_update(card, lambda text: "approved so far by demo-approver" in text)
    await two_approval_bot.tasks.idle()
    (pending,) = await two_approval_bot.store.list_approvals(ApprovalState.PENDING)

    await driver.click("approver", card, "approve")
    await two_approval_bot.tasks.idle()
    assert any("already approved this request" in text for text in driver.private_texts())
    assert await two_approval_bot.store.list_approvals(ApprovalState.PENDING)

    await driver.click("second", card, "approve")
    final = await driver.wait_update(card, lambda text: "succeeded" in text)
    await two_approval_bot.tasks.idle()

    assert "Approve" in partial
    assert "demo-approver, second-approver" in final
    stored = await two_approval_bot.store.get_approval(pending.id)
    assert stored.state is ApprovalState.SUCCEEDED
    assert stored.approvers == ["demo-approver", "second-approver"]
    rows = await two_approval_bot.store.list_audit()
    assert [row.decision for row in rows].count("executed") == 1

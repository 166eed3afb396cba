"""The release approval conversation, written once and run on Teams, Slack and Mattermost."""

from __future__ import annotations

import re
from datetime import timedelta

from store import ApprovalState
from tests.harness import RunningBot
from tests.platforms import Driver

RUN_DEPLOY = "run deploy-demo version=1.2.3 --ticket CHG-101"


def is_pending_card(text: str) -> bool:
    return "Approval needed" in text and "deploy-demo" in text


def is_final_card(text: str) -> bool:
    return "succeeded" in text and "Approved" in text


async def request_deploy(driver: Driver) -> object:
    await driver.send("requester", RUN_DEPLOY)
    return await driver.wait_post(is_pending_card)


async def test_request_posts_approval_card(driver: Driver) -> None:
    card = await request_deploy(driver)

    assert "demo-requester" in card.text
    assert "version = 1.2.3" in card.text
    assert "CHG-101" in card.text
    assert "approver" in card.text
    assert "Approve" in card.text
    assert "Reject" in card.text


async def test_approval_executes_and_updates_card(driver: Driver, running_bot: RunningBot) -> None:
    card = await request_deploy(driver)

    status = await driver.click("approver", card, "approve")
    assert status == 200

    final = await driver.wait_update(card, is_final_card)
    assert "demo-approver" in final
    assert "UTC" in final
    assert re.search(r"run [0-9a-f]{32}", final)
    assert re.search(r"\d+\.\d s", final)
    assert "Approve" not in final.replace("Approved", "")

    await running_bot.tasks.idle()
    approvals = await running_bot.store.list_approvals(ApprovalState.SUCCEEDED)
    assert len(approvals) == 1
    assert approvals[0].decided_by == "demo-approver"


async def test_approval_writes_audit_rows(driver: Driver, running_bot: RunningBot) -> None:
    card = await request_deploy(driver)
    await driver.click("approver", card, "approve")
    await driver.wait_update(card, is_final_card)
    await running_bot.tasks.idle()

    rows = await running_bot.store.list_audit()
    assert [row.decision for row in rows] == ["needs-approval", "approved", "executed"]
    request, approve, execute = rows
    assert request.person == "demo-requester"
    assert request.platform == driver.name
    assert request.command == RUN_DEPLOY
    assert request.action == "deploy-demo"
    assert request.target == "demo-service"
    assert request.parameters == {"version": "1.2.3"}
    assert request.ticket == "CHG-101"
    assert approve.person == "demo-approver"
    assert approve.command == "click approve"
    assert approve.approval_id == request.approval_id
    assert execute.result.startswith("succeeded run ")
    assert execute.approval_id == request.approval_id


async def test_double_click_executes_once(driver: Driver, running_bot: RunningBot) -> None:
    card = await request_deploy(driver)

    first = await driver.click("approver", card, "approve")
    second = await driver.click("approver", card, "approve")
    await driver.wait_update(card, is_final_card)
    await running_bot.tasks.idle()

    assert first == 200
    assert second == 200
    rows = await running_bot.store.list_audit()
    executions = [row for row in rows if row.decision == "executed"]
    assert len(executions) == 1
    run_ids = {match for text in driver.updates(card) for match in re.findall(r"run ([0-9a-f]{32})", text)}
    assert len(run_ids) == 1


async def test_self_approval_refused(driver: Driver, running_bot: RunningBot) -> None:
    card = await request_deploy(driver)

    await driver.click("requester", card, "approve")
    await running_bot.tasks.idle()

    assert any("can't approve your own request" in text for text in driver.private_texts())
    assert await running_bot.store.list_approvals(ApprovalState.PENDING)
    rows = await running_bot.store.list_audit()
    assert rows[-1].decision == "denied"
    assert rows[-1].person == "demo-requester"
    assert not [row for row in rows if row.decision == "executed"]


async def test_unknown_person_refused_on_click(driver: Driver, running_bot: RunningBot) -> None:
    card = await request_deploy(driver)

    await driver.click("stranger", card, "approve")
    await running_bot.tasks.idle()

    assert any("not mapped to a person" in text for text in driver.private_texts())
    assert await running_bot.store.list_approvals(ApprovalState.PENDING)
    rows = await running_bot.store.list_audit()
    assert rows[-1].decision == "denied"
    assert rows[-1].person is None


async def test_unknown_person_refused_on_run(driver: Driver, running_bot: RunningBot) -> None:
    await driver.send("stranger", RUN_DEPLOY)
    await running_bot.tasks.idle()

    assert any("not mapped to a person" in text for text in driver.private_texts())
    assert not await running_bot.store.list_approvals(ApprovalState.PENDING)
    rows = await running_bot.store.list_audit()
    assert len(rows) == 1
    assert rows[0].decision == "denied"


async def test_reject_by_command_records_reason(driver: Driver, running_bot: RunningBot) -> None:
    await request_deploy(driver)
    (approval,) = await running_bot.store.list_approvals(ApprovalState.PENDING)

    await driver.send("approver", f"reject {approval.id} release freeze until Monday")
    await running_bot.tasks.idle()

    stored = await running_bot.store.get_approval(approval.id)
    assert stored.state is ApprovalState.REJECTED
    assert stored.reason == "release freeze until Monday"
    assert stored.decided_by == "demo-approver"


async def test_reject_click_without_reason_asks_for_one(driver: Driver, running_bot: RunningBot) -> None:
    card = await request_deploy(driver)

    await driver.click("approver", card, "reject")
    await running_bot.tasks.idle()

    assert any("needs a reason" in text for text in driver.private_texts())
    assert await running_bot.store.list_approvals(ApprovalState.PENDING)


async def test_expired_request_cannot_be_approved(driver: Driver, running_bot: RunningBot) -> None:
    card = await request_deploy(driver)
    flow = running_bot.bot.approvals
    real_clock = flow.clock
    flow.clock = lambda: real_clock() + timedelta(minutes=31)

    await driver.click("approver", card, "approve")
    expired = await driver.wait_update(card, lambda text: "Expired" in text)
    await running_bot.tasks.idle()

    assert "nobody approved it" in expired
    assert any(text.startswith("Expired: this request can no longer be approved") for text in driver.private_texts())
    assert await running_bot.store.list_approvals(ApprovalState.EXPIRED)
    rows = await running_bot.store.list_audit()
    assert not [row for row in rows if row.decision == "executed"]


async def test_help_lists_allowed_actions(driver: Driver, running_bot: RunningBot) -> None:
    await driver.send("requester", "help")
    await running_bot.tasks.idle()

    (text,) = [text for text in driver.private_texts() if "commands" in text]
    assert "deploy-demo" in text
    assert "status-demo" in text
    assert "run" in text


async def test_help_for_stranger_offers_no_actions(driver: Driver, running_bot: RunningBot) -> None:
    await driver.send("stranger", "help")
    await running_bot.tasks.idle()

    (text,) = [text for text in driver.private_texts() if "commands" in text]
    assert "deploy-demo" not in text


async def test_whoami_shows_person_and_roles(driver: Driver, running_bot: RunningBot) -> None:
    await driver.send("approver", "whoami")
    await running_bot.tasks.idle()

    (text,) = [text for text in driver.private_texts() if "Who you are" in text]
    assert "demo-approver" in text
    assert "approver, requester" in text
    assert driver.name in text


async def test_approvals_lists_pending(driver: Driver, running_bot: RunningBot) -> None:
    await request_deploy(driver)
    (approval,) = await running_bot.store.list_approvals(ApprovalState.PENDING)

    await driver.send("approver", "approvals")
    await running_bot.tasks.idle()

    (text,) = [text for text in driver.private_texts() if "Pending approvals" in text]
    assert approval.id in text
    assert "deploy-demo" in text
    assert "CHG-101" in text


async def test_read_only_action_runs_at_once(driver: Driver, running_bot: RunningBot) -> None:
    await driver.send("requester", "run status-demo")
    posted = await driver.wait_post(lambda text: "Succeeded" in text)
    await running_bot.tasks.idle()

    assert "demo-service is healthy" in posted.text
    rows = await running_bot.store.list_audit()
    assert rows[-1].decision == "allowed"
    assert rows[-1].result.startswith("succeeded run ")


async def test_unknown_command_suggests_closest(driver: Driver, running_bot: RunningBot) -> None:
    await driver.send("requester", "aprovals")
    await running_bot.tasks.idle()

    assert any("Did you mean approvals?" in text for text in driver.private_texts())
    rows = await running_bot.store.list_audit()
    assert rows[-1].decision == "denied"


async def test_missing_ticket_refused(driver: Driver, running_bot: RunningBot) -> None:
    await driver.send("requester", "run deploy-demo version=1.2.3")
    await running_bot.tasks.idle()

    assert any("deploy-demo needs a ticket: add --ticket CHG-123." in text for text in driver.private_texts())
    assert not await running_bot.store.list_approvals(ApprovalState.PENDING)


async def test_approve_by_command_executes(driver: Driver, running_bot: RunningBot) -> None:
    card = await request_deploy(driver)
    (approval,) = await running_bot.store.list_approvals(ApprovalState.PENDING)

    await driver.send("approver", f"approve {approval.id}")
    final = await driver.wait_update(card, is_final_card)
    await running_bot.tasks.idle()

    assert "demo-approver" in final
    stored = await running_bot.store.get_approval(approval.id)
    assert stored.state is ApprovalState.SUCCEEDED


async def test_overdue_card_flips_to_expired(driver: Driver, running_bot: RunningBot) -> None:
    card = await request_deploy(driver)
    flow = running_bot.bot.approvals
    real_clock = flow.clock
    flow.clock = lambda: real_clock() + timedelta(minutes=31)

    expired = await flow.expire_overdue()
    text = await driver.wait_update(card, lambda text: "Expired" in text)

    assert expired == 1
    assert "nobody approved it" in text
    assert await running_bot.store.list_approvals(ApprovalState.EXPIRED)

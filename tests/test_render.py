"""Tests of the Slack, Mattermost and plain-text renderers and of the card checker."""

import copy
import json
import re
from typing import Any

import pytest

from cards.render_mattermost import DEFAULT_COLOR, render_attachment
from cards.render_slack import render_blocks
from cards.render_text import render_text
from tests.cardcheck import assert_valid_card, block_errors, card_errors

Card = dict[str, Any]

INJECTION = "<!here> @channel <@U123> [click](http://evil) **loud**"


def card(body: list[dict[str, Any]], actions: list[dict[str, Any]] | None = None, **extra: Any) -> Card:
    result: Card = {"type": "AdaptiveCard", "version": "1.5", "body": body, **extra}
    if actions is not None:
        result["actions"] = actions
    return result


def title_block(text: str = "Approval needed · deploy-demo") -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "size": "large", "weight": "bolder", "wrap": True}


def facts(*pairs: tuple[str, str]) -> dict[str, Any]:
    return {"type": "FactSet", "facts": [{"title": t, "value": v} for t, v in pairs]}


def execute(title: str, verb: str, style: str | None = None, **data: Any) -> dict[str, Any]:
    action = {"type": "Action.Execute", "title": title, "verb": verb, "data": data}
    if style:
        action["style"] = style
    return action


def approval_card(requested_by: str = "alice") -> Card:
    return card(
        [
            {"type": "Container", "style": "warning", "items": [title_block()]},
            facts(
                ("Requested by", requested_by),
                ("Environment", "staging"),
                ("Parameters", "version=1.4.2"),
                ("Ticket", "OPS-42"),
                ("Needs", "1 approval from release-managers"),
            ),
            {"type": "ActionSet", "actions": [
                execute("Approve", "approve", "positive", approval_id="a1"),
                execute("Reject", "reject", "destructive", approval_id="a1"),
            ]},
        ],
        msteams={"width": "Full"},
    )


def decided_card() -> Card:
    return card(
        [
            {**title_block("Approved · deploy-demo"), "color": "good"},
            {"type": "TextBlock", "text": "Approved by **bob**", "wrap": True},
            facts(("Requested by", "alice"), ("Environment", "staging")),
        ]
    )


def recording_integration(calls: list[dict[str, Any]]) -> Any:
    def integration(action: dict[str, Any]) -> dict[str, Any]:
        calls.append(action)
        return {"url": "http://127.0.0.1:8080/mattermost/actions", "context": {"verb": action.get("verb")}}

    return integration


def blocks_of_type(sample: Card, block_type: str) -> list[dict[str, Any]]:
    return [b for b in render_blocks(sample).blocks if b["type"] == block_type]


def all_slack_text(sample: Card) -> str:
    message = render_blocks(sample)
    return message.text + json.dumps(message.blocks, ensure_ascii=False)


# Card checker


def test_approval_card_valid() -> None:
    assert_valid_card(approval_card())


def test_decided_card_valid() -> None:
    assert_valid_card(decided_card())


def test_checker_rejects_wrong_version() -> None:
    errors = card_errors({**decided_card(), "version": "1.2"})
    assert any("version" in e for e in errors)


def test_checker_rejects_unknown_msteams_key() -> None:
    errors = card_errors({**decided_card(), "msteams": {"width": "Full", "entities": []}})
    assert any("msteams: unexpected key 'entities'" in e for e in errors)


def test_checker_rejects_schema_violation() -> None:
    errors = card_errors({**decided_card(), "colour": "red"})
    assert any(e.startswith("schema:") for e in errors)


def test_checker_rejects_oversized_card() -> None:
    big = card([{"type": "TextBlock", "text": "x" * 29_000}])
    assert any(e.startswith("size:") for e in card_errors(big))


def test_checker_accepts_fallback_text() -> None:
    assert_valid_card({**decided_card(), "fallbackText": "deploy-demo approved"})


def test_checker_rejects_long_header_block() -> None:
    errors = block_errors({"type": "header", "text": {"type": "plain_text", "text": "h" * 151}})
    assert errors == ["text attribute cannot exceed 150 characters"]


def test_checker_rejects_unknown_block_key() -> None:
    errors = block_errors({"type": "section", "text": {"type": "mrkdwn", "text": "x"}, "colour": "red"})
    assert errors[0].startswith("slack_sdk does not keep the block unchanged")


def test_checker_message_lists_errors() -> None:
    with pytest.raises(AssertionError) as failure:
        assert_valid_card({**decided_card(), "version": "1.0", "msteams": {"width": "Half"}})
    assert "version" in str(failure.value)
    assert "msteams: invalid width 'Half'" in str(failure.value)


# Slack


def test_slack_title_is_header() -> None:
    blocks = render_blocks(approval_card()).blocks
    assert blocks[0] == {"type": "header", "text": {"type": "plain_text", "text": "Approval needed · deploy-demo"}}


def test_slack_facts_are_fields() -> None:
    sections = blocks_of_type(approval_card(), "section")
    fields = [f["text"] for s in sections for f in s.get("fields", [])]
    assert fields[0] == "*Requested by*\nalice"
    assert len(fields) == 5


def test_slack_buttons_map_styles() -> None:
    buttons = blocks_of_type(approval_card(), "actions")[0]["elements"]
    assert [b["action_id"] for b in buttons] == ["approve", "reject"]
    assert buttons[0]["style"] == "primary"
    assert buttons[1]["style"] == "danger"


def test_slack_button_value_round_trip() -> None:
    buttons = blocks_of_type(approval_card(), "actions")[0]["elements"]
    decoded = json.loads(buttons[0]["value"])
    assert decoded == {"verb": "approve", "data": {"approval_id": "a1"}}


def test_slack_submit_verb_from_data() -> None:
    submit = {"type": "Action.Submit", "title": "Retry", "data": {"verb": "retry", "run_id": "r9"}}
    button = blocks_of_type(card([title_block()], [submit]), "actions")[0]["elements"][0]
    assert button["action_id"] == "retry"
    assert json.loads(button["value"]) == {"verb": "retry", "data": {"verb": "retry", "run_id": "r9"}}


def test_slack_button_value_too_long() -> None:
    action = execute("Approve", "approve-huge", payload="x" * 2_100)
    with pytest.raises(ValueError, match="approve-huge"):
        render_blocks(card([title_block()], [action]))


def test_slack_open_url_button() -> None:
    action = {"type": "Action.OpenUrl", "title": "Runbook", "url": "https://runbooks.example/deploy"}
    button = blocks_of_type(card([title_block()], [action]), "actions")[0]["elements"][0]
    assert button["url"] == "https://runbooks.example/deploy"
    assert "value" not in button


def test_slack_duplicate_verbs_get_unique_ids() -> None:
    actions = [execute("Approve", "approve", id="1"), execute("Approve all", "approve", id="2")]
    buttons = blocks_of_type(card([title_block()], actions), "actions")[0]["elements"]
    assert [b["action_id"] for b in buttons] == ["approve", "approve-2"]


def test_slack_decided_card_has_no_actions() -> None:
    assert blocks_of_type(decided_card(), "actions") == []


def test_slack_notification_text_from_facts() -> None:
    text = render_blocks(decided_card()).text
    assert text.startswith("Approved · deploy-demo")
    assert "Environment: staging" in text


def test_slack_notification_text_from_fallback() -> None:
    text = render_blocks({**decided_card(), "fallbackText": "deploy-demo was approved"}).text
    assert text == "deploy-demo was approved"


def test_slack_markdown_converted() -> None:
    body = [title_block(), {"type": "TextBlock", "text": "See **the** [runbook](https://runbooks.example/a?b=1&c=2)"}]
    section = blocks_of_type(card(body), "section")[0]
    assert section["text"]["text"] == "See *the* <https://runbooks.example/a?b=1&amp;c=2|runbook>"


def test_slack_unsafe_link_not_converted() -> None:
    body = [title_block(), {"type": "TextBlock", "text": "[run](javascript:alert)"}]
    section = blocks_of_type(card(body), "section")[0]
    assert section["text"]["text"] == "[run](javascript:alert)"


def test_slack_fact_mentions_escaped() -> None:
    rendered = all_slack_text(approval_card(requested_by=INJECTION))
    assert "<!here>" not in rendered
    assert "<@U123>" not in rendered
    assert "&lt;!here&gt;" in rendered
    assert "&lt;@U123&gt;" in rendered
    assert "<http://evil" not in rendered


def test_slack_text_block_mentions_escaped() -> None:
    body = [title_block(), {"type": "TextBlock", "text": "Hello <!channel> & <@U1>"}]
    section = blocks_of_type(card(body), "section")[0]
    assert section["text"]["text"] == "Hello &lt;!channel&gt; &amp; &lt;@U1&gt;"


def test_slack_facts_split_at_ten() -> None:
    many = facts(*[(f"Fact {i}", f"value {i}") for i in range(23)])
    sections = [s for s in blocks_of_type(card([title_block(), many]), "section") if "fields" in s]
    assert [len(s["fields"]) for s in sections] == [10, 10, 3]
    assert_valid_card(card([title_block(), many]))


def test_slack_subtle_text_is_context() -> None:
    body = [title_block(), {"type": "TextBlock", "text": "Expires in 1 hour", "isSubtle": True}]
    context = blocks_of_type(card(body), "context")
    assert context == [{"type": "context", "elements": [{"type": "mrkdwn", "text": "Expires in 1 hour"}]}]


def test_slack_oversized_card_truncated() -> None:
    body = [title_block()] + [{"type": "TextBlock", "text": f"Line {i}"} for i in range(60)]
    big = card(body, [execute("Approve", "approve", approval_id="a1")])
    blocks = render_blocks(big).blocks
    assert len(blocks) == 50
    assert blocks[-1]["type"] == "actions"
    assert blocks[-2]["elements"][0]["text"] == "13 more items not shown"
    assert_valid_card(big)


def test_slack_long_texts_truncated() -> None:
    body = [title_block("T" * 200), {"type": "TextBlock", "text": "a" * 3_500}]
    blocks = render_blocks(card(body)).blocks
    assert len(blocks[0]["text"]["text"]) == 150
    assert len(blocks[1]["text"]["text"]) == 3_000
    assert blocks[1]["text"]["text"].endswith("…")


def test_slack_long_button_title_truncated() -> None:
    blocks = render_blocks(card([title_block()], [execute("B" * 90, "approve")])).blocks
    assert len(blocks[-1]["elements"][0]["text"]["text"]) == 75


def test_slack_many_buttons_split() -> None:
    actions = [execute(f"Run {i}", f"run{i}") for i in range(30)]
    action_blocks = blocks_of_type(card([title_block()], actions), "actions")
    assert [len(b["elements"]) for b in action_blocks] == [25, 5]


def test_slack_input_text_not_input_block() -> None:
    body = [title_block(), {"type": "Input.Text", "id": "reason", "label": "Reason"}]
    types = [b["type"] for b in render_blocks(card(body)).blocks]
    assert "input" not in types
    assert types[-1] == "context"


def test_slack_choice_set_static_select() -> None:
    choice = {"type": "Input.ChoiceSet", "id": "env", "label": "Environment", "value": "prod",
              "choices": [{"title": "Staging", "value": "staging"}, {"title": "Production", "value": "prod"}]}
    select = blocks_of_type(card([title_block(), choice]), "actions")[0]["elements"][0]
    assert select["type"] == "static_select"
    assert select["action_id"] == "env"
    assert select["initial_option"]["value"] == "prod"
    assert_valid_card(card([title_block(), choice]))


def test_slack_show_card_inline() -> None:
    show = {"type": "Action.ShowCard", "title": "Reject with reason", "card": {
        "type": "AdaptiveCard",
        "body": [{"type": "Input.Text", "id": "why", "label": "Why"}],
        "actions": [{"type": "Action.Submit", "title": "Send", "data": {"verb": "reject"}}]}}
    sample = card([title_block()], [execute("Approve", "approve"), show])
    rendered = all_slack_text(sample)
    assert "*Reject with reason*" in rendered
    assert "*Why*" in rendered
    assert len(blocks_of_type(sample, "actions")) == 2
    assert_valid_card(sample)


def test_slack_msteams_ignored() -> None:
    plain_card = approval_card()
    del plain_card["msteams"]
    assert render_blocks(plain_card) == render_blocks(approval_card())


# Unsupported elements


def unsupported_card() -> Card:
    return card(
        [
            title_block(),
            {"type": "Media", "sources": [{"mimeType": "video/mp4", "url": "https://media.example/a.mp4"}]},
            {"type": "Table", "columns": [{"width": 1}], "rows": [
                {"type": "TableRow", "cells": [{"type": "TableCell", "items": [{"type": "TextBlock", "text": "c"}]}]}]},
            {"type": "Media", "altText": "Deploy recording",
             "sources": [{"mimeType": "video/mp4", "url": "https://media.example/b.mp4"}]},
            {"type": "Media", "fallback": {"type": "TextBlock", "text": "Recording unavailable"},
             "sources": [{"mimeType": "video/mp4", "url": "https://media.example/c.mp4"}]},
            {"type": "Media", "fallback": "drop", "sources": [{"mimeType": "video/mp4", "url": "https://m.example/d"}]},
        ]
    )


def test_unsupported_card_valid() -> None:
    assert_valid_card(unsupported_card())


def test_unsupported_slack_notices() -> None:
    rendered = all_slack_text(unsupported_card())
    assert "[unsupported: Media]" in rendered
    assert "[unsupported: Table]" in rendered
    assert "Deploy recording" in rendered
    assert "Recording unavailable" in rendered
    assert rendered.count("unsupported") == 2


def test_unsupported_mattermost_notices() -> None:
    text = render_attachment(unsupported_card(), None).attachments[0]["text"]
    assert "[unsupported: Table]" in text
    assert "Recording unavailable" in text


def test_unsupported_text_notices() -> None:
    text = render_text(unsupported_card())
    assert "[unsupported: Media]" in text
    assert "Deploy recording" in text


# Mattermost


def test_mattermost_approval_attachment() -> None:
    calls: list[dict[str, Any]] = []
    attachment = render_attachment(approval_card(), recording_integration(calls)).attachments[0]
    assert attachment["title"] == "Approval needed · deploy-demo"
    assert attachment["color"] == "#FFBC1F"
    assert attachment["fields"][1] == {"short": True, "title": "Environment", "value": "staging"}
    assert [a["id"] for a in attachment["actions"]] == ["approve", "reject"]
    assert [a["style"] for a in attachment["actions"]] == ["primary", "danger"]
    assert [c["verb"] for c in calls] == ["approve", "reject"]
    assert attachment["actions"][0]["integration"]["context"] == {"verb": "approve"}


def test_mattermost_ids_alphanumeric() -> None:
    actions = [execute("A", "approve-now"), execute("B", "approve_now"), execute("C", "re.try")]
    attachment = render_attachment(card([title_block()], actions), lambda a: {}).attachments[0]
    ids = [a["id"] for a in attachment["actions"]]
    assert ids == ["approvenow", "approvenow2", "retry"]
    assert all(re.fullmatch(r"[A-Za-z0-9]+", i) for i in ids)


def test_mattermost_without_integration_lists_buttons() -> None:
    attachment = render_attachment(approval_card(), None).attachments[0]
    assert "actions" not in attachment
    assert "\\[Approve\\] \\[Reject\\]" in attachment["text"]


def test_mattermost_decided_card() -> None:
    message = render_attachment(decided_card(), lambda a: {})
    attachment = message.attachments[0]
    assert message.message == ""
    assert "actions" not in attachment
    assert attachment["color"] == "#3DB887"
    assert attachment["text"] == "Approved by **bob**"


@pytest.mark.parametrize(
    ("style", "color"),
    [("attention", "#D24B4E"), ("good", "#3DB887"), ("warning", "#FFBC1F"), ("emphasis", DEFAULT_COLOR)],
)
def test_mattermost_container_color(style: str, color: str) -> None:
    sample = card([{"type": "Container", "style": style, "items": [{"type": "TextBlock", "text": "x"}]}])
    assert render_attachment(sample, None).attachments[0]["color"] == color


def test_mattermost_fact_mentions_escaped() -> None:
    attachment = render_attachment(approval_card(requested_by=INJECTION), None).attachments[0]
    value = attachment["fields"][0]["value"]
    assert "@channel" not in value
    assert "@\u200dchannel" in value
    assert "\\[click\\]\\(http://evil\\)" in value
    assert "\\*\\*loud\\*\\*" in value
    assert "@channel" not in attachment["fallback"]


def test_mattermost_open_url_is_link() -> None:
    action = {"type": "Action.OpenUrl", "title": "Runbook", "url": "https://runbooks.example/deploy"}
    attachment = render_attachment(card([title_block()], [action]), lambda a: {}).attachments[0]
    assert attachment["text"] == "[Runbook](https://runbooks.example/deploy)"
    assert "actions" not in attachment


def test_mattermost_choice_set_menu() -> None:
    choice = {"type": "Input.ChoiceSet", "id": "target_env", "label": "Environment",
              "choices": [{"title": "Staging", "value": "staging"}]}
    calls: list[dict[str, Any]] = []
    attachment = render_attachment(card([title_block(), choice]), recording_integration(calls)).attachments[0]
    menu = attachment["actions"][0]
    assert menu["type"] == "select"
    assert menu["id"] == "targetenv"
    assert menu["options"] == [{"text": "Staging", "value": "staging"}]
    assert calls == [choice]


def test_mattermost_long_text_truncated() -> None:
    body = [title_block()] + [{"type": "TextBlock", "text": "y" * 500} for _ in range(20)]
    text = render_attachment(card(body), None).attachments[0]["text"]
    assert len(text) == 4_000
    assert text.endswith("…")


# Plain text


def test_text_approval_card() -> None:
    lines = render_text(approval_card()).splitlines()
    assert lines[0] == "Approval needed · deploy-demo"
    assert "Requested by: alice" in lines
    assert lines[-1] == "[Approve] [Reject]"


def test_text_decided_card() -> None:
    assert render_text(decided_card()).splitlines() == [
        "Approved · deploy-demo",
        "Approved by bob",
        "Requested by: alice",
        "Environment: staging",
    ]


def test_text_columns_joined() -> None:
    columns = {"type": "ColumnSet", "columns": [
        {"type": "Column", "items": [{"type": "TextBlock", "text": "Status"}]},
        {"type": "Column", "items": [{"type": "TextBlock", "text": "Running"}]}]}
    assert render_text(card([title_block(), columns])).splitlines()[1] == "Status | Running"


def test_renderers_leave_card_unchanged() -> None:
    original = approval_card()
    snapshot = copy.deepcopy(original)
    render_blocks(original)
    render_attachment(original, lambda a: {})
    render_text(original)
    assert original == snapshot

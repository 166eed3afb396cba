"""Check that an Adaptive Card is valid for Teams and renders within Slack and Mattermost limits.

Use `assert_valid_card(card)` in every test that builds a card.
"""

import copy
import json
from functools import lru_cache
from importlib.resources import files
from typing import Any

from jsonschema import Draft6Validator
from jsonschema.exceptions import ValidationError, best_match
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block

from cards.render_mattermost import render_attachment
from cards.render_slack import MAX_BLOCKS, render_blocks
from cards.render_text import render_text

CARD_VERSION = "1.5"
# Teams rejects cards over about 28 KB; the check uses the compact UTF-8 JSON size.
MAX_CARD_BYTES = 28_000
# Mattermost: a post message may hold at most 16,383 characters.
MAX_MATTERMOST_MESSAGE = 16_383
# The only `msteams` keys and values the bot sends.
ALLOWED_MSTEAMS = {"width": {"Full"}}


@lru_cache(maxsize=1)
def card_validator() -> Draft6Validator:
    """Return a validator for the official Adaptive Card 1.5 schema (JSON Schema draft-06)."""
    path = files("adaptive_cards") / "schemas" / "schema-1.5.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    Draft6Validator.check_schema(schema)
    return Draft6Validator(schema)


def _describe(error: ValidationError) -> str:
    """Describe a schema error by its deepest cause, with the JSON path of the failing value."""
    cause = best_match(error.context) if error.context else error
    while cause.context:
        cause = best_match(cause.context)
    return f"schema: at {cause.json_path}: {cause.message}"


def schema_errors(card: dict[str, Any]) -> list[str]:
    """Validate the card, without its `msteams` property, against the 1.5 schema.

    The schema sets `additionalProperties: false` on AdaptiveCard and does not define the
    Teams-only `msteams` property, so that property is checked by `msteams_errors` instead.
    """
    stripped = copy.deepcopy(card)
    stripped.pop("msteams", None)
    return [_describe(error) for error in card_validator().iter_errors(stripped)]


def msteams_errors(card: dict[str, Any]) -> list[str]:
    """Check that `msteams`, when present, holds only `width: "Full"`."""
    if "msteams" not in card:
        return []
    msteams = card["msteams"]
    if not isinstance(msteams, dict):
        return [f"msteams: expected an object, got {type(msteams).__name__}"]
    errors = []
    for key, value in msteams.items():
        if key not in ALLOWED_MSTEAMS:
            errors.append(f"msteams: unexpected key {key!r}, only {sorted(ALLOWED_MSTEAMS)} are allowed")
        elif value not in ALLOWED_MSTEAMS[key]:
            expected = sorted(ALLOWED_MSTEAMS[key])
            errors.append(f"msteams: invalid {key} {value!r}, expected one of {expected}")
    return errors


def header_errors(card: dict[str, Any]) -> list[str]:
    """Check the card type, version, optional fallbackText and serialised size."""
    errors = []
    if card.get("type") != "AdaptiveCard":
        errors.append(f"type: expected 'AdaptiveCard', got {card.get('type')!r}")
    if card.get("version") != CARD_VERSION:
        errors.append(f"version: expected {CARD_VERSION!r}, got {card.get('version')!r}")
    if "fallbackText" in card and not isinstance(card["fallbackText"], str):
        errors.append("fallbackText: expected a string")
    size = len(json.dumps(card, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    if size >= MAX_CARD_BYTES:
        errors.append(f"size: card JSON is {size} bytes, limit is {MAX_CARD_BYTES}")
    return errors


def slack_errors(card: dict[str, Any]) -> list[str]:
    """Render for Slack and validate every block with slack_sdk's Block Kit models."""
    try:
        message = render_blocks(card)
    except Exception as error:  # noqa: BLE001 - any renderer failure is reported as a card error
        return [f"slack: rendering failed: {error!r}"]
    errors = []
    if not message.text.strip():
        errors.append("slack: notification text is empty")
    if len(message.blocks) > MAX_BLOCKS:
        errors.append(f"slack: {len(message.blocks)} blocks, limit is {MAX_BLOCKS}")
    for index, block in enumerate(message.blocks):
        errors.extend(f"slack: block {index} ({block.get('type')}): {e}" for e in block_errors(block))
    return errors


def block_errors(block: dict[str, Any]) -> list[str]:
    """Validate one block, including nested elements, and check slack_sdk keeps every key."""
    parsed = Block.parse(block)
    if parsed is None:
        return ["unknown block type"]
    try:
        parsed.validate_json()
        # to_dict() also validates nested elements such as buttons and text objects.
        rebuilt = parsed.to_dict()
    except SlackObjectFormationError as error:
        return [str(error)]
    if rebuilt != block:
        return [f"slack_sdk does not keep the block unchanged: {json.dumps(rebuilt)}"]
    return []


def mattermost_errors(card: dict[str, Any]) -> list[str]:
    """Render for Mattermost with and without an integration and check the message size."""
    errors = []
    for integration in (None, lambda action: {"url": "http://127.0.0.1/actions", "context": {}}):
        try:
            message = render_attachment(card, integration)
        except Exception as error:  # noqa: BLE001 - any renderer failure is reported as a card error
            return [f"mattermost: rendering failed: {error!r}"]
        texts = [message.message] + [str(a.get("text", "")) for a in message.attachments]
        longest = max(len(text) for text in texts)
        if longest >= MAX_MATTERMOST_MESSAGE:
            errors.append(f"mattermost: text is {longest} characters, limit is {MAX_MATTERMOST_MESSAGE}")
        if len(message.attachments) != 1:
            errors.append(f"mattermost: expected one attachment, got {len(message.attachments)}")
    return errors


def text_errors(card: dict[str, Any]) -> list[str]:
    """Render as plain text and check that the result is not empty."""
    try:
        text = render_text(card)
    except Exception as error:  # noqa: BLE001 - any renderer failure is reported as a card error
        return [f"text: rendering failed: {error!r}"]
    return [] if text.strip() else ["text: rendering is empty"]


def card_errors(card: dict[str, Any]) -> list[str]:
    """Return every problem found in the card, or an empty list for a valid card."""
    if not isinstance(card, dict):
        return [f"card: expected a dict, got {type(card).__name__}"]
    checks = (header_errors, msteams_errors, schema_errors, slack_errors, mattermost_errors, text_errors)
    return [error for check in checks for error in check(card)]


def assert_valid_card(card: dict[str, Any]) -> None:
    """Fail with one message listing every problem when the card is not valid everywhere."""
    errors = card_errors(card)
    assert not errors, "invalid Adaptive Card:\n  - " + "\n  - ".join(errors)

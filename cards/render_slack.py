"""Render an Adaptive Card 1.5 as a Slack Block Kit message.

The per-element limits are those that slack_sdk 3.48 `slack_sdk.models.blocks` documents and
validates. The limit of 50 blocks per message is Slack's, and slack_sdk does not check it.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cards.escape import (
    escape_slack,
    is_safe_url,
    markdown_to_slack,
    truncate,
    truncate_mrkdwn,
)
from cards.render_text import (
    INPUT_TYPES,
    Element,
    action_verb,
    child_elements,
    choice_titles,
    degrade_unknown,
    dict_list,
    fact_pairs,
    find_title,
    input_label,
    is_text_only,
    is_title_candidate,
    is_visible,
    run_texts,
    split_actions,
    summary_text,
    title_text,
)

Block = dict[str, Any]

MAX_BLOCKS = 50  # per message
MAX_SECTION_TEXT = 3000  # section text and context text elements
MAX_FIELD_TEXT = 2000  # each section field
MAX_FIELDS = 10  # fields per section
MAX_HEADER_TEXT = 150
MAX_BUTTON_TEXT = 75  # also option text
MAX_BUTTON_VALUE = 2000
MAX_URL = 3000  # button url and image_url
MAX_ALT_TEXT = 2000
MAX_ACTION_ELEMENTS = 25  # elements per actions block
MAX_ID = 255  # action_id and block_id
MAX_OPTIONS = 100  # static_select options
MAX_OPTION_VALUE = 150
MAX_PLACEHOLDER = 150
# Chosen for the notification text. Slack truncates message text at 40,000 characters.
MAX_MESSAGE_TEXT = 3000

_STYLES = {"positive": "primary", "destructive": "danger"}


@dataclass(frozen=True)
class SlackMessage:
    """A chat.postMessage payload: `text` is the notification fallback, `blocks` the layout."""

    text: str
    blocks: list[Block]


@dataclass
class SlackState:
    """State shared while rendering one card: the title element and the URL button count."""

    title: Element | None
    url_button_count: int = 0


BlockRenderer = Callable[[Element, SlackState], list[Block]]


def mrkdwn(text: str, limit: int = MAX_SECTION_TEXT) -> dict[str, str]:
    """Return a mrkdwn text object, truncated to the limit."""
    return {"type": "mrkdwn", "text": truncate_mrkdwn(text, limit)}


def plain(text: str, limit: int) -> dict[str, str]:
    """Return a plain_text text object, truncated to the limit."""
    return {"type": "plain_text", "text": truncate(text, limit)}


def section_block(text: str) -> Block:
    return {"type": "section", "text": mrkdwn(text)}


def context_block(text: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(text)]}


def _bold_lines(text: str) -> str:
    """Make each line bold unless it already contains mrkdwn emphasis."""
    lines = text.split("\n")
    return "\n".join(f"*{line}*" if line.strip() and "*" not in line else line for line in lines)


def _text_block(element: Element, state: SlackState) -> list[Block]:
    if element is state.title:
        return []
    text = markdown_to_slack(str(element.get("text", "")))
    if not text.strip():
        return []
    if is_title_candidate(element):
        text = _bold_lines(text)
    if element.get("isSubtle") is True:
        return [context_block(text)]
    return [section_block(text)]


def _rich_text(element: Element, state: SlackState) -> list[Block]:
    text = escape_slack(run_texts(element))
    return [section_block(text)] if text.strip() else []


def _field_sections(fields: list[str]) -> list[Block]:
    """Pack mrkdwn fields into sections of at most 10 fields each."""
    chunks = [fields[i : i + MAX_FIELDS] for i in range(0, len(fields), MAX_FIELDS)]
    return [{"type": "section", "fields": [mrkdwn(f, MAX_FIELD_TEXT) for f in c]} for c in chunks]


def _fact_set(element: Element, state: SlackState) -> list[Block]:
    fields = [
        f"*{escape_slack(title)}*\n{escape_slack(value)}" if title else escape_slack(value)
        for title, value in fact_pairs(element)
    ]
    return _field_sections([f for f in fields if f.strip()])


def _children(element: Element, state: SlackState) -> list[Block]:
    # Block Kit has no accent colour for a group of blocks, so a Container style is not shown.
    return render_elements(child_elements(element), state)


def _column_text(column: Element) -> str | None:
    """Return the mrkdwn of a column that contains only text, or None for any other content."""
    if not is_text_only(column):
        return None
    items = [item for item in child_elements(column) if is_visible(item)]
    texts = []
    for item in items:
        if item["type"] == "TextBlock":
            texts.append(markdown_to_slack(str(item.get("text", ""))))
        else:
            texts.append(escape_slack(run_texts(item)))
    return "\n".join(t for t in texts if t.strip())


def _column_set(element: Element, state: SlackState) -> list[Block]:
    columns = [c for c in child_elements(element) if is_visible(c)]
    texts = [_column_text(column) for column in columns]
    if all(text is not None for text in texts) and any(texts):
        return _field_sections([text for text in texts if text])
    return render_elements(columns, state)


def _image(element: Element, state: SlackState) -> list[Block]:
    url = str(element.get("url", ""))
    alt_text = str(element.get("altText") or "image")
    if not is_safe_url(url) or len(url) > MAX_URL:
        return [context_block(escape_slack(f"[image: {alt_text}]"))]
    return [{"type": "image", "image_url": url, "alt_text": truncate(alt_text, MAX_ALT_TEXT)}]


def _action_set(element: Element, state: SlackState) -> list[Block]:
    buttons, inline = split_actions(dict_list(element.get("actions")))
    return render_elements(inline, state) + action_blocks(buttons, state)


def _input(element: Element, state: SlackState) -> list[Block]:
    # Slack allows `input` blocks only in modals and Home tabs, not in messages,
    # so the input's own Adaptive Card fallback is shown when the card gives one.
    if "fallback" in element:
        return render_elements(degrade_unknown(element), state)
    text = f"*{escape_slack(input_label(element))}*: input is not available in this message"
    return [context_block(text)]


def _choice_set(element: Element, state: SlackState) -> list[Block]:
    choices = dict_list(element.get("choices"))
    values = [str(c.get("value", "")) for c in choices]
    selectable = (
        bool(choices)
        and len(choices) <= MAX_OPTIONS
        and not element.get("isMultiSelect")
        and all(0 < len(v) <= MAX_OPTION_VALUE for v in values)
    )
    label = escape_slack(input_label(element))
    if not selectable:
        choices_text = escape_slack(" / ".join(choice_titles(element)))
        return [context_block(f"*{label}*: choose from {choices_text}")]
    options = [
        {"text": plain(title or value, MAX_BUTTON_TEXT), "value": value}
        for title, value in zip(choice_titles(element), values)
    ]
    select: Block = {
        "type": "static_select",
        "action_id": truncate(str(element.get("id") or "choice"), MAX_ID),
        "placeholder": plain(str(element.get("placeholder") or input_label(element)), MAX_PLACEHOLDER),
        "options": options,
    }
    initial = next((o for o in options if o["value"] == element.get("value")), None)
    if initial is not None:
        select["initial_option"] = initial
    return [section_block(f"*{label}*"), {"type": "actions", "elements": [select]}]


_BLOCK_RENDERERS: dict[str, BlockRenderer] = {
    "TextBlock": _text_block,
    "RichTextBlock": _rich_text,
    "FactSet": _fact_set,
    "Container": _children,
    "Column": _children,
    "ColumnSet": _column_set,
    "Image": _image,
    "ActionSet": _action_set,
    "Input.ChoiceSet": _choice_set,
    **{kind: _input for kind in INPUT_TYPES},
}


def render_elements(elements: list[Element], state: SlackState) -> list[Block]:
    """Render Adaptive Card elements to blocks, degrading unsupported ones to context blocks."""
    blocks: list[Block] = []
    for element in elements:
        if not isinstance(element, dict) or not is_visible(element):
            continue
        renderer = _BLOCK_RENDERERS.get(str(element.get("type")))
        if renderer is None:
            blocks.extend(render_elements(degrade_unknown(element), state))
        else:
            blocks.extend(renderer(element, state))
    return blocks


def button_value(verb: str, data: Any) -> str:
    """Encode the verb and data of an action as the compact JSON button value.

    Raises ValueError when the JSON is longer than Slack's 2,000 character button value limit.
    """
    value = json.dumps({"verb": verb, "data": data}, separators=(",", ":"), ensure_ascii=False)
    if len(value) > MAX_BUTTON_VALUE:
        raise ValueError(
            f"button value for verb {truncate(verb, 80)!r} is {len(value)} characters, over Slack's "
            f"limit of {MAX_BUTTON_VALUE}: keep only ids in the action data"
        )
    return value


def _button(action: Element, state: SlackState) -> Block | None:
    """Return a button element, or None when the action has no verb and no URL."""
    label = str(action.get("title") or "Open")
    button: Block = {"type": "button", "text": plain(label, MAX_BUTTON_TEXT)}
    if action.get("type") == "Action.OpenUrl":
        url = str(action.get("url", ""))
        if not is_safe_url(url) or len(url) > MAX_URL:
            return None
        state.url_button_count += 1
        button.update(action_id=f"open-url-{state.url_button_count}", url=url)
    else:
        verb = action_verb(action)
        if verb is None:
            return None
        button.update(action_id=truncate(verb, MAX_ID), value=button_value(verb, action.get("data")))
    style = _STYLES.get(str(action.get("style", "")).lower())
    if style:
        button["style"] = style
    return button


def _unique_action_ids(elements: list[Block]) -> list[Block]:
    """Suffix repeated action_ids, because Slack requires them unique within a block."""
    seen: set[str] = set()
    for element in elements:
        action_id, count = element["action_id"], 1
        while element["action_id"] in seen:
            count += 1
            suffix = f"-{count}"
            element["action_id"] = action_id[: MAX_ID - len(suffix)] + suffix
        seen.add(element["action_id"])
    return elements


def action_blocks(actions: list[Element], state: SlackState) -> list[Block]:
    """Render button actions as actions blocks of at most 25 buttons, plus notices."""
    buttons = [(action, _button(action, state)) for action in actions]
    elements = [button for _, button in buttons if button is not None]
    skipped = [str(a.get("title") or a.get("type")) for a, b in buttons if b is None]
    blocks = [
        {"type": "actions", "elements": _unique_action_ids(elements[i : i + MAX_ACTION_ELEMENTS])}
        for i in range(0, len(elements), MAX_ACTION_ELEMENTS)
    ]
    if skipped:
        blocks.append(context_block(escape_slack("Not available here: " + ", ".join(skipped))))
    return blocks


def _fit_block_limit(blocks: list[Block], pinned: list[Block]) -> list[Block]:
    """Cut blocks to Slack's 50-block limit, keeping the pinned card-level action blocks.

    The notice goes before the pinned blocks so that a long approval card keeps its buttons.
    """
    if len(blocks) + len(pinned) <= MAX_BLOCKS:
        return blocks + pinned
    pinned = pinned[: MAX_BLOCKS - 1]
    room = MAX_BLOCKS - len(pinned) - 1
    hidden = len(blocks) - room
    notice = context_block(f"{hidden} more items not shown")
    return blocks[:room] + [notice] + pinned


def notification_text(card: Element) -> str:
    """Return the escaped notification text: fallbackText, else the title and the facts."""
    fallback = card.get("fallbackText")
    if isinstance(fallback, str) and fallback.strip():
        return truncate_mrkdwn(markdown_to_slack(fallback), MAX_MESSAGE_TEXT)
    return truncate_mrkdwn(escape_slack(summary_text(card)), MAX_MESSAGE_TEXT)


def render_blocks(card: Element) -> SlackMessage:
    """Render an Adaptive Card as Slack blocks.

    Raises ValueError when an action's verb and data do not fit in a button value.
    """
    state = SlackState(title=find_title(card))
    blocks: list[Block] = []
    title = title_text(card)
    if title.strip():
        blocks.append({"type": "header", "text": plain(title, MAX_HEADER_TEXT)})
    blocks.extend(render_elements(dict_list(card.get("body")), state))
    buttons, inline = split_actions(dict_list(card.get("actions")))
    blocks.extend(render_elements(inline, state))
    blocks = _fit_block_limit(blocks, action_blocks(buttons, state))
    return SlackMessage(text=notification_text(card), blocks=blocks)

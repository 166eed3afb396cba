"""Render an Adaptive Card 1.5 as a Mattermost post with one message attachment.

Attachment format: Mattermost "Message attachments" and "Interactive messages" documentation
(developers.mattermost.com/integrate/reference/message-attachments).
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cards.escape import (
    escape_mattermost,
    markdown_to_mattermost,
    mattermost_link,
    neutralise_mentions,
    truncate,
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
    iter_elements,
    run_texts,
    split_actions,
    summary_text,
    title_text,
)

Integration = Callable[[Element], dict[str, Any]]

# Mattermost rejects posts whose message is longer than 16,383 characters; the body is kept
# far below that so that fields and actions also fit comfortably.
MAX_TEXT = 4000
MAX_FIELD_VALUE = 2000
MAX_TITLE = 500
MAX_FALLBACK = 1000
SHORT_FIELD = 40  # values up to this length are shown two per row

ACCENT_COLORS = {
    "attention": "#D24B4E",
    "destructive": "#D24B4E",
    "good": "#3DB887",
    "warning": "#FFBC1F",
}
DEFAULT_COLOR = "#1E325C"

# Mattermost button styles: default, primary, success, good, warning, danger.
_BUTTON_STYLES = {"positive": "primary", "destructive": "danger"}


@dataclass(frozen=True)
class MattermostMessage:
    """A Mattermost post: `message` is Markdown above the attachment, which may be empty."""

    message: str
    attachments: list[dict[str, Any]]


@dataclass
class AttachmentBuilder:
    """The parts of one attachment, collected while walking the card."""

    title: Element | None
    integration: Integration | None
    lines: list[str] = field(default_factory=list)
    fields: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    action_ids: set[str] = field(default_factory=set)

    def unique_id(self, name: str) -> str:
        """Return an id of letters and digits only, unique within the attachment.

        Mattermost routes a click to `/api/v4/posts/{post_id}/actions/{action_id:[A-Za-z0-9]+}`
        (server api4/action.go), so an id with any other character cannot be clicked.
        """
        base = re.sub(r"[^A-Za-z0-9]", "", name) or "action"
        candidate, count = base, 1
        while candidate in self.action_ids:
            count += 1
            candidate = f"{base}{count}"
        self.action_ids.add(candidate)
        return candidate


ElementRenderer = Callable[[Element, AttachmentBuilder], None]


def _text_block(element: Element, builder: AttachmentBuilder) -> None:
    if element is builder.title:
        return
    text = markdown_to_mattermost(str(element.get("text", "")))
    if is_title_candidate(element):
        lines = text.split("\n")
        text = "\n".join(f"**{line}**" if line.strip() and "**" not in line else line for line in lines)
    builder.lines.append(text)


def _rich_text(element: Element, builder: AttachmentBuilder) -> None:
    builder.lines.append(escape_mattermost(run_texts(element)))


def _fact_set(element: Element, builder: AttachmentBuilder) -> None:
    for title, value in fact_pairs(element):
        builder.fields.append(
            {
                # Mattermost renders field titles without Markdown and values as Markdown
                # with mentions (webapp message_attachment.tsx, getFieldsTable).
                "short": len(value) <= SHORT_FIELD and "\n" not in value,
                "title": neutralise_mentions(truncate(title, MAX_TITLE)),
                "value": escape_mattermost(truncate(value, MAX_FIELD_VALUE)),
            }
        )


def _children(element: Element, builder: AttachmentBuilder) -> None:
    render_elements(child_elements(element), builder)


def _column_set(element: Element, builder: AttachmentBuilder) -> None:
    """Join text-only columns on one line; render other columns one after the other."""
    columns = [column for column in child_elements(element) if is_visible(column)]
    if not all(is_text_only(column) for column in columns):
        render_elements(columns, builder)
        return
    texts = []
    for column in columns:
        column_builder = AttachmentBuilder(title=builder.title, integration=None)
        render_elements(child_elements(column), column_builder)
        texts.append(" ".join(" ".join(column_builder.lines).split("\n")).strip())
    builder.lines.append(" | ".join(text for text in texts if text))


def _image(element: Element, builder: AttachmentBuilder) -> None:
    alt_text = str(element.get("altText") or "image")
    builder.lines.append(mattermost_link(alt_text, str(element.get("url", ""))))


def _action_set(element: Element, builder: AttachmentBuilder) -> None:
    buttons, inline = split_actions(dict_list(element.get("actions")))
    render_elements(inline, builder)
    add_buttons(buttons, builder)


def _input(element: Element, builder: AttachmentBuilder) -> None:
    # Message attachments have no text inputs, so the input's Adaptive Card fallback is shown when given.
    if "fallback" in element:
        render_elements(degrade_unknown(element), builder)
        return
    builder.lines.append(f"**{escape_mattermost(input_label(element))}**: input is not available here")


def _choice_set(element: Element, builder: AttachmentBuilder) -> None:
    choices = dict_list(element.get("choices"))
    label = input_label(element)
    if builder.integration is None or not choices or element.get("isMultiSelect"):
        options = escape_mattermost(" / ".join(choice_titles(element)))
        builder.lines.append(f"**{escape_mattermost(label)}**: choose from {options}")
        return
    options_list = [
        {"text": title, "value": str(choice.get("value", ""))}
        for title, choice in zip(choice_titles(element), choices)
    ]
    builder.actions.append(
        {
            "id": builder.unique_id(str(element.get("id") or label)),
            "name": label,
            "type": "select",
            "options": options_list,
            "integration": builder.integration(element),
        }
    )


_RENDERERS: dict[str, ElementRenderer] = {
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


def render_elements(elements: list[Element], builder: AttachmentBuilder) -> None:
    """Add Adaptive Card elements to the attachment, degrading unsupported ones to text."""
    for element in elements:
        if not isinstance(element, dict) or not is_visible(element):
            continue
        renderer = _RENDERERS.get(str(element.get("type")))
        if renderer is None:
            render_elements(degrade_unknown(element), builder)
        else:
            renderer(element, builder)


def add_buttons(buttons: list[Element], builder: AttachmentBuilder) -> None:
    """Add Execute and Submit actions as buttons and OpenUrl actions as links.

    Without an integration callback, or for an action without a verb, the button is listed
    as text because Mattermost cannot deliver a click without an integration URL.
    """
    listed: list[str] = []
    for action in buttons:
        name = str(action.get("title") or action_verb(action) or "Open")
        if action.get("type") == "Action.OpenUrl":
            builder.lines.append(mattermost_link(name, str(action.get("url", ""))))
            continue
        verb = action_verb(action)
        if builder.integration is None or verb is None:
            listed.append(escape_mattermost(f"[{name}]"))
            continue
        builder.actions.append(
            {
                "id": builder.unique_id(verb),
                "name": name,
                "type": "button",
                "style": _BUTTON_STYLES.get(str(action.get("style", "")).lower(), "default"),
                "integration": builder.integration(action),
            }
        )
    if listed:
        builder.lines.append("Actions (not available here): " + " ".join(listed))


def accent_color(card: Element) -> str:
    """Return the attachment colour from the first styled Container or the title's color."""
    for element in iter_elements(dict_list(card.get("body"))):
        style = str(element.get("style", "")).lower()
        if element.get("type") == "Container" and style in ACCENT_COLORS:
            return ACCENT_COLORS[style]
    title = find_title(card)
    color = str(title.get("color", "")).lower() if title else ""
    return ACCENT_COLORS.get(color, DEFAULT_COLOR)


def render_attachment(card: Element, integration: Integration | None) -> MattermostMessage:
    """Render an Adaptive Card as a Mattermost message with one attachment.

    `integration` receives each Action.Execute or Action.Submit dict, and each Input.ChoiceSet
    dict rendered as a menu, and returns the action's `{"url": ..., "context": {...}}`.
    When it is None, actions are listed as text and choice sets as their options.
    """
    builder = AttachmentBuilder(title=find_title(card), integration=integration)
    render_elements(dict_list(card.get("body")), builder)
    buttons, inline = split_actions(dict_list(card.get("actions")))
    render_elements(inline, builder)
    add_buttons(buttons, builder)
    attachment: dict[str, Any] = {
        "fallback": neutralise_mentions(truncate(summary_text(card), MAX_FALLBACK)),
        "color": accent_color(card),
        # Mattermost renders the title as Markdown limited to links, with mentions off
        # (webapp message_attachment.tsx), so it is escaped like a value.
        "title": escape_mattermost(truncate(title_text(card), MAX_TITLE)),
        "text": truncate("\n".join(line for line in builder.lines if line.strip()), MAX_TEXT),
    }
    if builder.fields:
        attachment["fields"] = builder.fields
    if builder.actions:
        attachment["actions"] = builder.actions
    return MattermostMessage(message="", attachments=[attachment])

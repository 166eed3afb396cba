"""Render an Adaptive Card as plain text, and read the card conventions all renderers share.

Card conventions:
- The title is the first visible TextBlock, in document order and inside Containers and
  Columns, whose `size` is "large" or "extraLarge" or whose `weight` is "bolder".
- The notification text is the card's `fallbackText`, or the title and the facts without it.
- An Action.Execute carries its verb in `verb`, and an Action.Submit in `data["verb"]`.
- The `msteams` property is never read.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from cards.escape import strip_markdown

Element = dict[str, Any]

TITLE_SIZES = frozenset({"large", "extralarge"})
BUTTON_ACTIONS = frozenset({"Action.Execute", "Action.Submit", "Action.OpenUrl"})
INPUT_TYPES = ("Input.Text", "Input.Number", "Input.Date", "Input.Time", "Input.Toggle")


def dict_list(value: Any) -> list[Element]:
    """Return the objects of a JSON array, or [] when the value is not an array."""
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, dict)]


def is_visible(element: Element) -> bool:
    """Return False for elements hidden with `isVisible: false`."""
    return element.get("isVisible", True) is not False


def child_elements(element: Element) -> list[Element]:
    """Return the elements nested in a Container, Column or ColumnSet, in order."""
    kind = element.get("type")
    if kind in ("Container", "Column"):
        return dict_list(element.get("items"))
    if kind == "ColumnSet":
        return dict_list(element.get("columns"))
    return []


def iter_elements(elements: list[Element]) -> Iterator[Element]:
    """Yield visible elements depth-first, descending into Containers, ColumnSets and Columns."""
    for element in elements:
        if not isinstance(element, dict) or not is_visible(element):
            continue
        yield element
        yield from iter_elements(child_elements(element))


def is_text_only(column: Element) -> bool:
    """Return True when every visible item of a Column is a TextBlock or RichTextBlock."""
    items = [item for item in child_elements(column) if is_visible(item)]
    return all(item.get("type") in ("TextBlock", "RichTextBlock") for item in items)


def is_title_candidate(element: Element) -> bool:
    """Return True for a TextBlock styled as a title (large size or bolder weight)."""
    if element.get("type") != "TextBlock" or not element.get("text"):
        return False
    size = str(element.get("size", "")).lower()
    weight = str(element.get("weight", "")).lower()
    return size in TITLE_SIZES or weight == "bolder"


def find_title(card: Element) -> Element | None:
    """Return the title TextBlock of the card, or None when no TextBlock is styled as one."""
    return next((e for e in iter_elements(dict_list(card.get("body"))) if is_title_candidate(e)), None)


def title_text(card: Element) -> str:
    """Return the card title without Markdown markers, or "" when the card has none."""
    title = find_title(card)
    return strip_markdown(title["text"]) if title else ""


def card_facts(card: Element) -> list[tuple[str, str]]:
    """Return (title, value) for every fact in the card body, in order."""
    facts: list[tuple[str, str]] = []
    for element in iter_elements(dict_list(card.get("body"))):
        if element.get("type") == "FactSet":
            facts.extend(fact_pairs(element))
    return facts


def fact_pairs(fact_set: Element) -> list[tuple[str, str]]:
    """Return the (title, value) pairs of a FactSet as strings."""
    facts = dict_list(fact_set.get("facts"))
    return [(str(fact.get("title", "")), str(fact.get("value", ""))) for fact in facts]


def summary_text(card: Element) -> str:
    """Return the plain notification text: `fallbackText`, else the title and the facts."""
    fallback = card.get("fallbackText")
    if isinstance(fallback, str) and fallback.strip():
        return strip_markdown(fallback)
    title = title_text(card)
    lines = [title] if title else []
    lines.extend(f"{name}: {value}" for name, value in card_facts(card))
    return "\n".join(lines) or "Adaptive Card"


def run_texts(rich_text: Element) -> str:
    """Join the texts of a RichTextBlock's inlines, which are strings or TextRun objects."""
    texts = []
    inlines = rich_text.get("inlines")
    for inline in inlines if isinstance(inlines, list) else []:
        if isinstance(inline, str):
            texts.append(inline)
        elif isinstance(inline, dict):
            texts.append(str(inline.get("text", "")))
    return "".join(texts)


def action_verb(action: Element) -> str | None:
    """Return the verb of an Action.Execute (`verb`) or Action.Submit (`data["verb"]`)."""
    if action.get("type") == "Action.Execute":
        verb = action.get("verb")
    else:
        data = action.get("data")
        verb = data.get("verb") if isinstance(data, dict) else None
    return verb if isinstance(verb, str) and verb else None


def note(text: str) -> Element:
    """Return a subtle TextBlock carrying a degraded rendering or a notice."""
    return {"type": "TextBlock", "text": text, "isSubtle": True, "wrap": True}


def degrade_unknown(element: Element) -> list[Element]:
    """Replace an unsupported element or action by its fallback, its altText or a notice.

    An Adaptive Card `fallback` is either another element, used instead, or "drop".
    """
    fallback = element.get("fallback")
    if isinstance(fallback, dict):
        return [fallback]
    if isinstance(fallback, str) and fallback.lower() == "drop":
        return []
    alt_text = element.get("altText")
    if isinstance(alt_text, str) and alt_text:
        return [note(alt_text)]
    return [note(f"[unsupported: {element.get('type', 'element without type')}]")]


def show_card_elements(action: Element) -> list[Element]:
    """Return the contents of an Action.ShowCard as inline elements under a bold heading."""
    card = action.get("card") if isinstance(action.get("card"), dict) else {}
    elements: list[Element] = []
    if action.get("title"):
        elements.append({"type": "TextBlock", "text": str(action["title"]), "weight": "bolder"})
    elements.extend(dict_list(card.get("body")))
    if card.get("actions"):
        elements.append({"type": "ActionSet", "actions": card["actions"]})
    return elements


def split_actions(actions: list[Element]) -> tuple[list[Element], list[Element]]:
    """Split actions into buttons and inline elements (ShowCard contents, notices).

    Action.ToggleVisibility only changes the layout in Teams, so it is dropped. Actions
    disabled with `isEnabled: false` are dropped as well.
    """
    buttons: list[Element] = []
    inline: list[Element] = []
    pending = [action for action in actions if isinstance(action, dict)]
    while pending:
        action = pending.pop(0)
        kind = str(action.get("type"))
        if action.get("isEnabled") is False or kind == "Action.ToggleVisibility":
            continue
        if kind in BUTTON_ACTIONS:
            buttons.append(action)
        elif kind == "Action.ShowCard":
            inline.extend(show_card_elements(action))
        else:
            replacement = degrade_unknown(action)
            pending[:0] = [r for r in replacement if str(r.get("type", "")).startswith("Action.")]
            inline.extend(r for r in replacement if r.get("type") == "TextBlock")
    return buttons, inline


def input_label(element: Element) -> str:
    """Return the best human-readable name of an input: label, placeholder or id."""
    for key in ("label", "placeholder", "title", "id"):
        value = element.get(key)
        if isinstance(value, str) and value:
            return value
    return "input"


def choice_titles(element: Element) -> list[str]:
    """Return the display titles of an Input.ChoiceSet's choices."""
    choices = dict_list(element.get("choices"))
    return [str(c.get("title") or c.get("value") or "") for c in choices]


@dataclass(frozen=True)
class TextState:
    """State shared while rendering one card: the title element, printed once at the top."""

    title: Element | None


TextRenderer = Callable[[Element, TextState], list[str]]


def _text_block(element: Element, state: TextState) -> list[str]:
    if element is state.title:
        return []
    return strip_markdown(str(element.get("text", "")), keep_urls=True).splitlines()


def _rich_text(element: Element, state: TextState) -> list[str]:
    return run_texts(element).splitlines()


def _fact_set(element: Element, state: TextState) -> list[str]:
    return [f"{title}: {value}" for title, value in fact_pairs(element)]


def _children(element: Element, state: TextState) -> list[str]:
    return render_lines(child_elements(element), state)


def _column_set(element: Element, state: TextState) -> list[str]:
    columns = [render_lines(child_elements(c), state) for c in child_elements(element)]
    columns = [lines for lines in columns if lines]
    if columns and all(len(lines) == 1 for lines in columns):
        return [" | ".join(lines[0] for lines in columns)]
    return [line for lines in columns for line in lines]


def _image(element: Element, state: TextState) -> list[str]:
    return [f"[image: {element.get('altText') or element.get('url', '')}]"]


def _action_set(element: Element, state: TextState) -> list[str]:
    buttons, inline = split_actions(dict_list(element.get("actions")))
    return render_lines(inline, state) + button_lines(buttons)


def _input(element: Element, state: TextState) -> list[str]:
    return [f"{input_label(element)}: (input requested)"]


def _choice_set(element: Element, state: TextState) -> list[str]:
    return [f"{input_label(element)}: choose from {' / '.join(choice_titles(element))}"]


_TEXT_RENDERERS: dict[str, TextRenderer] = {
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


def button_lines(buttons: list[Element]) -> list[str]:
    """Return one line such as `[Approve] [Reject]`, with URLs for Action.OpenUrl."""
    labels = []
    for action in buttons:
        label = str(action.get("title") or action_verb(action) or "Open")
        url = action.get("url") if action.get("type") == "Action.OpenUrl" else None
        labels.append(f"[{label}: {url}]" if url else f"[{label}]")
    return [" ".join(labels)] if labels else []


def render_lines(elements: list[Element], state: TextState) -> list[str]:
    """Render elements to plain-text lines, degrading unsupported ones."""
    lines: list[str] = []
    for element in elements:
        if not isinstance(element, dict) or not is_visible(element):
            continue
        renderer = _TEXT_RENDERERS.get(str(element.get("type")))
        if renderer is None:
            lines.extend(render_lines(degrade_unknown(element), state))
        else:
            lines.extend(renderer(element, state))
    return lines


def render_text(card: Element) -> str:
    """Render a card as plain text: title, body lines, `Title: value` facts and `[Button]` lines."""
    state = TextState(title=find_title(card))
    lines = [title_text(card)] if state.title else []
    lines.extend(render_lines(dict_list(card.get("body")), state))
    buttons, inline = split_actions(dict_list(card.get("actions")))
    lines.extend(render_lines(inline, state))
    lines.extend(button_lines(buttons))
    return "\n".join(line for line in lines if line.strip())

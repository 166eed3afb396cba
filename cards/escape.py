"""Escape text and convert Adaptive Card Markdown for Slack mrkdwn, Mattermost Markdown and plain text.

Adaptive Card TextBlock text may use the Markdown subset `**bold**` and `[text](url)`, and
only those two constructs are converted. Everything else is escaped as literal text, so a
value typed by a user does not become a mention, a channel ping or a link.
"""

import re
from urllib.parse import quote, urlsplit

# Matches `**bold**` or `[label](url)`. The URL may not contain whitespace or `)`.
_MARKUP = re.compile(r"\*\*(?P<bold>.+?)\*\*|\[(?P<label>[^\]\n]+)\]\((?P<url>[^)\s]+)\)")

LINK_SCHEMES = frozenset({"http", "https", "mailto"})

# Slack mrkdwn treats `&`, `<` and `>` as control characters (`<!here>`, `<@U123>`, `<url|label>`),
# so they are sent as HTML entities.
_SLACK_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})

# Inline Markdown punctuation, escaped with a backslash (CommonMark backslash escapes).
_MARKDOWN_INLINE = re.compile(r"([\\`*_~\[\]()<>|!#])")
# Block markers that only take effect at the start of a line: bullets, setext underlines and
# numbered lists (`1.`). Quotes and headings are covered by `>` and `#` above.
_MARKDOWN_BULLET = re.compile(r"^(\s*)([-+=])", re.MULTILINE)
_MARKDOWN_NUMBERED = re.compile(r"^(\s*\d+)\.", re.MULTILINE)

# Mattermost highlights and notifies `@name`, `@channel`, `@all` and `@here` in attachment text
# and field values. A ZERO WIDTH JOINER (U+200D) after the `@` is invisible, and it is not one of
# the characters allowed in a Mattermost username (letters, digits, `.`, `-`, `_`), so no mention
# is parsed. Backticks would also stop mentions but render as code and cannot sit inside a link
# label, so the joiner is used. NOTE: this also puts the joiner inside e-mail addresses, and it
# was checked against Mattermost's username rules, not against a running server.
_MENTION = re.compile(r"@(?=[\w.\-])")
_ZERO_WIDTH_JOINER = "\u200d"


def is_safe_url(url: str) -> bool:
    """Return True when the URL is absolute and uses http, https or mailto."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in LINK_SCHEMES and bool(parts.netloc or parts.scheme == "mailto")


def quote_url(url: str) -> str:
    """Percent-encode the characters that would end a Markdown or Slack link early."""
    return quote(url, safe="/:?#[]@!$&'*+,;=%~-._")


def escape_slack(text: str) -> str:
    """Escape `&`, `<` and `>` for Slack mrkdwn so that text cannot form mentions or links."""
    return text.translate(_SLACK_ESCAPES)


def markdown_to_slack(text: str) -> str:
    """Convert `**bold**` and `[label](url)` to Slack mrkdwn and escape all other text."""
    parts: list[str] = []
    position = 0
    for match in _MARKUP.finditer(text):
        parts.append(escape_slack(text[position : match.start()]))
        parts.append(_slack_markup(match))
        position = match.end()
    parts.append(escape_slack(text[position:]))
    return "".join(parts)


def _slack_markup(match: re.Match[str]) -> str:
    bold = match.group("bold")
    if bold is not None:
        return f"*{markdown_to_slack(bold)}*"
    url = match.group("url")
    if not is_safe_url(url):
        return escape_slack(match.group(0))
    label = escape_slack(match.group("label")).replace("|", "/")
    return f"<{escape_slack(quote_url(url))}|{label}>"


def neutralise_mentions(text: str) -> str:
    """Insert a zero width joiner after every `@` that starts a Mattermost mention."""
    return _MENTION.sub("@" + _ZERO_WIDTH_JOINER, text)


def escape_mattermost(value: str) -> str:
    """Escape a user value for Mattermost Markdown: no formatting, links or mentions."""
    escaped = _MARKDOWN_INLINE.sub(r"\\\1", value)
    escaped = _MARKDOWN_BULLET.sub(r"\1\\\2", escaped)
    escaped = _MARKDOWN_NUMBERED.sub(r"\1\\.", escaped)
    return neutralise_mentions(escaped)


def markdown_to_mattermost(text: str) -> str:
    """Pass template Markdown through to Mattermost, escaping unsafe links and mentions."""
    parts: list[str] = []
    position = 0
    for match in _MARKUP.finditer(text):
        parts.append(neutralise_mentions(text[position : match.start()]))
        parts.append(_mattermost_markup(match))
        position = match.end()
    parts.append(neutralise_mentions(text[position:]))
    return "".join(parts)


def _mattermost_markup(match: re.Match[str]) -> str:
    bold = match.group("bold")
    if bold is not None:
        return f"**{markdown_to_mattermost(bold)}**"
    url = match.group("url")
    if not is_safe_url(url):
        return escape_mattermost(match.group(0))
    return f"[{neutralise_mentions(match.group('label'))}]({quote_url(url)})"


def mattermost_link(label: str, url: str) -> str:
    """Return a Markdown link with an escaped label, or the escaped label alone for unsafe URLs."""
    if not is_safe_url(url):
        return escape_mattermost(label)
    return f"[{escape_mattermost(label)}]({quote_url(url)})"


def strip_markdown(text: str, keep_urls: bool = False) -> str:
    """Remove `**bold**` markers and reduce `[label](url)` to its label, or `label (url)`."""

    def replace(match: re.Match[str]) -> str:
        bold = match.group("bold")
        if bold is not None:
            return strip_markdown(bold, keep_urls)
        label = match.group("label")
        return f"{label} ({match.group('url')})" if keep_urls else label

    return _MARKUP.sub(replace, text)


def truncate(text: str, limit: int) -> str:
    """Cut text to at most `limit` characters, ending with "…" when something was cut."""
    if len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


def truncate_mrkdwn(text: str, limit: int) -> str:
    """Truncate Slack mrkdwn without leaving half of a `<link|label>` or an `&amp;` entity."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    open_link = cut.rfind("<")
    if open_link > cut.rfind(">"):
        cut = cut[:open_link]
    ampersand = cut.rfind("&")
    if ampersand > cut.rfind(";"):
        cut = cut[:ampersand]
    return cut + "…"

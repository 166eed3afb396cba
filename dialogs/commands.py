"""Parsing the words a person types, the same on every platform."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from policies.decision import ActionRequest

MAX_COMMAND_LENGTH = 2000


class CommandError(ValueError):
    """Text that is not a valid command. The message states what to type instead."""


@dataclass(frozen=True)
class Command:
    name: str
    arguments: list[str] = field(default_factory=list)
    text: str = ""


def parse_command(text: str) -> Command:
    """Split typed text into a command name and its arguments (shell-style quoting)."""
    text = text.strip()
    if len(text) > MAX_COMMAND_LENGTH:
        raise CommandError(f"Refused: the command is longer than {MAX_COMMAND_LENGTH} characters.")
    try:
        words = shlex.split(text)
    except ValueError as error:
        raise CommandError(f"Refused: the command could not be read ({error}). Check the quotes.") from None
    if not words:
        return Command(name="help", text=text)
    return Command(name=words[0].lower(), arguments=words[1:], text=text)


def parse_run(arguments: list[str]) -> ActionRequest:
    """Parse `run <action> [key=value ...] [--ticket REF] [--confirm TARGET]`."""
    if not arguments:
        raise CommandError("Refused: run needs an action: run <action> key=value --ticket CHG-123.")

    action, rest = arguments[0], arguments[1:]
    parameters: dict[str, str] = {}
    options: dict[str, str] = {}
    index = 0
    while index < len(rest):
        word = rest[index]
        if word.startswith("--"):
            name, _, inline = word[2:].partition("=")
            if name not in ("ticket", "confirm"):
                raise CommandError(f"Refused: unknown option --{name}. Options: --ticket REF, --confirm TARGET.")
            if inline:
                value = inline
            elif index + 1 < len(rest):
                index += 1
                value = rest[index]
            else:
                raise CommandError(f"Refused: --{name} needs a value, for example --{name} CHG-123.")
            options[name] = value
        else:
            key, separator, value = word.partition("=")
            if not separator or not key:
                raise CommandError(f"Refused: parameters are written key=value, and {word} is not.")
            if key in parameters:
                raise CommandError(f"Refused: the parameter {key} is given twice.")
            parameters[key] = value
        index += 1

    return ActionRequest(
        action=action,
        parameters=parameters,
        ticket=options.get("ticket"),
        confirm=options.get("confirm"),
    )

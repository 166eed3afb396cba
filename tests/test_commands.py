"""Parsing typed commands."""

from __future__ import annotations

import pytest

from dialogs.commands import CommandError, parse_command, parse_run


def test_command_name_lowercased() -> None:
    command = parse_command("  RUN deploy-demo version=1.2.3 ")

    assert command.name == "run"
    assert command.arguments == ["deploy-demo", "version=1.2.3"]


def test_empty_text_means_help() -> None:
    assert parse_command("").name == "help"


def test_run_parses_parameters_and_options() -> None:
    request = parse_run(["deploy-demo", "version=1.2.3", "--ticket", "CHG-101", "--confirm=demo-service"])

    assert request.action == "deploy-demo"
    assert request.parameters == {"version": "1.2.3"}
    assert request.ticket == "CHG-101"
    assert request.confirm == "demo-service"


def test_quoted_value_kept_whole() -> None:
    command = parse_command('run deploy-demo note="two words"')

    assert parse_run(command.arguments).parameters == {"note": "two words"}


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ([], "run needs an action"),
        (["deploy-demo", "version"], "written key=value"),
        (["deploy-demo", "=1"], "written key=value"),
        (["deploy-demo", "a=1", "a=2"], "given twice"),
        (["deploy-demo", "--force"], "unknown option --force"),
        (["deploy-demo", "--ticket"], "--ticket needs a value"),
    ],
    ids=["no-action", "no-equals", "no-key", "duplicate", "unknown-option", "option-without-value"],
)
def test_run_rejects_bad_arguments(arguments: list[str], expected: str) -> None:
    with pytest.raises(CommandError, match=expected):
        parse_run(arguments)


def test_unbalanced_quote_rejected() -> None:
    with pytest.raises(CommandError, match="Check the quotes"):
        parse_command('run deploy-demo note="open')


def test_overlong_command_rejected() -> None:
    with pytest.raises(CommandError, match="longer than 2000"):
        parse_command("help " + "x" * 2000)

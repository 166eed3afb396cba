"""The configuration file: its schema, cross-checks and loader.

One YAML file describes people, roles, channels, tickets and the action catalog.
Secrets never live here: they come from environment variables.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

NAME_PATTERN = r"^[a-z][a-z0-9-]{0,62}$"
PARAMETER_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"


class ConfigError(Exception):
    """A configuration file that cannot be used; the message names the key and the fix."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PersonSpec(_Strict):
    display_name: str = ""
    roles: list[str] = Field(default_factory=list)
    teams: str | None = Field(default=None, description="Microsoft Entra (AAD) object id")
    slack: str | None = Field(default=None, description="Slack user id")
    mattermost: str | None = Field(default=None, description="Mattermost user id")


class RoleSpec(_Strict):
    description: str = ""


class ChannelSpec(_Strict):
    teams: str | None = None
    slack: str | None = None
    mattermost: str | None = None


class ParameterSpec(_Strict):
    description: str = ""
    required: bool = True
    pattern: str = Field(default=r"^[A-Za-z0-9._:/-]{1,128}$")
    default: str | None = None

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as error:
            raise ValueError(f"invalid regular expression: {error}") from None
        return value


class ApprovalRule(_Strict):
    roles: list[str] = Field(min_length=1)
    count: int = Field(default=1, ge=1, le=5)
    expires_minutes: int = Field(default=30, ge=1, le=7 * 24 * 60)


class ExecutorSpec(_Strict):
    # Only the local executor exists so far; AWS executors extend this literal.
    type: Literal["local"]
    handler: str
    duration_seconds: float = Field(default=0.2, ge=0, le=60)


class ActionSpec(_Strict):
    description: str
    owner: str
    target: str
    environment: str = ""
    mutating: bool = True
    destructive: bool = False
    requires_ticket: bool = True
    allowed_roles: list[str] = Field(min_length=1)
    channels: list[str] = Field(default_factory=list)
    parameters: dict[str, ParameterSpec] = Field(default_factory=dict)
    approval: ApprovalRule | None = None
    executor: ExecutorSpec


class TicketSpec(_Strict):
    pattern: str = r"^[A-Z][A-Z0-9]*-[0-9]+$"
    url: str | None = Field(default=None, description="link template with {ticket}")


class BotSpec(_Strict):
    name: str = "chatops"


class ChatOpsConfig(_Strict):
    bot: BotSpec = Field(default_factory=BotSpec)
    people: dict[str, PersonSpec]
    roles: dict[str, RoleSpec]
    channels: dict[str, ChannelSpec] = Field(default_factory=dict)
    tickets: TicketSpec = Field(default_factory=TicketSpec)
    actions: dict[str, ActionSpec]


def load_config(path: Path) -> ChatOpsConfig:
    """Read, validate and cross-check a configuration file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(
            f"{path}: cannot read the configuration file ({error.strerror}). "
            "Pass an existing file with --config or CHATOPS_CONFIG."
        ) from None

    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or "syntax error"
        raise ConfigError(f"{path}: invalid YAML{where}: {problem}. Fix the syntax there.") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the file must be a YAML mapping with people, roles and actions.")

    try:
        config = ChatOpsConfig.model_validate(raw)
    except ValidationError as error:
        raise ConfigError(f"{path}: " + "; ".join(_describe(item) for item in error.errors())) from None

    problems = _cross_check(config)
    if problems:
        raise ConfigError(f"{path}: " + "; ".join(problems))
    return config


def _describe(item: Any) -> str:
    key = ".".join(str(part) for part in item["loc"]) or "(top level)"
    kind = item["type"]
    if kind == "missing":
        return f"{key}: required key is missing. Add it."
    if kind == "extra_forbidden":
        return f"{key}: unknown key. Remove it or check its spelling."
    return f"{key}: {item['msg']}. Fix this value."


def _unknown(known: dict[str, Any], kind: str, name: str) -> str:
    """Describe an unknown reference, with the closest defined name when there is one."""
    matches = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    hint = f" Did you mean '{matches[0]}'?" if matches else ""
    return f"unknown {kind} '{name}'.{hint} Define it under {kind}s or fix the name."


def _cross_check(config: ChatOpsConfig) -> list[str]:
    problems: list[str] = []
    problems += _check_names(config)
    problems += _check_people(config)
    for name, action in config.actions.items():
        problems += _check_action(config, name, action)
    try:
        re.compile(config.tickets.pattern)
    except re.error as error:
        problems.append(f"tickets.pattern: invalid regular expression ({error}). Fix the pattern.")
    if config.tickets.url is not None and "{ticket}" not in config.tickets.url:
        problems.append("tickets.url: the link template must contain {ticket}. Add it.")
    return problems


def _check_names(config: ChatOpsConfig) -> list[str]:
    problems = []
    for section in ("people", "roles", "channels", "actions"):
        for name in getattr(config, section):
            if not re.match(NAME_PATTERN, name):
                problems.append(
                    f"{section}.{name}: invalid name. Use lowercase letters, digits and dashes, "
                    "starting with a letter."
                )
    return problems


def _check_people(config: ChatOpsConfig) -> list[str]:
    problems = []
    owners: dict[tuple[str, str], str] = {}
    for name, person in config.people.items():
        for index, role in enumerate(person.roles):
            if role not in config.roles:
                problems.append(f"people.{name}.roles.{index}: " + _unknown(config.roles, "role", role))
        for platform in ("teams", "slack", "mattermost"):
            user_id = getattr(person, platform)
            if user_id is None:
                continue
            previous = owners.setdefault((platform, user_id), name)
            if previous != name:
                problems.append(
                    f"people.{name}.{platform}: id '{user_id}' is already used by people.{previous}. "
                    "Each platform account maps to one person."
                )
    return problems


def _check_action(config: ChatOpsConfig, name: str, action: ActionSpec) -> list[str]:
    problems = []
    key = f"actions.{name}"
    for index, role in enumerate(action.allowed_roles):
        if role not in config.roles:
            problems.append(f"{key}.allowed_roles.{index}: " + _unknown(config.roles, "role", role))
    for index, channel in enumerate(action.channels):
        if channel not in config.channels:
            problems.append(f"{key}.channels.{index}: " + _unknown(config.channels, "channel", channel))
    for parameter in action.parameters:
        if not re.match(PARAMETER_PATTERN, parameter):
            problems.append(
                f"{key}.parameters.{parameter}: invalid parameter name. "
                "Use lowercase letters, digits and underscores."
            )
    if action.approval is not None:
        for index, role in enumerate(action.approval.roles):
            if role not in config.roles:
                problems.append(f"{key}.approval.roles.{index}: " + _unknown(config.roles, "role", role))
    if action.mutating and action.approval is None:
        problems.append(f"{key}.approval: a mutating action needs an approval rule. Add approval.roles.")
    if action.destructive and not action.mutating:
        problems.append(f"{key}.destructive: a destructive action must also be mutating. Set mutating: true.")
    return problems

"""Loading and validating the configuration file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from config import ConfigError, load_config
from tests.harness import CONFIG_PATH


def write_config(tmp_path: Path, mutate) -> Path:
    data = yaml.safe_load(CONFIG_PATH.read_text())
    mutate(data)
    path = tmp_path / "chatops.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_shipped_config_loads() -> None:
    config = load_config(CONFIG_PATH)

    assert "deploy-demo" in config.actions
    assert config.actions["deploy-demo"].approval.roles == ["approver"]
    assert config.people["demo-requester"].slack == "U0DEMOREQ"
    assert config.people["demo-approver"].mattermost == "demoapprover0000000000000a"


def test_missing_file_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--config or CHATOPS_CONFIG"):
        load_config(tmp_path / "absent.yaml")


def test_invalid_yaml_reported(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("people: [unclosed\n")

    with pytest.raises(ConfigError, match=r"broken\.yaml: invalid YAML at line 2, column 1"):
        load_config(path)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda data: data["actions"]["deploy-demo"]["approval"]["roles"].__setitem__(0, "aprover"),
         r"actions\.deploy-demo\.approval\.roles\.0: unknown role 'aprover'\. Did you mean 'approver'\?"),
        (lambda data: data["people"]["demo-requester"]["roles"].append("admin"),
         r"people\.demo-requester\.roles\.1: unknown role 'admin'"),
        (lambda data: data["actions"]["deploy-demo"].pop("owner"),
         r"actions\.deploy-demo\.owner: required key is missing"),
        (lambda data: data["actions"]["deploy-demo"].__setitem__("ownr", "x"),
         r"actions\.deploy-demo\.ownr: unknown key"),
        (lambda data: data["actions"]["deploy-demo"].pop("approval"),
         r"actions\.deploy-demo\.approval: a mutating action needs an approval rule"),
        (lambda data: data["actions"]["deploy-demo"]["executor"].__setitem__("type", "ssh"),
         r"actions\.deploy-demo\.executor\.type"),
        (lambda data: data["people"]["demo-approver"].__setitem__("slack", "U0DEMOREQ"),
         r"people\.demo-\w+\.slack: id 'U0DEMOREQ' is already used by people\.demo-\w+"),
        (lambda data: data["actions"]["deploy-demo"]["parameters"]["version"].__setitem__("pattern", "(["),
         r"actions\.deploy-demo\.parameters\.version\.pattern"),
        (lambda data: data["actions"]["deploy-demo"].__setitem__("channels", ["ops"]),
         r"actions\.deploy-demo\.channels\.0: unknown channel 'ops'"),
        (lambda data: data["tickets"].__setitem__("url", "https://tickets.example.com/browse"),
         r"tickets\.url: the link template must contain \{ticket\}"),
        (lambda data: data["actions"].__setitem__("Deploy_Demo", data["actions"]["deploy-demo"]),
         r"actions\.Deploy_Demo: invalid name"),
    ],
    ids=[
        "unknown-approval-role",
        "unknown-person-role",
        "missing-owner",
        "misspelled-key",
        "mutating-without-approval",
        "unknown-executor",
        "duplicate-platform-id",
        "invalid-parameter-pattern",
        "unknown-channel",
        "ticket-url-without-placeholder",
        "invalid-action-name",
    ],
)
def test_invalid_config_names_key(tmp_path: Path, mutate, expected: str) -> None:
    path = write_config(tmp_path, mutate)

    with pytest.raises(ConfigError, match=expected):
        load_config(path)

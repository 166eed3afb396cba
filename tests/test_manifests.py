"""Offline checks of the Teams and Slack app manifests under deploy/.

The vendor JSON Schemas are copied into tests/schemas/ (its README lists the
source of each file). Every `$ref` resolves to those copies, and the registry
raises for any other URI, so no test touches the network.
"""

from __future__ import annotations

import copy
import json
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource, Unresolvable
from referencing.jsonschema import DRAFT7

REPO_ROOT = Path(__file__).resolve().parent.parent
SCHEMAS_DIR = Path(__file__).resolve().parent / "schemas"
TEAMS_DIR = REPO_ROOT / "deploy" / "teams"
SLACK_MANIFEST_PATH = REPO_ROOT / "deploy" / "slack" / "manifest.yaml"

PLACEHOLDER_GUID = "00000000-0000-0000-0000-000000000000"
BOT_COMMANDS = ["help", "whoami", "run", "approvals"]
BOT_SCOPES = ["personal", "team", "groupChat"]

# The root Slack schema refers to the per-version files by these URLs.
SLACK_SCHEMA_URL_V1 = (
    "https://raw.githubusercontent.com/slackapi/manifest-schema/v0.5.0/schemas/manifest.schema.1.0.0.json"
)
SLACK_SCHEMA_URL_V2 = (
    "https://raw.githubusercontent.com/slackapi/manifest-schema/v0.5.0/schemas/manifest.schema.2.0.0.json"
)
SLACK_EVENTS_PATH = "/slack/events"
SLACK_BOT_SCOPES = [
    "app_mentions:read",
    "chat:write",
    "commands",
    "im:history",
    "im:read",
    "im:write",
    "channels:read",
    "groups:read",
    "users:read",
]


class RaisingRetriever:
    """`retrieve` callback for a referencing.Registry that raises for every URI.

    The requested URIs are recorded so a test can prove the callback ran.
    """

    def __init__(self) -> None:
        self.requested: list[str] = []

    def __call__(self, uri: str) -> Resource:
        self.requested.append(uri)
        raise NoSuchResource(ref=uri)


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def offline_registry(retrieve: Callable[[str], Resource],
                     resources: dict[str, Any] | None = None) -> Registry:
    """Build a registry that serves `resources` (URI -> draft-07 schema) and nothing else."""
    registry = Registry(retrieve=retrieve)
    pairs = [
        (uri, Resource(contents=contents, specification=DRAFT7))
        for uri, contents in (resources or {}).items()
    ]
    return registry.with_resources(pairs)


TEAMS_SCHEMA = load_json(SCHEMAS_DIR / "teams-manifest-v1.30.schema.json")
SLACK_ROOT_SCHEMA = load_json(SCHEMAS_DIR / "slack-app-manifest.schema.json")
SLACK_V1_SCHEMA = load_json(SCHEMAS_DIR / "slack-app-manifest.v1.schema.json")
SLACK_V2_SCHEMA = load_json(SCHEMAS_DIR / "slack-app-manifest.v2.schema.json")

# The Teams file declares draft-04, but it uses `const` and `if`/`then`, which
# Draft4Validator ignores, so a wrong manifestVersion would pass. Draft-07 defines
# both keywords. check_schema() is not called because one pattern uses `\p{L}`,
# which Python's re module cannot compile. That pattern applies only to
# `extensions`, which this manifest does not use.
TEAMS_VALIDATOR = Draft7Validator(TEAMS_SCHEMA, registry=offline_registry(RaisingRetriever()))

# The schema limits `version` to 256 characters only, although its description
# requires semver. `#/definitions/semver` exists but nothing refers to it.
TEAMS_SEMVER_VALIDATOR = Draft7Validator(TEAMS_SCHEMA["definitions"]["semver"])

# Validating against the v1 file directly names the failing field. The root
# file reports every failure as one "not valid under any of the given schemas".
SLACK_V1_VALIDATOR = Draft7Validator(SLACK_V1_SCHEMA, registry=offline_registry(RaisingRetriever()))
SLACK_ROOT_VALIDATOR = Draft7Validator(
    SLACK_ROOT_SCHEMA,
    registry=offline_registry(
        RaisingRetriever(),
        {SLACK_SCHEMA_URL_V1: SLACK_V1_SCHEMA, SLACK_SCHEMA_URL_V2: SLACK_V2_SCHEMA},
    ),
)


def error_paths(validator: Draft7Validator, instance: Any) -> list[str]:
    """Return the instance path of each validation error, as "a/0/b" ("" is the root)."""
    return ["/".join(str(part) for part in error.absolute_path)
            for error in validator.iter_errors(instance)]


def teams_error_paths(manifest: dict[str, Any]) -> list[str]:
    """Return the paths of schema errors plus "version" when the version is not semver."""
    paths = error_paths(TEAMS_VALIDATOR, manifest)
    if not TEAMS_SEMVER_VALIDATOR.is_valid(manifest.get("version")):
        paths.append("version")
    return paths


def iter_urls(value: Any) -> Iterator[str]:
    """Yield every string in a nested manifest that starts with http:// or https://."""
    if isinstance(value, dict):
        for item in value.values():
            yield from iter_urls(item)
    elif isinstance(value, list):
        for item in value:
            yield from iter_urls(item)
    elif isinstance(value, str) and value.startswith(("http://", "https://")):
        yield value


def urls_off_events_path(manifest: dict[str, Any]) -> list[str]:
    return [url for url in iter_urls(manifest) if not url.endswith(SLACK_EVENTS_PATH)]


# PNG reading, enough for the two icons: 8-bit, non-interlaced images.

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNELS_BY_COLOR_TYPE = {0: 1, 2: 3, 4: 2, 6: 4}  # grey, RGB, grey+alpha, RGBA


@dataclass
class Png:
    width: int
    height: int
    bit_depth: int
    color_type: int
    interlace: int
    idat: bytes


def read_png(path: Path) -> Png:
    """Parse the PNG chunks of `path`, checking the signature and every CRC."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path} is not a PNG file"

    offset = 8
    header: tuple[int, ...] | None = None
    idat = b""
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset:offset + 4])
        kind = data[offset + 4:offset + 8]
        body = data[offset + 8:offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length:offset + 12 + length])
        assert zlib.crc32(kind + body) & 0xFFFFFFFF == crc, f"{path}: bad CRC in {kind!r}"

        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
        offset += 12 + length

    assert header is not None, f"{path} has no IHDR chunk"
    width, height, bit_depth, color_type, _, _, interlace = header
    return Png(width, height, bit_depth, color_type, interlace, idat)


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def decode_rows(png: Png) -> list[bytes]:
    """Undo the PNG scanline filters (types 0-4) of an 8-bit, non-interlaced image."""
    assert png.bit_depth == 8, f"unsupported bit depth {png.bit_depth}"
    assert png.interlace == 0, "interlaced PNG files are not supported"
    bpp = CHANNELS_BY_COLOR_TYPE[png.color_type]
    stride = png.width * bpp
    raw = zlib.decompress(png.idat)

    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(png.height):
        start = y * (stride + 1)
        filter_type = raw[start]
        row = bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            left = row[i - bpp] if i >= bpp else 0
            up = previous[i]
            upper_left = previous[i - bpp] if i >= bpp else 0
            predictor = {
                0: 0,
                1: left,
                2: up,
                3: (left + up) // 2,
                4: _paeth(left, up, upper_left),
            }[filter_type]
            row[i] = (row[i] + predictor) & 0xFF
        rows.append(bytes(row))
        previous = row
    return rows


@pytest.fixture
def teams_manifest() -> dict[str, Any]:
    return load_json(TEAMS_DIR / "manifest.json")


@pytest.fixture
def slack_manifest() -> dict[str, Any]:
    return yaml.safe_load(SLACK_MANIFEST_PATH.read_text(encoding="utf-8"))


# Teams


def test_teams_schema_valid(teams_manifest):
    assert error_paths(TEAMS_VALIDATOR, teams_manifest) == []


def test_teams_version_semver(teams_manifest):
    assert TEAMS_SEMVER_VALIDATOR.is_valid(teams_manifest["version"])


def test_teams_manifest_version(teams_manifest):
    assert teams_manifest["manifestVersion"] == "1.30"
    assert teams_manifest["$schema"] == (
        "https://developer.microsoft.com/json-schemas/teams/v1.30/MicrosoftTeams.schema.json"
    )


def test_teams_placeholder_ids(teams_manifest):
    assert teams_manifest["id"] == PLACEHOLDER_GUID
    assert teams_manifest["bots"][0]["botId"] == teams_manifest["id"]


def test_teams_names(teams_manifest):
    assert teams_manifest["name"]["short"] == "ChatOps"
    assert teams_manifest["developer"]["name"] == "ChatOps"


def test_teams_bot_scopes(teams_manifest):
    assert len(teams_manifest["bots"]) == 1
    assert teams_manifest["bots"][0]["scopes"] == BOT_SCOPES


def test_teams_bot_no_files(teams_manifest):
    assert teams_manifest["bots"][0]["supportsFiles"] is False


@pytest.mark.parametrize("scope", BOT_SCOPES)
def test_teams_commands_per_scope(teams_manifest, scope):
    lists = [entry for entry in teams_manifest["bots"][0]["commandLists"]
             if scope in entry["scopes"]]
    assert len(lists) == 1
    assert [command["title"] for command in lists[0]["commands"]] == BOT_COMMANDS


def test_teams_run_usage(teams_manifest):
    commands = teams_manifest["bots"][0]["commandLists"][0]["commands"]
    run = next(command for command in commands if command["title"] == "run")
    assert "run <action> key=value --ticket REF" in run["description"]


def test_teams_valid_domains(teams_manifest):
    assert teams_manifest["validDomains"] == ["chatops.example.com"]


@pytest.mark.parametrize("field", ["websiteUrl", "privacyUrl", "termsOfUseUrl"])
def test_teams_developer_urls(teams_manifest, field):
    url = urlsplit(teams_manifest["developer"][field])
    assert url.scheme == "https"
    assert url.hostname is not None
    assert url.hostname == "example.com" or url.hostname.endswith(".example.com")


def test_teams_accent_matches_icon(teams_manifest):
    color_rows = decode_rows(read_png(TEAMS_DIR / "color.png"))
    corner = tuple(color_rows[0][:3])
    assert teams_manifest["accentColor"].lower() == "#%02x%02x%02x" % corner


@pytest.mark.parametrize(("icon", "size"), [("outline", 32), ("color", 192)])
def test_teams_icon_size(teams_manifest, icon, size):
    path = TEAMS_DIR / teams_manifest["icons"][icon]
    assert path.is_file()
    png = read_png(path)
    assert png.width == size
    assert png.height == size


def test_teams_outline_white_transparent(teams_manifest):
    png = read_png(TEAMS_DIR / teams_manifest["icons"]["outline"])
    assert png.color_type == 6  # RGBA, so the background can be transparent

    rows = decode_rows(png)
    pixels = [row[i:i + 4] for row in rows for i in range(0, len(row), 4)]
    not_white = [pixel for pixel in pixels if pixel[3] != 0 and pixel[:3] != b"\xff\xff\xff"]
    assert not_white == []
    assert any(pixel[3] == 0 for pixel in pixels)
    assert any(pixel[3] == 255 for pixel in pixels)


def test_teams_color_icon_colour(teams_manifest):
    png = read_png(TEAMS_DIR / teams_manifest["icons"]["color"])
    assert png.color_type in (2, 6)  # RGB or RGBA, not greyscale


def _locate(document: Any, path: str) -> tuple[Any, str | int]:
    """Return the container of the item at a "/"-separated path, and its key or index."""
    *parents, last = path.split("/")
    target = document
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    return target, int(last) if isinstance(target, list) else last


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Return a mutation that sets the value at a "/"-separated path."""

    def mutate(document: dict[str, Any]) -> None:
        target, key = _locate(document, path)
        target[key] = value

    return mutate


def _delete(path: str) -> Callable[[dict[str, Any]], None]:
    """Return a mutation that removes the item at a "/"-separated path."""

    def mutate(document: dict[str, Any]) -> None:
        target, key = _locate(document, path)
        del target[key]

    return mutate


def _add_second_bot(document: dict[str, Any]) -> None:
    document["bots"].append(copy.deepcopy(document["bots"][0]))


# Each case: a defect, and the path of the error it must cause.
TEAMS_DEFECTS = [
    pytest.param(_set("manifestVersion", "1.99"), "manifestVersion", id="manifest-version-1.99"),
    pytest.param(_set("id", "chatops-bot"), "id", id="id-not-guid"),
    pytest.param(_set("version", "one-point-oh"), "version", id="version-not-semver"),
    pytest.param(_set("version", "1.0.0-beta"), "version", id="version-prerelease"),
    pytest.param(_delete("bots/0/botId"), "bots/0", id="bot-id-missing"),
    pytest.param(_set("bots/0/scopes/0", "channel"), "bots/0/scopes/0", id="scope-channel"),
    pytest.param(_add_second_bot, "bots", id="two-bots"),
    pytest.param(_set("name/short", "C" * 31), "name/short", id="short-name-31-chars"),
    pytest.param(_set("accentColor", "blue"), "accentColor", id="accent-not-hex"),
    pytest.param(_delete("developer/privacyUrl"), "developer", id="privacy-url-missing"),
]


@pytest.mark.parametrize(("mutate", "expected_path"), TEAMS_DEFECTS)
def test_teams_defect_rejected(teams_manifest, mutate, expected_path):
    broken = copy.deepcopy(teams_manifest)
    mutate(broken)
    assert expected_path in teams_error_paths(broken)


# Slack


def test_slack_v1_schema_valid(slack_manifest):
    assert error_paths(SLACK_V1_VALIDATOR, slack_manifest) == []


def test_slack_root_schema_valid(slack_manifest):
    assert error_paths(SLACK_ROOT_VALIDATOR, slack_manifest) == []


def test_slack_major_version(slack_manifest):
    assert slack_manifest["_metadata"]["major_version"] == 1


def test_slack_names(slack_manifest):
    assert slack_manifest["display_information"]["name"] == "ChatOps"
    assert slack_manifest["features"]["bot_user"]["display_name"] == "chatops"
    assert slack_manifest["features"]["bot_user"]["always_online"] is True


def test_slack_slash_command(slack_manifest):
    commands = slack_manifest["features"]["slash_commands"]
    assert len(commands) == 1
    assert commands[0]["command"] == "/chatops"
    assert commands[0]["description"]
    assert commands[0]["usage_hint"] == "help | whoami | run <action> key=value --ticket REF | approvals"
    assert commands[0]["should_escape"] is False


def test_slack_bot_scopes(slack_manifest):
    assert slack_manifest["oauth_config"]["scopes"]["bot"] == SLACK_BOT_SCOPES


def test_slack_bot_events(slack_manifest):
    assert slack_manifest["settings"]["event_subscriptions"]["bot_events"] == ["app_mention", "message.im"]


def test_slack_messages_tab(slack_manifest):
    # Without the Messages tab, people cannot send the bot direct messages.
    assert slack_manifest["features"]["app_home"]["messages_tab_enabled"] is True
    assert slack_manifest["features"]["app_home"]["messages_tab_read_only_enabled"] is False


def test_slack_interactivity(slack_manifest):
    assert slack_manifest["settings"]["interactivity"]["is_enabled"] is True


@pytest.mark.parametrize("flag", ["org_deploy_enabled", "socket_mode_enabled", "token_rotation_enabled"])
def test_slack_setting_off(slack_manifest, flag):
    assert slack_manifest["settings"][flag] is False


def test_slack_urls_events_path(slack_manifest):
    urls = list(iter_urls(slack_manifest))
    assert len(urls) == 3  # slash command, event subscriptions, interactivity
    assert urls_off_events_path(slack_manifest) == []
    assert all(url.startswith("https://chatops.example.com/") for url in urls)


def test_slack_url_check_rejects_path(slack_manifest):
    broken = copy.deepcopy(slack_manifest)
    broken["settings"]["interactivity"]["request_url"] = "https://chatops.example.com/slack/actions"
    assert urls_off_events_path(broken) == ["https://chatops.example.com/slack/actions"]


# Each case: a defect, and the path of the error it must cause against the v1 file.
SLACK_DEFECTS = [
    pytest.param(_set("features/slash_commands/0/command", "chatops"),
                 "features/slash_commands/0/command", id="command-without-slash"),
    pytest.param(_delete("settings/interactivity/is_enabled"),
                 "settings/interactivity", id="interactivity-without-is-enabled"),
    pytest.param(_delete("display_information/name"), "display_information", id="name-missing"),
    pytest.param(_set("display_information/name", "C" * 36), "display_information/name", id="name-36-chars"),
    pytest.param(_set("settings/event_subscriptions/request_url", "ftp://chatops.example.com/slack/events"),
                 "settings/event_subscriptions/request_url", id="request-url-ftp"),
    pytest.param(_delete("features/bot_user/display_name"), "features/bot_user", id="bot-display-name-missing"),
    pytest.param(_set("unknown_section", {}), "", id="unknown-top-level-key"),
]


@pytest.mark.parametrize(("mutate", "expected_path"), SLACK_DEFECTS)
def test_slack_defect_rejected(slack_manifest, mutate, expected_path):
    broken = copy.deepcopy(slack_manifest)
    mutate(broken)
    assert expected_path in error_paths(SLACK_V1_VALIDATOR, broken)


@pytest.mark.parametrize(("mutate", "expected_path"), SLACK_DEFECTS)
def test_slack_root_defect_rejected(slack_manifest, mutate, expected_path):
    broken = copy.deepcopy(slack_manifest)
    mutate(broken)
    assert error_paths(SLACK_ROOT_VALIDATOR, broken) != []


# Registry


def test_registry_rejects_remote_ref():
    retriever = RaisingRetriever()
    validator = Draft7Validator(
        {"$ref": "https://schemas.example.com/remote.json"},
        registry=offline_registry(retriever),
    )
    with pytest.raises(Unresolvable):
        validator.validate({})
    assert retriever.requested == ["https://schemas.example.com/remote.json"]

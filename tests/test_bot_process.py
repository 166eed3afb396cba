"""`python bot.py` as a person starts it: flags, environment, logs, health check and clean stops."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.harness import CONFIG_PATH, ROOT

START_TIMEOUT = 20.0
BASE_ENVIRONMENT = {
    name: value
    for name, value in os.environ.items()
    if not name.startswith(("MICROSOFT_APP_", "SLACK_", "MATTERMOST_", "CHATOPS_"))
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_bot(arguments: list[str], environ: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "bot.py"), *arguments],
        cwd=ROOT,
        env={**BASE_ENVIRONMENT, **(environ or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_healthy(process: subprocess.Popen, port: int) -> bytes:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"bot.py exited with {process.returncode}:\n{process.stdout.read()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
                return response.read()
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise AssertionError(f"bot.py did not answer /healthz within {START_TIMEOUT} s:\n{process.stdout.read()}")


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_starts_on_defaults_and_stops_cleanly(tmp_path: Path, stop_signal: signal.Signals) -> None:
    port = free_port()
    process = start_bot(["--port", str(port), "--data-dir", str(tmp_path / "data")])

    health = wait_healthy(process, port)
    process.send_signal(stop_signal)
    output, _ = process.communicate(timeout=START_TIMEOUT)

    assert health == b'{"status": "ok", "platforms": []}'
    assert process.returncode == 0
    assert "platform slack disabled" in output
    assert "stopped" in output
    assert (tmp_path / "data" / "chatops.sqlite3").exists()


def test_dev_mode_warns_and_enables_teams(tmp_path: Path) -> None:
    port = free_port()
    process = start_bot(["--dev"], {"CHATOPS_PORT": str(port), "CHATOPS_DATA_DIR": str(tmp_path)})

    health = wait_healthy(process, port)
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=START_TIMEOUT)

    assert b'"teams"' in health
    assert "platform teams enabled at /api/messages" in output
    assert "WITHOUT authentication" in output


def test_platforms_logged_with_paths(tmp_path: Path) -> None:
    port = free_port()
    environ = {
        "SLACK_SIGNING_SECRET": "secret-value-never-logged",
        "SLACK_BOT_TOKEN": "xoxb-unlogged",
        "MATTERMOST_URL": "http://127.0.0.1:9",
        "MATTERMOST_BOT_TOKEN": "mm-token-never-logged",
        "MATTERMOST_COMMAND_TOKEN": "mm-command-never-logged",
    }
    process = start_bot(["--port", str(port), "--data-dir", str(tmp_path)], environ)

    wait_healthy(process, port)
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=START_TIMEOUT)

    assert "platform slack enabled at /slack/events" in output
    assert "platform mattermost enabled at /mattermost/command, /mattermost/action" in output
    for name in ("SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN", "MATTERMOST_BOT_TOKEN", "MATTERMOST_COMMAND_TOKEN"):
        assert environ[name] not in output


def test_config_from_environment_variable(tmp_path: Path) -> None:
    config = yaml.safe_load(CONFIG_PATH.read_text())
    config["bot"]["name"] = "ops-bot"
    path = tmp_path / "custom.yaml"
    path.write_text(yaml.safe_dump(config))
    port = free_port()
    process = start_bot(["--port", str(port), "--data-dir", str(tmp_path)], {"CHATOPS_CONFIG": str(path)})

    wait_healthy(process, port)
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=START_TIMEOUT)

    assert str(path) in output


def test_wrong_config_stops_start(tmp_path: Path) -> None:
    config = yaml.safe_load(CONFIG_PATH.read_text())
    config["actions"]["deploy-demo"]["approval"]["roles"] = ["aprover"]
    path = tmp_path / "wrong.yaml"
    path.write_text(yaml.safe_dump(config))

    process = start_bot(["--config", str(path), "--port", str(free_port()), "--data-dir", str(tmp_path)])
    output, _ = process.communicate(timeout=START_TIMEOUT)

    assert process.returncode == 2
    assert "actions.deploy-demo.approval.roles.0: unknown role 'aprover'" in output


def test_partial_slack_settings_stop_start(tmp_path: Path) -> None:
    process = start_bot(
        ["--port", str(free_port()), "--data-dir", str(tmp_path)], {"SLACK_SIGNING_SECRET": "only-the-secret"}
    )
    output, _ = process.communicate(timeout=START_TIMEOUT)

    assert process.returncode == 2
    assert "SLACK_BOT_TOKEN is not set" in output
    assert "only-the-secret" not in output


def test_invalid_teams_app_type_stops_start(tmp_path: Path) -> None:
    environ = {"MICROSOFT_APP_ID": "5b2a4f9e-1c3d-4e5f-8a7b-9c0d1e2f3a4b", "MICROSOFT_APP_TYPE": "MultiTenant"}
    process = start_bot(["--port", str(free_port()), "--data-dir", str(tmp_path)], environ)
    output, _ = process.communicate(timeout=START_TIMEOUT)

    assert process.returncode == 2
    assert "MICROSOFT_APP_TYPE is 'MultiTenant'" in output

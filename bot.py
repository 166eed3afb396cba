"""Start the ChatOps bot: parse the command line, load the configuration, build and run the app."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator

from aiohttp import web

from adapters.mattermost import MattermostAdapter, MattermostSettings
from adapters.runtime import AdapterRuntime, SettingsError
from adapters.slack import SlackAdapter, SlackSettings
from adapters.teams import TeamsAdapter, TeamsSettings
from adapters.turn import Platform
from automation.executors import LocalExecutor
from config import ChatOpsConfig, ConfigError, load_config
from dialogs.router import ChatOpsBot
from dialogs.tasks import BackgroundTasks
from store import SQLiteStore

log = logging.getLogger("chatops")

DEFAULT_PORT = 3978
DEFAULT_CONFIG = Path(__file__).resolve().parent / "config" / "chatops.yaml"
# Platform requests are small; anything larger is refused with 413 before it is parsed.
MAX_BODY_BYTES = 1024 * 1024
SHUTDOWN_GRACE_SECONDS = 10.0
EXPIRY_SWEEP_SECONDS = 30

BOT_KEY = web.AppKey("bot", ChatOpsBot)
STORE_KEY = web.AppKey("store", SQLiteStore)
TASKS_KEY = web.AppKey("tasks", BackgroundTasks)


@dataclass
class Options:
    config_path: Path = DEFAULT_CONFIG
    data_dir: Path = Path("data")
    port: int = DEFAULT_PORT
    host: str = "127.0.0.1"
    dev: bool = False
    environ: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    # An azure-identity TokenCredential to use for Teams instead of the one chosen from the environment.
    teams_credential: Any = None


def signing_key(options: Options) -> bytes:
    """Return the key that signs Mattermost button context: CHATOPS_SIGNING_KEY, else one kept in the data directory."""
    configured = options.environ.get("CHATOPS_SIGNING_KEY", "")
    if configured:
        if len(configured) < 16:
            raise SettingsError("CHATOPS_SIGNING_KEY is shorter than 16 characters. Use a long random string.")
        return configured.encode("utf-8")

    path = options.data_dir / "signing.key"
    if not path.exists():
        options.data_dir.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32))
        log.info("generated a signing key at %s (set CHATOPS_SIGNING_KEY to share one between replicas)", path)
    return path.read_text().strip().encode("utf-8")


def build_app(config: ChatOpsConfig, options: Options) -> web.Application:
    """Assemble the aiohttp app: store, bot, and one adapter per configured platform."""
    environ = options.environ
    store = SQLiteStore(options.data_dir / "chatops.sqlite3")
    tasks = BackgroundTasks()
    executor = LocalExecutor()
    executor.check(config)
    bot = ChatOpsBot(config, store, executor, outbound={})
    runtime = AdapterRuntime(bot=bot, store=store, tasks=tasks)

    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app[BOT_KEY] = bot
    app[STORE_KEY] = store
    app[TASKS_KEY] = tasks

    adapters: list[Any] = []
    teams = TeamsSettings.from_env(options.dev, environ)
    if teams is not None:
        adapters.append(TeamsAdapter(teams, runtime, credential=options.teams_credential or _teams_credential(teams)))
    slack = SlackSettings.from_env(environ)
    if slack is not None:
        adapters.append(SlackAdapter(slack, runtime))
    public_url = environ.get("CHATOPS_PUBLIC_URL") or f"http://127.0.0.1:{options.port}"
    mattermost = MattermostSettings.from_env(public_url, environ)
    if mattermost is not None:
        adapters.append(MattermostAdapter(mattermost, signing_key(options), runtime))

    for adapter in adapters:
        bot.outbound[adapter.outbound.platform] = adapter.outbound
        app.add_routes(adapter.routes())
    app.add_routes([web.get("/healthz", _healthz)])

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        await store.open()
        _log_platforms(app, teams)
        sweeper = asyncio.create_task(_sweep_expired(bot), name="expiry-sweeper")
        yield
        sweeper.cancel()
        await asyncio.gather(sweeper, return_exceptions=True)
        await tasks.drain(SHUTDOWN_GRACE_SECONDS)
        for adapter in adapters:
            close = getattr(adapter, "close", None)
            if close is not None:
                await close()
        await store.close()

    app.cleanup_ctx.append(lifecycle)
    return app


async def _sweep_expired(bot: ChatOpsBot) -> None:
    """Flip overdue approval cards to Expired, so that no one acts on a stale card."""
    while True:
        await asyncio.sleep(EXPIRY_SWEEP_SECONDS)
        try:
            expired = await bot.approvals.expire_overdue()
        except Exception:
            log.exception("expiring overdue approvals failed; retrying in %d s", EXPIRY_SWEEP_SECONDS)
            continue
        if expired:
            log.info("expired %d overdue approvals", expired)


def _teams_credential(settings: TeamsSettings) -> Any:
    if not settings.app_id:
        return None
    from adapters.teams.credentials import token_credential

    return token_credential(settings)


def _log_platforms(app: web.Application, teams: TeamsSettings | None) -> None:
    paths: dict[str, list[str]] = {}
    for resource in app.router.resources():
        info = resource.get_info()
        path = info.get("path") or info.get("formatter", "")
        for platform in Platform:
            if path.startswith(f"/{platform.value}/") or (platform is Platform.TEAMS and path == "/api/messages"):
                paths.setdefault(platform.value, []).append(path)
    enabled = app[BOT_KEY].outbound
    for platform in Platform:
        if platform in enabled:
            log.info("platform %s enabled at %s", platform.value, ", ".join(paths.get(platform.value, [])))
        else:
            log.info("platform %s disabled: its environment variables are not set", platform.value)
    if teams is not None and not teams.authenticated:
        log.warning(
            "Teams runs WITHOUT authentication (development mode, no MICROSOFT_APP_ID): "
            "anyone who can reach /api/messages can act as any user. Never use this in production."
        )


async def _healthz(request: web.Request) -> web.Response:
    platforms = sorted(platform.value for platform in request.app[BOT_KEY].outbound)
    return web.json_response({"status": "ok", "platforms": platforms})


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure_logging(level: str, json_format: bool) -> None:
    handler = logging.StreamHandler()
    if json_format:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run the ChatOps bot for Teams, Slack and Mattermost.")
    parser.add_argument("--config", type=Path, default=None, help="configuration file (default: CHATOPS_CONFIG or config/chatops.yaml)")
    parser.add_argument("--data-dir", type=Path, default=None, help="directory for the SQLite store (default: CHATOPS_DATA_DIR or ./data)")
    parser.add_argument("--port", type=int, default=None, help=f"TCP port to listen on (default: CHATOPS_PORT or {DEFAULT_PORT})")
    parser.add_argument("--host", default=None, help="address to listen on (default: CHATOPS_HOST or 127.0.0.1)")
    parser.add_argument("--dev", action="store_true", help="development mode: accept unauthenticated Bot Framework Emulator traffic")
    parser.add_argument("--log-level", default="INFO", help="logging level (default: INFO)")
    parser.add_argument("--log-json", action="store_true", help="write log lines as JSON objects")
    return parser.parse_args(argv)


def options_from(arguments: argparse.Namespace, environ: dict[str, str]) -> Options:
    return Options(
        config_path=arguments.config or Path(environ.get("CHATOPS_CONFIG") or DEFAULT_CONFIG),
        data_dir=arguments.data_dir or Path(environ.get("CHATOPS_DATA_DIR") or "data"),
        port=arguments.port or int(environ.get("CHATOPS_PORT") or DEFAULT_PORT),
        host=arguments.host or environ.get("CHATOPS_HOST") or "127.0.0.1",
        dev=arguments.dev or environ.get("CHATOPS_DEV", "") in ("1", "true", "yes"),
        environ=environ,
    )


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
    configure_logging(arguments.log_level, arguments.log_json)
    options = options_from(arguments, dict(os.environ))
    try:
        config = load_config(options.config_path)
    except ConfigError as error:
        log.error("cannot start: %s", error)
        return 2
    try:
        app = build_app(config, options)
    except ConfigError as error:
        log.error("cannot start: %s: %s", options.config_path, error)
        return 2
    except SettingsError as error:
        log.error("cannot start: %s", error)
        return 2

    log.info("starting on http://%s:%d with configuration %s", options.host, options.port, options.config_path)
    # run_app handles SIGINT and SIGTERM: it stops accepting requests and runs the cleanup steps.
    web.run_app(app, host=options.host, port=options.port, print=None, shutdown_timeout=SHUTDOWN_GRACE_SECONDS)
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())

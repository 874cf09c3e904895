"""`livegate serve | check-config | emulator`: the command line.

Defaults come from the environment first (containers set `LIVEGATE_CONFIG`, `HOST`, `PORT`), then the
built-in values; `--help` shows each.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import logging.config
import os
import sys
from collections.abc import Mapping
from typing import Any

from gateway import __version__
from gateway.accounts.exposure import check_exposure
from gateway.accounts.sqlite_file import sqlite_file_problem
from gateway.config import ConfigError, GatewayConfig, load_config
from gateway.tls_files import tls_problem

log = logging.getLogger("livegate")
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4000


def _load(path: str | None, environ: Mapping[str, str]) -> GatewayConfig | None:
    if not path:
        print("livegate: no config file: pass --config FILE or set LIVEGATE_CONFIG", file=sys.stderr)
        return None
    try:
        return load_config(path, environ)
    except ConfigError as exc:  # one line per problem, each with the program's name like any other line here
        print("\n".join(f"livegate: {line}" for line in str(exc).splitlines()), file=sys.stderr)
        return None


def _serve(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from gateway.app import create_app
    from gateway.ops.logs import default_format, logging_config
    from gateway.serve import GracefulServer, server_config

    config = _load(args.config, environ)
    if config is None:
        return 2
    if bool(args.ssl_certfile) != bool(args.ssl_keyfile):
        print("livegate: --ssl-certfile and --ssl-keyfile go together", file=sys.stderr)
        return 2
    if args.ssl_certfile and (problem := tls_problem(args.ssl_certfile, args.ssl_keyfile)):
        print(f"livegate: {problem}", file=sys.stderr)  # uvicorn (and each worker) would raise a bare traceback
        return 2
    problem = sqlite_file_problem(config.accounts.database_url or "")  # else the lifespan fails with a traceback
    if problem is not None:
        print(f"livegate: {problem}", file=sys.stderr)
        return 1
    url = config.accounts.database_url
    if url is not None and not url.startswith("sqlite") and args.workers <= 1:
        # A server database (Postgres) reached and migrated here, so an unreachable one is one line, not the
        # lifespan's traceback; the app then finds it at head (one query). --workers does this in the master.
        from gateway.accounts.services import StorageError

        try:
            asyncio.run(_migrate(url))
        except StorageError as exc:
            print(f"livegate: {exc}", file=sys.stderr)
            return 1
    exposure = check_exposure(bool(config.master_key), args.host, args.allow_unauthenticated, config.path)
    if exposure.refusal:
        print(f"livegate: {exposure.refusal}", file=sys.stderr)
        return 2
    log_config = logging_config(args.log_format or default_format(), args.log_level)
    logging.config.dictConfig(log_config)
    for warning in exposure.warnings:
        log.warning("%s", warning)
    if args.workers > 1:
        return _serve_workers(args, environ, config, log_config)
    app = create_app(config)
    uv_config = server_config(
        app,
        args.host,
        args.port,
        ssl_certfile=args.ssl_certfile,
        ssl_keyfile=args.ssl_keyfile,
        log_level=args.log_level,
        log_config=log_config,
    )
    GracefulServer(uv_config, app).run()
    return 0


def _serve_workers(
    args: argparse.Namespace, environ: Mapping[str, str], config: GatewayConfig, log_config: dict[str, Any]
) -> int:
    """`--workers N`: the database migrated once here, a Valkey started for the counters when no `redis_url` is
    set, then the master (gateway/workers.py) until SIGTERM."""
    from gateway.accounts.local_valkey import LocalValkey, LocalValkeyError
    from gateway.accounts.services import StorageError
    from gateway.workers import Master, WorkerSpec, bind

    url = config.accounts.database_url
    if url is not None:
        try:
            asyncio.run(_migrate(url))
        except StorageError as exc:
            print(f"livegate: {exc}", file=sys.stderr)
            return 1
    try:
        sock = bind(args.host, args.port)
    except OSError as exc:
        print(f"livegate: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    valkey = None
    if config.accounts.redis_url is None:
        valkey = LocalValkey()
        try:
            valkey.start()
        except LocalValkeyError as exc:
            sock.close()
            print(f"livegate: --workers {args.workers} needs shared counters: {exc}; set general_settings.redis_url",
                  file=sys.stderr)
            return 1
    spec = WorkerSpec(
        config_path=config.path,
        environ=dict(environ),
        host=args.host,
        ssl_certfile=args.ssl_certfile,
        ssl_keyfile=args.ssl_keyfile,
        log_level=args.log_level,
        log_config=log_config,
        workers=args.workers,
        redis_url=valkey.url if valkey is not None else None,
    )
    log.info("master [%d]: %d workers on %s:%d", os.getpid(), args.workers, args.host, sock.getsockname()[1])
    try:
        return Master(spec, sock, config.limits.shutdown_grace_seconds).run()
    finally:
        if valkey is not None:
            valkey.stop()


async def _migrate(url: str) -> None:
    from gateway.accounts.services import open_database

    database = await open_database(url)
    await database.close()


def _check_config(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    config = _load(args.config, environ)
    if config is None:
        return 2
    if args.verbose:
        aliases = {alias: [d.describe() for d in ds] for alias, ds in config.deployments.items()}
        summary = {"config": config.path, "master_key": bool(config.master_key), "aliases": aliases}
        summary["vertex_passthrough"] = config.passthrough.describe()  # /v1/vertex-ai/live
        summary["accounts"] = config.accounts.describe()  # database (password masked), metrics key, origins
        print(json.dumps(summary, indent=2))
    print(_summary_line(config))
    return 0


def _db(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    """`livegate db upgrade --config FILE`: apply the database migrations, nothing else."""
    from gateway.accounts.services import StorageError, open_database

    config = _load(args.config, environ)
    if config is None:
        return 2
    url = config.accounts.database_url
    if url is None:
        print("livegate: no database configured (general_settings.database_url, or a master_key)", file=sys.stderr)
        return 2

    async def upgrade() -> str:
        database = await open_database(url)
        try:
            return f"{database.describe()} is at revision {await database.current_revision()}"
        finally:
            await database.close()

    try:
        print(asyncio.run(upgrade()))
    except StorageError as exc:
        print(f"livegate: {exc}", file=sys.stderr)
        return 1
    return 0


def _summary_line(config: GatewayConfig) -> str:
    """`OK: FILE: 3 aliases (a, b, c), auth on, max 50 sessions`."""
    names = list(config.deployments)
    aliases = f"{len(names)} alias{'es' if len(names) != 1 else ''} ({', '.join(names)})"
    auth = "auth on" if config.master_key else "auth OFF (no master_key)"
    cap = config.limits.max_sessions
    sessions = f"max {cap} sessions" if cap else "sessions unlimited"
    return f"OK: {config.path}: {aliases}, {auth}, {sessions}"


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number (from --port or $PORT)") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (0-65535)")
    return port


def _workers(value: str) -> int:
    try:
        count = int(value)
    except ValueError:
        message = f"{value!r} is not a number of processes (from --workers or $WEB_CONCURRENCY)"
        raise argparse.ArgumentTypeError(message) from None
    if not 1 <= count <= 256:
        raise argparse.ArgumentTypeError(f"{count} workers: expected 1 to 256")
    return count


class _Defaults(argparse.ArgumentDefaultsHelpFormatter):
    """`(default: …)` after each option that has a default worth showing."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default in (None, False):
            return action.help
        return super()._get_help_string(action)


def build_parser(environ: Mapping[str, str] | None = None) -> argparse.ArgumentParser:
    environ = os.environ if environ is None else environ
    parser = argparse.ArgumentParser(prog="livegate", description="OpenAI Realtime gateway for Gemini Live")
    parser.add_argument("--version", action="version", version=f"livegate {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    formatter = _Defaults
    serve = sub.add_parser("serve", help="run the gateway", formatter_class=formatter)
    config = environ.get("LIVEGATE_CONFIG") or None
    serve.add_argument("--config", default=config, help="YAML config with a model_list ($LIVEGATE_CONFIG)")
    serve.add_argument("--host", default=environ.get("HOST") or DEFAULT_HOST, help="address to listen on ($HOST)")
    serve.add_argument(
        "--port", type=_port, default=environ.get("PORT") or DEFAULT_PORT, help="port to listen on ($PORT)"
    )
    serve.add_argument(
        "--workers",
        type=_workers,
        default=environ.get("WEB_CONCURRENCY") or 1,
        help="processes accepting on the port; over 1, limits are shared through Valkey ($WEB_CONCURRENCY)",
    )
    serve.add_argument("--ssl-certfile", help="serve wss:// with this certificate (PEM)")
    serve.add_argument("--ssl-keyfile", help="the certificate's private key (PEM)")
    serve.add_argument(
        "--allow-unauthenticated",
        action="store_true",
        help="serve a non-loopback host without general_settings.master_key (logged loudly)",
    )
    levels = ["critical", "error", "warning", "info", "debug"]
    serve.add_argument("--log-level", default="info", choices=levels, help="log verbosity")
    serve.add_argument(
        "--log-format",
        choices=["json", "text"],
        default=environ.get("LIVEGATE_LOG_FORMAT") or None,
        help="log lines as JSON objects or text ($LIVEGATE_LOG_FORMAT; default: text)",
    )
    serve.set_defaults(func=_serve)
    check = sub.add_parser(
        "check-config", help="validate a config file and print a summary line", formatter_class=formatter
    )
    check.add_argument("config", nargs="?", default=config, help="the config file ($LIVEGATE_CONFIG)")
    check.add_argument("--verbose", action="store_true", help="also print the resolved aliases as JSON (masked)")
    check.set_defaults(func=_check_config)
    db = sub.add_parser("db", help="database tasks")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_sub.add_parser(
        "upgrade", help="apply the database migrations (serve also does at start-up)", formatter_class=formatter
    )
    upgrade.add_argument("--config", default=config, help="the config whose database to migrate ($LIVEGATE_CONFIG)")
    upgrade.set_defaults(func=_db)
    emulator = sub.add_parser("emulator", help="run the Gemini Live emulator alone", add_help=False)
    emulator.add_argument("rest", nargs=argparse.REMAINDER)
    return parser


def main(argv: list[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    argv = sys.argv[1:] if argv is None else argv
    environ = os.environ if environ is None else environ
    if argv[:1] == ["emulator"]:  # its own flags (--port, …) go to the emulator's parser untouched
        from gateway.emulator.server import main as emulator_main

        return emulator_main(argv[1:])
    args = build_parser(environ).parse_args(argv)
    return int(args.func(args, environ))


if __name__ == "__main__":
    sys.exit(main())

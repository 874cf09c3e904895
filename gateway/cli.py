"""`livegate serve | check-config | emulator`: the command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import logging.config
import os
import sys

from gateway.config import ConfigError, load_config


def _serve(args: argparse.Namespace) -> int:
    from gateway.app import create_app
    from gateway.ops.logs import default_format, logging_config
    from gateway.serve import GracefulServer, server_config

    try:
        config = load_config(args.config, os.environ)
    except ConfigError as exc:
        print(f"livegate: {exc}", file=sys.stderr)
        return 2
    if bool(args.ssl_certfile) != bool(args.ssl_keyfile):
        print("livegate: --ssl-certfile and --ssl-keyfile go together", file=sys.stderr)
        return 2
    log_config = logging_config(args.log_format or default_format(), args.log_level)
    logging.config.dictConfig(log_config)
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


def _check_config(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config, os.environ)
    except ConfigError as exc:
        print(f"livegate: {exc}", file=sys.stderr)
        return 2
    aliases = {alias: [d.describe() for d in ds] for alias, ds in config.deployments.items()}
    summary = {"config": config.path, "master_key": bool(config.master_key), "aliases": aliases}
    summary["vertex_passthrough"] = config.passthrough.describe()  # /v1/vertex-ai/live
    summary["accounts"] = config.accounts.describe()
    print(json.dumps(summary, indent=2))
    return 0


def _db(args: argparse.Namespace) -> int:
    """`livegate db upgrade --config FILE`: apply the database migrations, nothing else."""
    from gateway.accounts.services import StorageError, open_database

    try:
        config = load_config(args.config, os.environ)
    except ConfigError as exc:
        print(f"livegate: {exc}", file=sys.stderr)
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


def _emulator(args: argparse.Namespace) -> int:
    from gateway.emulator.server import main as emulator_main

    return emulator_main(args.rest)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="livegate", description="OpenAI Realtime gateway for Gemini Live")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the gateway")
    serve.add_argument("--config", required=True, help="YAML config with a model_list")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=4000)
    serve.add_argument("--ssl-certfile", help="serve wss:// with this certificate (PEM)")
    serve.add_argument("--ssl-keyfile", help="the certificate's private key (PEM)")
    serve.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    serve.add_argument("--log-format", choices=["json", "text"], help="default: text on a terminal, else JSON")
    serve.set_defaults(func=_serve)
    check = sub.add_parser("check-config", help="validate a config file and print the resolved aliases")
    check.add_argument("config")
    check.set_defaults(func=_check_config)
    db = sub.add_parser("db", help="database tasks")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_sub.add_parser("upgrade", help="apply the database migrations (serve also does at start-up)")
    upgrade.add_argument("--config", required=True, help="the config whose general_settings.database_url to use")
    upgrade.set_defaults(func=_db)
    emulator = sub.add_parser("emulator", help="run the Gemini Live emulator alone", add_help=False)
    emulator.add_argument("rest", nargs=argparse.REMAINDER)
    emulator.set_defaults(func=_emulator)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["emulator"]:  # its own flags (--port, …) go to the emulator's parser untouched
        from gateway.emulator.server import main as emulator_main

        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        return emulator_main(argv[1:])
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())

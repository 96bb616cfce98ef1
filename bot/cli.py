"""The ``vestry`` command line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from pathlib import Path

from bot import __version__, logs
from bot.config import ConfigError, Settings, load_secrets, load_settings
from bot.config.github import CredentialsError, app_credentials

log = logging.getLogger("vestry")

EXIT_OK, EXIT_INVALID, EXIT_STARTUP, EXIT_GATEWAY = 0, 1, 2, 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vestry", description="Recognition for the people around an open-source project, in Discord."
    )
    parser.add_argument("--version", action="version", version=f"vestry {__version__}")
    parser.add_argument("--log-format", choices=["text", "json"], help="log as readable lines or JSON lines")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="run the bot")
    run.add_argument("--config", default="config.toml", help="settings file (default: config.toml)")
    run.add_argument("--env-file", help="read secrets (KEY=value lines, e.g. from vestry init) from this file too")

    check = sub.add_parser("check-config", help="validate a settings file and list every problem")
    check.add_argument("file", nargs="?", default="config.toml")
    check.add_argument("--env-file", help="check the GitHub App key with the secrets of this file")

    from bot.setup.cli import add_init_parser

    add_init_parser(sub)

    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    migrate = db_sub.add_parser("migrate", help="apply pending migrations")
    migrate.add_argument("--config", default="config.toml")
    init = db_sub.add_parser("init", help="create the database, also over an empty (0-byte) file")
    init.add_argument("--config", default="config.toml")
    backup = db_sub.add_parser("backup", help="copy the database safely, even while the bot runs")
    backup.add_argument("path", help="file to write the backup to")
    backup.add_argument("--config", default="config.toml")

    backfill = sub.add_parser("backfill", help="import the history of the followed repositories")
    backfill.add_argument("--config", default="config.toml")
    backfill.add_argument("--repo", help="only this repository (owner/name)")

    sandbox = sub.add_parser("sandbox", help="run the bot against emulated Discord and GitHub")
    sandbox.add_argument("--config", help="settings file; endpoints and secrets are replaced")
    sandbox.add_argument("--ready-file", help="also write the ready line's JSON to this file")
    sandbox.add_argument("--poll", action="store_true", help="poll the GitHub emulator instead of webhooks")
    sandbox.add_argument("--port", type=int, default=0, help="control API port (default: any free port)")
    sandbox.add_argument(
        "--rate-limits",
        choices=("real", "fast"),
        default="real",
        help="Discord's documented rate limits in wall-clock time (real), or with windows 100x shorter (fast)",
    )
    sandbox.add_argument(
        "--data", help="keep the database, both emulated worlds and the clock in this folder across restarts"
    )
    sandbox.add_argument(
        "--github-app", action="store_true", help="authenticate as a GitHub App installed on the default repository"
    )

    demo = sub.add_parser("demo", help="play a short story in the sandbox and show what Discord shows")
    demo.add_argument("--json", dest="json_file", help="write the transcript to this file")
    demo.add_argument("--keep-running", action="store_true", help="leave the sandbox up afterwards")
    demo.add_argument(
        "--locale", type=_locale, help='tell the story in this Discord locale ("de", "pt-BR"); the bot posts in it'
    )

    export = sub.add_parser("export", help="export the contributors for other tools")
    export_sub = export.add_subparsers(dest="export_format", metavar="FORMAT", required=True)
    rc = export_sub.add_parser("all-contributors", help="write a .all-contributorsrc, merged with the file's own")
    rc.add_argument("--config", default="config.toml")
    rc.add_argument("--repo", help="only this followed repository (owner/name)")
    rc.add_argument("-o", "--output", help="file to write or merge into (default: standard output)")

    commands_docs = sub.add_parser("commands-docs", help="print the slash-command reference (docs/commands.md)")
    commands_docs.add_argument("--output", help="write to this file instead of standard output")

    docs = sub.add_parser("config-docs", help="print the configuration reference (docs/configuration.md)")
    docs.add_argument("--output", help="write to this file instead of standard output")
    return parser


def _settings_or_exit(path: str) -> Settings:
    try:
        return load_settings(path)
    except ConfigError as exc:
        print(exc.render(), file=sys.stderr)
        raise SystemExit(EXIT_INVALID) from None


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = _parser().parse_args(argv)
    if args.command is None:
        _parser().print_help()
        return EXIT_OK
    handler = _COMMANDS[args.command]
    try:
        return handler(args)
    except KeyboardInterrupt:
        return EXIT_OK


def _environment(env_file: str | None) -> dict[str, str]:
    """The environment, with the secrets of ``env_file`` (KEY=value lines) added where not already set."""
    import os

    from bot.setup.files import read_env

    found = dict(os.environ)
    if env_file:
        try:
            extra = read_env(Path(env_file))
        except OSError as exc:
            print(f"vestry: cannot read --env-file {env_file} ({exc.strerror or exc})", file=sys.stderr)
            raise SystemExit(EXIT_STARTUP) from None
        found = {**extra, **found}
    return found


def _init(args: argparse.Namespace) -> int:
    from bot.setup import run_init

    return run_init(args)


def _check_config(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(args.file)
    except ConfigError as exc:
        print(exc.render(), file=sys.stderr)
        return EXIT_INVALID
    if settings.github.app is not None:
        try:
            app_credentials(settings.github, load_secrets(_environment(args.env_file)))
        except CredentialsError as exc:
            print(f"{args.file} has 1 problem(s):\n  - {exc}", file=sys.stderr)
            return EXIT_INVALID
    print(f"{args.file}: valid")
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    from bot.app import App, StartupError
    from bot.db import DatabaseError, MigrationError

    settings = _settings_or_exit(args.config)
    secrets = load_secrets(_environment(args.env_file))
    logs.configure(settings.logging.level, args.log_format or settings.logging.format, secrets.values())
    if secrets.discord_token is None:
        print(
            "DISCORD_TOKEN is not set: create a bot at https://discord.com/developers/applications "
            "(Bot → Reset Token) and export DISCORD_TOKEN",
            file=sys.stderr,
        )
        return EXIT_STARTUP
    try:
        app_auth = app_credentials(settings.github, secrets)
    except CredentialsError as exc:
        print(f"vestry: {exc}", file=sys.stderr)
        return EXIT_STARTUP
    if secrets.github_token is None and app_auth is None:
        print(
            "GITHUB_TOKEN is not set: create a token at https://github.com/settings/tokens (read access to the "
            "followed repositories) and export GITHUB_TOKEN, or configure a GitHub App ([github.app], or run "
            "`vestry init`)",
            file=sys.stderr,
        )
        return EXIT_STARTUP

    async def serve() -> int:
        app = App(settings, secrets)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        try:
            await app.start()
            failure = await app.serve_until(stop)
            if failure is not None:
                print(f"vestry: {failure}", file=sys.stderr)
                return EXIT_GATEWAY
            return EXIT_OK
        except (StartupError, MigrationError, DatabaseError) as exc:
            print(f"vestry: {exc}", file=sys.stderr)
            return EXIT_STARTUP
        finally:
            await app.stop()

    return asyncio.run(serve())


def _db(args: argparse.Namespace) -> int:
    from bot.db import Database, DatabaseError, MigrationError

    settings = _settings_or_exit(args.config)

    async def act() -> int:
        db = Database(settings.database.path, allow_empty=args.db_command == "init")
        try:
            await db.open()
            if args.db_command in ("migrate", "init"):
                await db.quick_check()
                applied = await db.migrate()
                print(f"applied {len(applied)} migration(s): {', '.join(applied) or 'none pending'}")
            else:
                if await db.user_version() == 0:
                    print(f"vestry: {settings.database.path} holds no Vestry database", file=sys.stderr)
                    return EXIT_STARTUP
                await db.backup(Path(args.path))
                print(f"backed up {settings.database.path} to {args.path}")
            return EXIT_OK
        except (DatabaseError, MigrationError) as exc:
            print(f"vestry: {exc}", file=sys.stderr)
            return EXIT_STARTUP
        finally:
            await db.close()

    return asyncio.run(act())


def _backfill(args: argparse.Namespace) -> int:
    from bot.github.backfill_cli import run_backfill_cli

    settings = _settings_or_exit(args.config)
    logs.configure(settings.logging.level, args.log_format or settings.logging.format, load_secrets().values())
    return asyncio.run(run_backfill_cli(settings, load_secrets(), args.repo))


def _sandbox(args: argparse.Namespace) -> int:
    from bot.sandbox.runner import run_sandbox_cli

    logs.configure("INFO", args.log_format or "text")
    return run_sandbox_cli(
        config=args.config,
        ready_file=args.ready_file,
        poll=args.poll,
        port=args.port,
        rate_limits=args.rate_limits,
        data=args.data,
        github_app=args.github_app,
    )


def _locale(value: str) -> str:
    """Accept a Discord locale for --locale, or say which ones there are."""
    from bot.i18n import check_locale

    try:
        return check_locale(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _demo(args: argparse.Namespace) -> int:
    from bot.sandbox.demo import run_demo_cli

    logs.configure("WARNING", args.log_format or "text")
    return run_demo_cli(json_file=args.json_file, keep_running=args.keep_running, locale=args.locale)


def _export(args: argparse.Namespace) -> int:
    from bot.export import export_all_contributors

    settings = _settings_or_exit(args.config)
    return asyncio.run(export_all_contributors(settings, args.repo, args.output))


def _config_docs(args: argparse.Namespace) -> int:
    from bot.config.docs import render_reference

    text = render_reference()
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return EXIT_OK


def _commands_docs(args: argparse.Namespace) -> int:
    from bot.discord.docs import render_commands

    text = asyncio.run(render_commands())
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return EXIT_OK


_COMMANDS = {
    "run": _run,
    "check-config": _check_config,
    "init": _init,
    "db": _db,
    "backfill": _backfill,
    "sandbox": _sandbox,
    "demo": _demo,
    "export": _export,
    "config-docs": _config_docs,
    "commands-docs": _commands_docs,
}

if __name__ == "__main__":
    raise SystemExit(main())

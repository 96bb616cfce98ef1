"""``vestry init``: from a Discord bot token to a checked ``config.toml`` and the one command that starts Vestry."""

from __future__ import annotations

import argparse
import secrets as random
import tomllib
from pathlib import Path
from typing import TypeVar

from rich.console import Console

from bot.config import ConfigError, parse_settings
from bot.config.github import CredentialsError, GitHubAppSettings, app_credentials
from bot.config.secrets import load_secrets
from bot.config.types import check_repo, check_url
from bot.setup.discord_api import (
    GATEWAY_GUILD_MEMBERS,
    GATEWAY_GUILD_MEMBERS_LIMITED,
    MANAGE_CHANNELS,
    Channel,
    DiscordSetupApi,
    DiscordSetupError,
    Guild,
    Role,
    missing_permissions,
)
from bot.setup.files import DEFAULT_TIERS, PURPOSES, Plan, TierPlan, render_config, render_env, write_private
from bot.setup.github_setup import GitHubSetupError, ManifestFlow, check_token, installed_repositories
from bot.setup.prompts import Asker, SetupError

NONE = "none"


class Wizard:
    """Ask, create what is missing on Discord, set up GitHub, write and check the files."""

    def __init__(self, args: argparse.Namespace, console: Console) -> None:
        self.args = args
        self.console = console
        self.ask = Asker(console, interactive=not args.non_interactive)
        self.secrets: dict[str, str | None] = {}

    def say(self, text: str) -> None:
        """Print one line of the conversation."""
        self.console.print(text, highlight=False)

    # discord -------------------------------------------------------------------------------------------------------
    def discord(self, api: DiscordSetupApi) -> Plan:
        """Pick the server, channels and roles; create the ladder roles and missing channels when asked."""
        me = api.me()
        self.say(f"[green]✓[/green] Logged in to Discord as [bold]{me.get('username')}[/bold]")
        guild = self._guild(api.guilds())
        plan = Plan(guild_id=guild.id, guild_name=guild.name)
        flags = api.application_flags()
        has_members = bool(flags & (GATEWAY_GUILD_MEMBERS | GATEWAY_GUILD_MEMBERS_LIMITED))
        self.say(
            "[green]✓[/green] Server Members intent is on"
            if has_members
            else "• Server Members intent is off (fine: roles come back on the hourly reconcile)"
        )
        plan.members_intent = has_members and self.ask.confirm(
            self.args.members_intent, "Use the Server Members intent?", default=True
        )
        missing = missing_permissions(guild.permissions)
        if missing:
            self.say(f"[yellow]![/yellow] The bot lacks {', '.join(missing)} in {guild.name}: grant them to its role")
        else:
            self.say("[green]✓[/green] The bot has the permissions it needs")
        self._channels(api, guild, plan)
        self._roles(api, guild, plan, int(me["id"]))
        return plan

    def _guild(self, guilds: list[Guild]) -> Guild:
        if not guilds:
            raise SetupError("the bot is in no server yet: invite it (OAuth2 → URL Generator, scope bot) and run again")
        names = [g.name for g in guilds]
        self.say("Servers the bot is in: " + ", ".join(names))
        wanted = self.args.guild if self.args.guild is not None else (names[0] if len(guilds) == 1 else None)
        choices = [*names, *(str(g.id) for g in guilds)]
        answer = self.ask.text(wanted, "Which server?", flag="--guild", choices=choices)
        return next(guild for guild in guilds if answer in (str(guild.id), guild.name))

    def _channels(self, api: DiscordSetupApi, guild: Guild, plan: Plan) -> None:
        channels = api.channels(guild.id)
        self.say("Channels: " + ", ".join(f"#{c.name}" for c in channels))
        for purpose, use in PURPOSES.items():
            given = getattr(self.args, f"{purpose}_channel")
            default = purpose if any(c.name == purpose for c in channels) else NONE
            answer = self.ask.text(
                given, f"Channel for {use} ('none' to leave out)", flag=f"--{purpose}-channel", default=default
            ).lstrip("#")
            if answer.casefold() == NONE:
                continue
            found = _named(channels, answer)
            if found is None:
                found = self._create_channel(api, guild, answer)
            if found is not None:
                plan.channels[purpose] = (found.id, found.name)

    def _create_channel(self, api: DiscordSetupApi, guild: Guild, name: str) -> Channel | None:
        if not self.ask.confirm(self.args.create_channels, f"#{name} does not exist. Create it?", default=True):
            return None
        if not guild.permissions & MANAGE_CHANNELS:
            self.say(
                f"[yellow]![/yellow] The bot cannot create channels (Manage Channels): create #{name} and run again"
            )
            return None
        channel = api.create_channel(guild.id, name)
        self.say(f"[green]✓[/green] Created #{channel.name}")
        return channel

    def _roles(self, api: DiscordSetupApi, guild: Guild, plan: Plan, bot_id: int) -> None:
        roles = api.roles(guild.id)
        default = "Maintainers" if _named(roles, "Maintainers") else NONE
        answer = self.ask.text(
            self.args.maintainer_role,
            "Role of the maintainers ('none': Manage Server only)",
            flag="--maintainer-role",
            default=default,
            check=lambda name: _existing(roles, name),
        )
        role = _named(roles, answer)
        if role is not None:
            plan.maintainer_role = (role.id, role.name)
        names = [
            n.strip() for n in (self.args.tiers or ",".join(t.name for t in DEFAULT_TIERS)).split(",") if n.strip()
        ]
        if len(names) != len(DEFAULT_TIERS):
            raise SetupError(f"--tiers: name exactly {len(DEFAULT_TIERS)} tiers, lowest first")
        tiers = [TierPlan(n, t.criteria, t.color) for n, t in zip(names, DEFAULT_TIERS, strict=True)]
        absent = [t for t in tiers if _named(roles, t.name) is None]
        if absent and self.ask.confirm(
            self.args.create_roles, f"Create the ladder roles {', '.join(t.name for t in absent)}?", default=True
        ):
            for tier in reversed(absent):  # Discord adds a role at the bottom: the highest tier goes first
                created = api.create_role(guild.id, tier.name, tier.color)
                self.say(f"[green]✓[/green] Created the role {created.name}")
            roles = api.roles(guild.id)
        mine = set(api.member_roles(guild.id, bot_id))
        bot_top = max((r.position for r in roles if r.id in mine), default=0)
        for tier in tiers:
            role = _named(roles, tier.name)
            if role is None:
                raise SetupError(f"there is no role named {tier.name!r}: create it or let vestry init create it")
            if role.position >= bot_top:
                self.say(f"[yellow]![/yellow] Drag the bot's role above {role.name} (Server Settings → Roles)")
            plan.tiers.append(TierPlan(tier.name, tier.criteria, tier.color, role.id))
        self.say("[green]✓[/green] Ladder: " + " → ".join(t.name for t in plan.tiers))

    # github --------------------------------------------------------------------------------------------------------
    def github(self, plan: Plan, key_file: Path) -> str | None:
        """Set up GitHub as an App (manifest flow) or with a token; return where to install the App, if made."""
        args = self.args
        plan.github_api = args.github_api
        mode = self.ask.text(
            args.github,
            "GitHub: create a GitHub App (app) or use a token (token)?",
            flag="--github",
            default="app",
            choices=("app", "token"),
        )
        if mode == "token":
            question = "Repositories to follow, comma-separated owner/name"
            repos = self.ask.text(args.repo, question, flag="--repo", check=_repositories)
        else:
            repos = self.ask.text(
                args.repo,
                "Repositories to follow, comma-separated owner/name (empty: every one the App is installed on)",
                flag="--repo",
                default="",
                check=_repositories,
            )
        plan.repositories = [r.strip() for r in repos.split(",") if r.strip()]
        webhook = self.ask.text(
            args.webhook_url,
            "Public URL GitHub delivers webhooks to ('none': poll instead)",
            flag="--webhook-url",
            default=NONE,
            check=_url_or_none,
        )
        plan.poll = webhook.casefold() == NONE
        if mode == "token":
            token = self.ask.text(args.github_token, "GitHub token", flag="--github-token", secret=True)
            login = check_token(args.github_api, token, plan.repositories)
            self.say(f"[green]✓[/green] The token works (as {login}) and reads {', '.join(plan.repositories)}")
            self.secrets["GITHUB_TOKEN"] = token
            if not plan.poll:
                self.secrets["GITHUB_WEBHOOK_SECRET"] = random.token_hex(20)
                self.say(
                    "Add a webhook to each repository: content type JSON, secret GITHUB_WEBHOOK_SECRET from the "
                    "secrets file"
                )
            return None
        invitations = self.ask.confirm(
            args.invitations, "Will you turn on invitations (the App comments on first PRs)?", default=False
        )
        name = self.ask.text(
            args.app_name, "Name of the GitHub App", flag="--app-name", default=_app_name(plan.guild_name)
        )
        flow = ManifestFlow(
            name=name,
            webhook_url=None if plan.poll else webhook,
            invitations=invitations,
            github_web=args.github_web,
            github_api=args.github_api,
            organization=args.organization,
            port=args.callback_port,
        )
        self.say(f'Open [bold]{flow.url}[/bold] in a browser on this machine and press "Create GitHub App".')
        self.console.file.flush()
        created = flow.wait(args.browser_timeout)
        write_private(key_file, created.private_key)
        self.secrets["GITHUB_WEBHOOK_SECRET"] = created.webhook_secret
        plan.app = GitHubAppSettings(app_id=created.id, private_key_file=str(key_file.resolve()), installation_id=None)
        self.say(f"[green]✓[/green] Created the GitHub App {created.slug} (id {created.id}); its key is in {key_file}")
        install = f"{created.html_url}/installations/new"
        self.say(f"Install it on your repositories: [bold]{install}[/bold]")
        if self.ask.interactive and self.ask.confirm(None, "Installed? Check what the App can see", default=True):
            seen = installed_repositories(args.github_api, created.id, created.private_key)
            if seen:
                self.say(f"[green]✓[/green] The App is installed on {', '.join(seen)}")
                return None
            self.say("• Not installed yet: Vestry follows the repositories as soon as you install it")
        return install


Named = TypeVar("Named", Channel, Role)


def _existing(roles: list[Role], name: str) -> None:
    if name.casefold() != NONE and _named(roles, name) is None:
        raise ValueError(f"there is no role named {name!r}")


def _repositories(answer: str) -> None:
    names = [name.strip() for name in answer.split(",") if name.strip()]
    for name in names:
        check_repo(name)
    if len({name.casefold() for name in names}) != len(names):
        raise ValueError("a repository is named twice")


def _url_or_none(answer: str) -> None:
    if answer.casefold() != NONE:
        check_url(answer)


def _app_name(guild: str) -> str:
    """A default App name (GitHub allows 34 characters, unique across GitHub)."""
    return "Vestry" if guild.casefold().startswith("vestry") else f"Vestry for {guild}"[:34].rstrip()


def _named(items: list[Named], ref: str) -> Named | None:
    for item in items:
        if ref in (str(item.id), item.name) or item.name.casefold() == ref.casefold():
            return item
    return None


def run_init(args: argparse.Namespace, console: Console | None = None) -> int:
    """Run ``vestry init``; return the exit code."""
    console = console or Console()
    wizard = Wizard(args, console)
    output, env_file, key_file = Path(args.output), Path(args.env_file), Path(args.key_file)
    try:
        for path in (output, env_file):
            if path.exists() and not wizard.ask.confirm(
                args.force or None, f"{path} exists. Replace it?", default=False
            ):
                raise SetupError(f"{path} exists; pass --force to replace it")
        token = wizard.ask.text(args.discord_token, "Discord bot token", flag="--discord-token", secret=True)
        wizard.secrets["DISCORD_TOKEN"] = token
        api = DiscordSetupApi(token, args.discord_api)
        try:
            plan = wizard.discord(api)
        finally:
            api.close()
        install = wizard.github(plan, key_file)
        text = render_config(plan, str(env_file))
        settings = parse_settings(tomllib.loads(text), str(output))  # checked before anything is written
        app_credentials(settings.github, load_secrets({k: v for k, v in wizard.secrets.items() if v}))
        write_private(env_file, render_env(wizard.secrets))
        output.write_text(text, encoding="utf-8")
    except (SetupError, DiscordSetupError, GitHubSetupError, CredentialsError) as exc:
        console.print(f"[red]vestry init: {exc}[/red]", highlight=False)
        return 1
    except ConfigError as exc:
        console.print(f"[red]{exc.render()}[/red]", highlight=False)
        return 1
    except KeyboardInterrupt:
        console.print("\n[yellow]vestry init stopped; nothing was written.[/yellow]")
        return 1
    wizard.say(f"[green]✓[/green] Wrote {output} (checked) and {env_file} (secrets, mode 0600)")
    if install:
        wizard.say(f"Install the App on your repositories: [bold]{install}[/bold]")
    wizard.say("Start Vestry:")
    wizard.say(f"  [bold]vestry run --config {output} --env-file {env_file}[/bold]")
    return 0

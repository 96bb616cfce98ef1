"""The discord.py bot: loads the cogs, syncs commands when they change, checks its permissions."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import pkgutil
from collections.abc import Awaitable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands

from bot.buttons import StaleClick
from bot.discord.buttons import answer_stale, persistent
from bot.discord.pacing import DmOpener, OldEditBudget
from bot.discord.render import allowed_mentions, embeds, message_kwargs, view
from bot.discord.setup_checks import channel_problems, tier_role_problems
from bot.discord.translator import CatalogueTranslator
from bot.discord.tree import VestryTree
from bot.fit import fit_message
from bot.i18n import N_, Notice
from bot.messages import OutMessage
from bot.outbox import PermanentError, SeenMessage, TransientError, embed_keys

if TYPE_CHECKING:
    from bot.clock import Clock
    from bot.context import Services

log = logging.getLogger(__name__)
T = TypeVar("T")


class CogLoadError(Exception):
    """A cog failed to load; start-up stops with its name."""


def discover_cogs() -> list[str]:
    """Find the cog modules: every module in ``cogs`` whose name does not start with ``_``."""
    import cogs

    return sorted(f"cogs.{info.name}" for info in pkgutil.iter_modules(cogs.__path__) if not info.name.startswith("_"))


class VestryBot(commands.Bot):
    """Vestry's Discord client."""

    def __init__(self, services: Services, *, sync: str = "changed", **options: object) -> None:
        intents = discord.Intents.default()
        intents.members = services.settings.discord.members_intent
        intents.message_content = False
        intents.presences = False
        intents.typing = False
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            tree_cls=VestryTree,
            help_command=None,
            chunk_guilds_at_startup=False,
            # Vestry reads members over REST and changes roles by id, so it never reads the member cache; with
            # the members intent, discord.py would otherwise cache every member an event names (a role change
            # makes one), which grows with the server (benchmarks/RESULTS.md, memory).
            member_cache_flags=discord.MemberCacheFlags.none(),
            max_messages=None,
            allowed_mentions=allowed_mentions(),
            **options,  # type: ignore[arg-type]
        )
        self.services = services
        # /vestry is declared here, once; each cog adds its own subcommands in cog_load and removes them in
        # cog_unload (``add_vestry_commands``), so no cog depends on another's load order.
        self.vestry = app_commands.Group(name="vestry", description="Vestry administration", guild_only=True)
        self.tree.add_command(self.vestry)
        self.sync_mode = sync
        self.problems: list[str] = []
        self.ready_event = asyncio.Event()

    @property
    def reporter(self) -> VestryTree:
        """The command tree, whose ``report`` is the one bug reporter (commands, buttons and modals)."""
        tree = self.tree
        assert isinstance(tree, VestryTree)
        return tree

    @property
    def guild_object(self) -> discord.Object:
        """The configured server, as an object usable before the cache fills."""
        return discord.Object(id=self.services.settings.discord.guild_id)

    async def setup_hook(self) -> None:
        """Load every cog, then sync commands to the server if they changed."""
        # Each cog registers its own persistent buttons; this one answers a click on one no cog can read.
        self.add_dynamic_items(persistent(StaleClick, answer_stale))
        for name in discover_cogs():
            try:
                await self.load_extension(name)
            except commands.ExtensionError as exc:
                raise CogLoadError(f"cog {name} failed to load: {exc.__cause__ or exc}") from exc
        self.tree.copy_global_to(guild=self.guild_object)
        self.tree.clear_commands(guild=None)
        await self.tree.set_translator(CatalogueTranslator())
        await self.sync_commands()

    async def command_hash(self) -> str:
        """Hash the command set as it would be sent to Discord, localisations included."""
        translator = self.tree.translator
        commands = self.tree.get_commands(guild=self.guild_object)
        if translator is None:
            payload = [command.to_dict(self.tree) for command in commands]
        else:
            payload = [await command.get_translated_payload(self.tree, translator) for command in commands]
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()

    async def sync_commands(self, force: bool = False) -> bool:
        """Sync the server's commands when the set changed since the last sync (or when forced)."""
        db = self.services.db
        key = f"commands_hash:{self.guild_object.id}"
        digest = await self.command_hash()
        if not force and self.sync_mode != "always" and await db.get_state(key) == digest:
            log.info("commands unchanged; not syncing")
            return False
        synced = await self.tree.sync(guild=self.guild_object)
        await db.set_state(key, digest)
        log.info("synced %d commands to the server", len(synced))
        return True

    def add_vestry_commands(self, *children: app_commands.Command[Any, ..., Any] | app_commands.Group) -> None:
        """Add a cog's subcommands to /vestry."""
        for child in children:
            self.vestry.add_command(child)

    def remove_vestry_commands(self, *children: app_commands.Command[Any, ..., Any] | app_commands.Group) -> None:
        """Take a cog's subcommands off /vestry (when the cog unloads)."""
        for child in children:
            self.vestry.remove_command(child.name)

    async def on_ready(self) -> None:
        """Check permissions and role hierarchy once the server is known."""
        self.problems = self.check_permissions()
        for problem in self.problems:
            log.warning("setup problem: %s", problem)
        self.ready_event.set()

    def check_permissions(self) -> list[str]:
        """List, in plain words, every permission or role-order problem the bot can see (each a Notice)."""
        settings = self.services.settings
        guild = self.get_guild(settings.discord.guild_id)
        if guild is None:
            return [
                Notice(
                    N_("the bot is not in the configured server {guild_id}; invite it first"),
                    guild_id=settings.discord.guild_id,
                )
            ]
        me = guild.me
        problems: list[str] = []
        if me is None:
            return [Notice(N_("the bot cannot see itself in the server"))]
        problems += channel_problems(guild, me, settings.discord.channels.model_dump())
        tiers = [tier.role_id for tier in settings.ladder.tiers] if settings.ladder.enabled else []
        if tiers and not me.guild_permissions.manage_roles:
            problems.append(
                Notice(N_("missing Manage Roles: ladder roles cannot be granted; give the bot's role Manage Roles"))
            )
        problems += tier_role_problems(guild, me, tiers)
        problems += self._mention_problems(guild, me)
        return problems

    def _mention_problems(self, guild: discord.Guild, me: discord.Member) -> list[Notice]:
        """Roles Vestry pings (maintainers on escalation, teams in nudges) must be mentionable by the bot."""
        settings = self.services.settings
        pinged = [settings.discord.maintainer_role_id, *settings.reviews.team_roles.values()]
        if me.guild_permissions.mention_everyone:
            return []
        problems = []
        for role_id in filter(None, pinged):
            role = guild.get_role(role_id)
            if role is not None and not role.mentionable:
                problems.append(
                    Notice(
                        N_(
                            "role @{role} is not mentionable, so review nudges name it without pinging: allow anyone "
                            "to @mention it, or give the bot Mention All Roles"
                        ),
                        role=role.name,
                    )
                )
        return problems


class BotSink:
    """Perform outbox rows through discord.py, sorting failures into transient and permanent."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._bound: VestryBot | None = None
        self.old_edits = OldEditBudget()
        self.dms = DmOpener()

    def bind(self, bot: VestryBot) -> None:
        """Act through ``bot`` (the outbox exists before the bot; it sends nothing until the bot is ready)."""
        self._bound = bot

    @property
    def _bot(self) -> VestryBot:
        if self._bound is None:
            raise RuntimeError("the outbox's sink was used before the bot was bound to it")
        return self._bound

    def _check_channel(self, channel_id: int) -> None:
        """Refuse, without asking Discord, a post to a server channel the bot cannot see or write in (50001)."""
        channel = self._bot.get_channel(channel_id)
        if isinstance(channel, discord.abc.GuildChannel):
            perms = channel.permissions_for(channel.guild.me)
            if not (perms.view_channel and perms.send_messages):
                raise PermanentError(
                    f"the bot cannot see or write in #{channel.name}; /vestry status says how to fix it"
                )

    async def send_message(self, channel_id: int, message: OutMessage, nonce: str) -> int:
        """Post a message in a channel."""
        self._check_channel(channel_id)
        channel = self._bot.get_partial_messageable(channel_id)
        sent = await _guard(channel.send(**message_kwargs(message), nonce=nonce))
        return int(sent.id)

    async def send_dm(self, user_id: int, message: OutMessage, nonce: str) -> int:
        """Send a direct message (DM channels are opened at a pace Discord accepts, and remembered)."""
        channel_id = self.dms.channels.get(user_id)
        if channel_id is None:
            wait = self.dms.wait_before_opening()
            if wait > 0:
                raise TransientError(f"opening DMs at Discord's pace; next in {wait:.0f}s", retry_after=wait)
            data = await _guard(self._bot.http.start_private_message(user_id))
            channel_id = self.dms.channels[user_id] = int(data["id"])
        channel = self._bot.get_partial_messageable(channel_id, type=discord.ChannelType.private)
        sent = await _guard(channel.send(**message_kwargs(message), nonce=nonce))
        return int(sent.id)

    async def edit_message(self, channel_id: int, message_id: int, message: OutMessage) -> None:
        """Edit a message Vestry posted (edits of hour-old posts beyond the channel's budget are left undone)."""
        if not self.old_edits.allow(channel_id, message_id, self._clock.now()):
            log.warning("left an edit of hour-old message %s undone: Discord caps such edits per channel", message_id)
            return
        self._check_channel(channel_id)
        partial = self._bot.get_partial_messageable(channel_id).get_partial_message(message_id)
        message = fit_message(message)
        await _guard(
            partial.edit(
                content=message.content or None,
                embeds=embeds(message.embeds),
                view=view(message.buttons),
                allowed_mentions=allowed_mentions(message.mention_users, message.mention_roles),
            )
        )

    def _check_role(self, guild_id: int, role_id: int) -> None:
        """Refuse, without asking Discord, a role the bot can never grant or remove (403 50013 otherwise)."""
        guild = self._bot.get_guild(guild_id)
        if guild is not None and guild.me is not None and guild.get_role(role_id) is not None:
            problems = tier_role_problems(guild, guild.me, [role_id])
            if problems:
                raise PermanentError(problems[0])

    async def recent_messages(self, channel_id: int | None, user_id: int | None, since: datetime) -> list[SeenMessage]:
        """Read a channel's (or a member's DM channel's) messages newer than ``since``, newest first (≤ 500)."""
        if channel_id is None:
            data = await _guard(self._bot.http.start_private_message(int(user_id or 0)))
            channel_id = int(data["id"])
        found: list[SeenMessage] = []
        before: int | None = None
        for _ in range(5):
            page = await _guard(self._bot.http.logs_from(channel_id, 100, before=before))
            found += [_seen(dict(item)) for item in page]
            if len(page) < 100 or discord.utils.snowflake_time(int(page[-1]["id"])) < since:
                break
            before = int(page[-1]["id"])
        return [seen for seen in found if discord.utils.snowflake_time(seen.id) >= since]

    def own_id(self) -> int:
        """The bot's own user id."""
        user = self._bot.user
        return int(user.id) if user is not None else 0

    async def add_role(self, guild_id: int, user_id: int, role_id: int, reason: str) -> None:
        """Grant a role."""
        self._check_role(guild_id, role_id)
        await _guard(self._bot.http.add_role(guild_id, user_id, role_id, reason=reason or None))

    async def remove_role(self, guild_id: int, user_id: int, role_id: int, reason: str) -> None:
        """Take a role away."""
        self._check_role(guild_id, role_id)
        await _guard(self._bot.http.remove_role(guild_id, user_id, role_id, reason=reason or None))

    async def add_reaction(self, channel_id: int, message_id: int, emoji: str) -> None:
        """React to a message as the bot (a quiet acknowledgement)."""
        await _guard(self._bot.http.add_reaction(channel_id, message_id, emoji))

    async def remove_reaction(self, channel_id: int, message_id: int, emoji: str) -> None:
        """Take the bot's own reaction off a message."""
        await _guard(self._bot.http.remove_own_reaction(channel_id, message_id, emoji))


def _seen(data: dict[str, object]) -> SeenMessage:
    """Keep what identifies a message read back from Discord."""
    author = data.get("author")
    nonce = data.get("nonce")
    return SeenMessage(
        id=int(str(data["id"])),
        author_id=int(str(author.get("id", 0))) if isinstance(author, dict) else 0,
        nonce=None if nonce is None else str(nonce),
        content=str(data.get("content") or ""),
        embeds=embed_keys(data.get("embeds")),
    )


async def _guard(call: Awaitable[T]) -> T:
    """Sort Discord's failures: transient (and whether the request may have been done anyway) or permanent."""
    try:
        return await call
    except discord.RateLimited as exc:
        raise TransientError(f"rate limited for {exc.retry_after:.1f}s", retry_after=exc.retry_after) from exc
    except discord.Forbidden as exc:
        if exc.code == 40003:  # opening DMs too fast: a pause, not a refusal
            raise TransientError("Discord asks to open DMs more slowly", retry_after=60) from exc
        raise PermanentError(f"{exc.status} {exc.text or exc}") from exc
    except discord.NotFound as exc:
        raise PermanentError(f"{exc.status} {exc.text or exc}") from exc
    except discord.HTTPException as exc:
        if exc.status == 429 or exc.status >= 500:
            # A 429 or 503 is refused before anything is done; a 500, 502 or 504 may come after the work was done.
            maybe = exc.status not in (429, 503)
            raise TransientError(f"Discord answered {exc.status}", maybe_sent=maybe) from exc
        raise PermanentError(f"{exc.status} {exc.text or exc}") from exc
    except aiohttp.ClientConnectorError as exc:
        raise TransientError(f"Discord unreachable: {exc}") from exc
    except (aiohttp.ClientError, ConnectionError, TimeoutError) as exc:
        raise TransientError(f"Discord unreachable: {exc}", maybe_sent=True) from exc

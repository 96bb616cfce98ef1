"""The emulated guild: users, members, roles, channels and messages, with name/id lookups and permissions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.clock import Clock
from bot.sandbox.discord.snowflakes import DISCORD_EPOCH_MS as DISCORD_EPOCH_MS
from bot.sandbox.discord.snowflakes import SnowflakeGenerator as SnowflakeGenerator

# Permission bits (https://discord.com/developers/docs/topics/permissions).
CREATE_INSTANT_INVITE = 1 << 0
ADMINISTRATOR = 1 << 3
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MENTION_EVERYONE = 1 << 17
USE_EXTERNAL_EMOJIS = 1 << 18
CONNECT = 1 << 20
SPEAK = 1 << 21
USE_VAD = 1 << 25
CHANGE_NICKNAME = 1 << 26
MANAGE_NICKNAMES = 1 << 27
MANAGE_ROLES = 1 << 28
USE_APPLICATION_COMMANDS = 1 << 31
CREATE_PUBLIC_THREADS = 1 << 35
SEND_MESSAGES_IN_THREADS = 1 << 38
#: Every permission bit Discord defined for API v10 at the time of writing (what the owner gets).
ALL_PERMISSIONS = 8_866_461_766_385_663

#: What @everyone gets in a freshly created guild (a normal member: no Manage Server, no Manage Roles).
EVERYONE_PERMISSIONS = (
    CREATE_INSTANT_INVITE
    | ADD_REACTIONS
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_EXTERNAL_EMOJIS
    | CONNECT
    | SPEAK
    | USE_VAD
    | CHANGE_NICKNAME
    | USE_APPLICATION_COMMANDS
    | CREATE_PUBLIC_THREADS
    | SEND_MESSAGES_IN_THREADS
)
BOT_ROLE_PERMISSIONS = (
    MANAGE_ROLES | VIEW_CHANNEL | SEND_MESSAGES | EMBED_LINKS | ATTACH_FILES | READ_MESSAGE_HISTORY | ADD_REACTIONS
)

TEXT_CHANNEL = 0
DM_CHANNEL = 1
EPHEMERAL = 1 << 6
LOADING = 1 << 7
SUPPRESS_EMBEDS = 1 << 2

DEFAULT_CHANNELS = ("general", "kudos", "reviews", "digest", "maintainers")
DEFAULT_ROLES = ("Follower", "Priest in training", "Priest", "Maintainers")
MAINTAINERS = "Maintainers"
BOT_NAME = "Vestry"
OWNER_NAME = "owner"
_NO_ROLES: tuple[int, ...] = ()


@dataclass(slots=True)
class User:
    """A Discord user account."""

    id: int
    name: str
    bot: bool = False
    dms_open: bool = True


@dataclass(slots=True)
class Member:
    """A user's membership of the guild; ``roles`` never holds @everyone."""

    user: User
    joined_at: datetime
    roles: tuple[int, ...] = _NO_ROLES
    nick: str | None = None


@dataclass(slots=True)
class Role:
    """A guild role; position 0 is @everyone, higher is more powerful."""

    id: int
    name: str
    position: int
    permissions: int = 0
    managed: bool = False
    bot_id: int | None = None
    mentionable: bool = False
    color: int = 0
    hoist: bool = False


@dataclass(slots=True)
class Channel:
    """A guild text channel or a DM channel."""

    id: int
    name: str
    type: int = TEXT_CHANNEL
    position: int = 0
    recipient_id: int | None = None
    last_message_id: int | None = None
    private: bool = False


@dataclass(slots=True)
class Attachment:
    """An uploaded file, with its bytes."""

    id: int
    filename: str
    content_type: str
    data: bytes
    description: str | None = None
    ephemeral: bool = False

    @property
    def size(self) -> int:
        """Return the size in bytes."""
        return len(self.data)


@dataclass(slots=True)
class Message:
    """A message as Discord stores it; edits overwrite fields, deletion only marks it."""

    id: int
    channel_id: int
    author_id: int
    timestamp: datetime
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    allowed_mentions: dict[str, Any] | None = None
    mentions: list[int] = field(default_factory=list)
    mention_roles: list[int] = field(default_factory=list)
    mention_everyone: bool = False
    edited_timestamp: datetime | None = None
    type: int = 0
    flags: int = 0
    tts: bool = False
    nonce: str | int | None = None
    webhook_id: int | None = None
    application_id: int | None = None
    interaction_metadata: dict[str, Any] | None = None
    interaction: dict[str, Any] | None = None
    deleted: bool = False

    @property
    def ephemeral(self) -> bool:
        """Tell whether only the invoking member can see it."""
        return bool(self.flags & EPHEMERAL)

    @property
    def loading(self) -> bool:
        """Tell whether it is a deferred "thinking…" placeholder."""
        return bool(self.flags & LOADING)


class World:
    """All state of the one emulated guild."""

    def __init__(self, *, clock: Clock, guild_name: str, ids: SnowflakeGenerator) -> None:
        self.clock = clock
        self.ids = ids
        self.guild_name = guild_name
        self.cdn_base = "http://127.0.0.1"
        self.users: dict[int, User] = {}
        self.members: dict[int, Member] = {}
        self.roles: dict[int, Role] = {}
        self.channels: dict[int, Channel] = {}
        self.messages: dict[int, Message] = {}
        self.channel_messages: dict[int, list[int]] = {}
        self.dm_channels: dict[int, int] = {}
        self.uploads: dict[int, Attachment] = {}
        self._user_names: dict[str, int] = {}
        #: Privileged gateway intents enabled for the application in the Developer Portal (GUILD_MEMBERS).
        self.privileged_intents = 1 << 1
        self.application_id = ids.next()
        self.bot_user_id = self.application_id
        self.guild_id = ids.next()
        self.created_at = clock.now()
        self.preferred_locale = "en-US"  # the server's language (Server Settings → Community → Overview)
        self._build_default()

    def _build_default(self) -> None:
        self.roles[self.guild_id] = Role(self.guild_id, "@everyone", 0, EVERYONE_PERMISSIONS)
        for position, name in enumerate(DEFAULT_ROLES, start=1):
            perms = ADMINISTRATOR if name == MAINTAINERS else 0
            role = Role(self.ids.next(), name, position, perms)
            role.mentionable = name == MAINTAINERS  # set up as docs/setup.md asks, so escalations can ping it
            self.roles[role.id] = role
        bot_role = Role(
            self.ids.next(),
            BOT_NAME,
            len(DEFAULT_ROLES) + 1,
            BOT_ROLE_PERMISSIONS,
            managed=True,
            bot_id=self.bot_user_id,
        )
        self.roles[bot_role.id] = bot_role
        for position, name in enumerate(DEFAULT_CHANNELS):
            channel = Channel(self.ids.next(), name, TEXT_CHANNEL, position)
            self.channels[channel.id] = channel
            self.channel_messages[channel.id] = []
        bot_user = User(self.bot_user_id, BOT_NAME, bot=True)
        self._add_user(bot_user)
        self.members[bot_user.id] = Member(bot_user, self.created_at, (bot_role.id,))
        owner = self.add_member(OWNER_NAME)
        owner.roles = (self.role(MAINTAINERS).id,)
        self.owner_id = owner.user.id

    # -- lookups ---------------------------------------------------------------------------------------

    def _add_user(self, user: User) -> None:
        self.users[user.id] = user
        key = user.name.casefold()
        self._user_names[user.name if key == user.name else key] = user.id  # share the string when possible

    @staticmethod
    def _as_id(ref: str | int) -> int | None:
        if isinstance(ref, int):
            return ref
        text = str(ref).strip()
        return int(text) if text.isdigit() else None

    def member(self, ref: str | int) -> Member:
        """Find a current member by id or name."""
        ref_id = self._as_id(ref)
        found = self.members.get(ref_id) if ref_id is not None else None
        if found is None:
            user_id = self._user_names.get(str(ref).strip().lstrip("@").casefold())
            found = self.members.get(user_id) if user_id is not None else None
        if found is None:
            raise KeyError(f"unknown member {ref!r}")
        return found

    def user(self, ref: str | int) -> User:
        """Find a user (member or former member) by id or name."""
        ref_id = self._as_id(ref)
        if ref_id is not None and ref_id in self.users:
            return self.users[ref_id]
        user_id = self._user_names.get(str(ref).strip().lstrip("@").casefold())
        if user_id is None:
            raise KeyError(f"unknown user {ref!r}")
        return self.users[user_id]

    def role(self, ref: str | int) -> Role:
        """Find a role by id or name (case-insensitive)."""
        ref_id = self._as_id(ref)
        if ref_id is not None and ref_id in self.roles:
            return self.roles[ref_id]
        wanted = str(ref).strip().casefold()
        for role in self.roles.values():
            if role.name.casefold() == wanted:
                return role
        raise KeyError(f"unknown role {ref!r}")

    def channel(self, ref: str | int) -> Channel:
        """Find a channel by id, name (``#`` optional) or ``dm:<member>``."""
        ref_id = self._as_id(ref)
        if ref_id is not None and ref_id in self.channels:
            return self.channels[ref_id]
        text = str(ref).strip()
        if text.casefold().startswith("dm:"):
            user = self.user(text[3:])
            channel_id = self.dm_channels.get(user.id)
            if channel_id is None:
                raise KeyError(f"no DM channel with {user.name!r} yet")
            return self.channels[channel_id]
        wanted = text.lstrip("#").casefold()
        for channel in self.channels.values():
            if channel.type == TEXT_CHANNEL and channel.name.casefold() == wanted:
                return channel
        raise KeyError(f"unknown channel {ref!r}")

    def channel_label(self, channel: Channel) -> str:
        """Name a channel as the control API does: its name, or ``dm:<member>``."""
        if channel.type == DM_CHANNEL and channel.recipient_id is not None:
            return f"dm:{self.users[channel.recipient_id].name}"
        return channel.name

    # -- changes ---------------------------------------------------------------------------------------

    def add_member(self, name: str, *, joined_at: datetime | None = None) -> Member:
        """Create a user and make it a member; a former member with that name rejoins with the same id."""
        if not name:
            raise ValueError("a member needs a name")
        known = self._user_names.get(name.casefold())
        if known is not None and known in self.members:
            raise ValueError(f"a member named {name!r} is already in the server")
        if known is not None:
            user = self.users[known]
        else:
            user = User(self.ids.next(), name)
            self._add_user(user)
        member = Member(user, joined_at or self.clock.now())
        self.members[user.id] = member
        return member

    def remove_member(self, member: Member) -> None:
        """Make a member leave; the user stays known (old messages keep their author)."""
        del self.members[member.user.id]

    def create_role(
        self, name: str, position: int, permissions: int = 0, *, managed: bool = False, mentionable: bool = False
    ) -> tuple[Role, list[Role]]:
        """Insert a role at ``position``, shifting the roles at or above it; return it and the shifted ones."""
        if not name or len(name) > 100:
            raise ValueError("a role needs a name of 1 to 100 characters")
        position = max(1, position)
        shifted = [r for r in self.roles.values() if r.id != self.guild_id and r.position >= position]
        for other in shifted:
            other.position += 1
        role = Role(self.ids.next(), name, position, permissions, managed=managed, mentionable=mentionable)
        self.roles[role.id] = role
        return role, shifted

    def create_channel(self, name: str, *, private: bool = False) -> Channel:
        """Add a text channel (a private one the bot cannot see)."""
        if not name or len(name) > 100:
            raise ValueError("a channel needs a name of 1 to 100 characters")
        if any(c.type == TEXT_CHANNEL and c.name.casefold() == name.casefold() for c in self.channels.values()):
            raise ValueError(f"a channel named {name!r} already exists")
        position = 1 + max((c.position for c in self.channels.values() if c.type == TEXT_CHANNEL), default=-1)
        channel = Channel(self.ids.next(), name, TEXT_CHANNEL, position, private=private)
        self.channels[channel.id] = channel
        self.channel_messages[channel.id] = []
        return channel

    def can_view(self, member: Member, channel: Channel) -> bool:
        """Tell whether a member sees a channel (a private channel only its admins and the owner see)."""
        if channel.type == DM_CHANNEL:
            return member.user.id == channel.recipient_id
        if not channel.private:
            return True
        return bool(self.permissions(member) & ADMINISTRATOR) or member.user.id == self.owner_id

    def open_dm(self, user: User) -> Channel:
        """Return the DM channel with a user, creating it on first use."""
        channel_id = self.dm_channels.get(user.id)
        if channel_id is None:
            channel = Channel(self.ids.next(), f"dm-{user.name}", DM_CHANNEL, recipient_id=user.id)
            self.channels[channel.id] = channel
            self.channel_messages[channel.id] = []
            self.dm_channels[user.id] = channel.id
            return channel
        return self.channels[channel_id]

    def store_message(self, message: Message) -> None:
        """Record a new message; ephemeral ones are kept out of the channel history."""
        self.messages[message.id] = message
        if not message.ephemeral:
            self.channel_messages.setdefault(message.channel_id, []).append(message.id)
            self.channels[message.channel_id].last_message_id = message.id

    # -- permissions -----------------------------------------------------------------------------------

    @property
    def bot_member(self) -> Member:
        """Return the bot's own member."""
        return self.members[self.bot_user_id]

    def permissions(self, member: Member) -> int:
        """Compute a member's guild permissions (no channel overwrites exist in the sandbox)."""
        if member.user.id == self.owner_id:
            return ALL_PERMISSIONS
        value = self.roles[self.guild_id].permissions
        for role_id in member.roles:
            role = self.roles.get(role_id)
            if role is not None:
                value |= role.permissions
        return ALL_PERMISSIONS if value & ADMINISTRATOR else value

    def top_position(self, member: Member) -> int:
        """Return the position of a member's highest role (0 for @everyone only)."""
        return max((self.roles[r].position for r in member.roles if r in self.roles), default=0)

    def role_names(self, member: Member) -> list[str]:
        """List a member's role names, highest first."""
        roles = sorted((self.roles[r] for r in member.roles if r in self.roles), key=lambda r: -r.position)
        return [r.name for r in roles]

"""Discord JSON shapes of the world's objects, with every field discord.py reads and Discord's spec requires."""

from __future__ import annotations

import copy
import hashlib
from datetime import datetime
from typing import Any
from urllib.parse import quote

from bot.sandbox.discord.world import (
    DM_CHANNEL,
    VIEW_CHANNEL,
    Attachment,
    Channel,
    Member,
    Message,
    Role,
    User,
    World,
)

ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024


def iso(when: datetime | None) -> str | None:
    """Format a timestamp as Discord does (ISO 8601 with microseconds and offset)."""
    return None if when is None else when.isoformat(timespec="microseconds")


def user_json(user: User) -> dict[str, Any]:
    """Return a user object."""
    data: dict[str, Any] = {
        "id": str(user.id),
        "username": user.name,
        "discriminator": "0",
        "avatar": None,
        "global_name": None if user.bot else user.name,
        "public_flags": 0,
        "flags": 0,
        "banner": None,
        "accent_color": None,
        "avatar_decoration_data": None,
        "collectibles": None,
        "primary_guild": None,
    }
    if user.bot:
        data["bot"] = True
    return data


def me_json(user: User) -> dict[str, Any]:
    """Return the private user object of ``GET /users/@me``."""
    return {**user_json(user), "mfa_enabled": False, "locale": "en-US", "verified": True, "email": None}


def member_json(world: World, member: Member, *, with_user: bool = True, permissions: bool = False) -> dict[str, Any]:
    """Return a guild member object; ``permissions`` adds the interaction-only field."""
    data: dict[str, Any] = {
        "avatar": None,
        "banner": None,
        "communication_disabled_until": None,
        "flags": 0,
        "joined_at": iso(member.joined_at),
        "nick": member.nick,
        "pending": False,
        "premium_since": None,
        "roles": [str(r) for r in member.roles],
        "mute": False,
        "deaf": False,
        "avatar_decoration_data": None,
        "collectibles": None,
    }
    if with_user:
        data["user"] = user_json(member.user)
    if permissions:
        data["permissions"] = str(world.permissions(member))
    return data


def role_json(role: Role) -> dict[str, Any]:
    """Return a role object."""
    data: dict[str, Any] = {
        "id": str(role.id),
        "name": role.name,
        "permissions": str(role.permissions),
        "position": role.position,
        "color": role.color,
        "colors": {"primary_color": role.color, "secondary_color": None, "tertiary_color": None},
        "hoist": role.hoist,
        "managed": role.managed,
        "mentionable": role.mentionable,
        "icon": None,
        "unicode_emoji": None,
        "flags": 0,
    }
    if role.bot_id is not None:
        data["tags"] = {"bot_id": str(role.bot_id)}
    elif role.managed:
        data["tags"] = {"integration_id": str(role.id)}  # an integration's role (a sponsor bot, a subscription)
    return data


def _overwrites(world: World, channel: Channel) -> list[dict[str, Any]]:
    """A private channel hides itself from @everyone, as a server admin sets it up."""
    if not channel.private:
        return []
    return [{"id": str(world.guild_id), "type": 0, "allow": "0", "deny": str(VIEW_CHANNEL)}]


def channel_json(world: World, channel: Channel, *, permissions: int | None = None) -> dict[str, Any]:
    """Return a guild text channel or DM channel object."""
    last = None if channel.last_message_id is None else str(channel.last_message_id)
    if channel.type == DM_CHANNEL:
        recipient = world.users[channel.recipient_id] if channel.recipient_id is not None else None
        return {
            "id": str(channel.id),
            "type": DM_CHANNEL,
            "last_message_id": last,
            "flags": 0,
            "last_pin_timestamp": None,
            "recipients": [user_json(recipient)] if recipient else [],
        }
    data: dict[str, Any] = {
        "id": str(channel.id),
        "type": channel.type,
        "guild_id": str(world.guild_id),
        "name": channel.name,
        "position": channel.position,
        "permission_overwrites": _overwrites(world, channel),
        "topic": None,
        "nsfw": False,
        "last_message_id": last,
        "last_pin_timestamp": None,
        "rate_limit_per_user": 0,
        "parent_id": None,
        "flags": 0,
    }
    if permissions is not None:
        data["permissions"] = str(permissions)
    return data


def guild_json(world: World) -> dict[str, Any]:
    """Return the guild object of ``GET /guilds/{guild_id}``."""
    general = next(iter(world.channels))
    return {
        "id": str(world.guild_id),
        "name": world.guild_name,
        "icon": None,
        "description": None,
        "home_header": None,
        "splash": None,
        "discovery_splash": None,
        "features": [],
        "banner": None,
        "owner_id": str(world.owner_id),
        "application_id": None,
        "region": "deprecated",
        "afk_channel_id": None,
        "afk_timeout": 300,
        "system_channel_id": str(general),
        "system_channel_flags": 0,
        "widget_enabled": False,
        "widget_channel_id": None,
        "verification_level": 0,
        "roles": [role_json(r) for r in sorted(world.roles.values(), key=lambda r: r.position)],
        "default_message_notifications": 0,
        "mfa_level": 0,
        "explicit_content_filter": 0,
        "max_presences": None,
        "max_members": 500000,
        "max_stage_video_channel_users": 50,
        "max_video_channel_users": 25,
        "vanity_url_code": None,
        "premium_tier": 0,
        "premium_subscription_count": 0,
        "preferred_locale": world.preferred_locale,
        "rules_channel_id": None,
        "safety_alerts_channel_id": None,
        "public_updates_channel_id": None,
        "premium_progress_bar_enabled": False,
        "nsfw": False,
        "nsfw_level": 0,
        "emojis": [],
        "stickers": [],
        "incidents_data": None,
    }


def guild_create_json(world: World, members: list[Member], *, large: bool) -> dict[str, Any]:
    """Return the GUILD_CREATE payload with the given subset of members."""
    data = guild_json(world)
    data.update(
        joined_at=iso(world.bot_member.joined_at),
        large=large,
        unavailable=False,
        member_count=len(world.members),
        voice_states=[],
        members=[member_json(world, m) for m in members],
        channels=[channel_json(world, c) for c in world.channels.values() if c.type != DM_CHANNEL],
        threads=[],
        presences=[],
        stage_instances=[],
        guild_scheduled_events=[],
        soundboard_sounds=[],
        lazy=True,
    )
    return data


def attachment_json(world: World, message_channel_id: int, attachment: Attachment) -> dict[str, Any]:
    """Return an attachment object whose URL is served by the emulator."""
    url = f"{world.cdn_base}/attachments/{message_channel_id}/{attachment.id}/{quote(attachment.filename)}"
    data: dict[str, Any] = {
        "id": str(attachment.id),
        "filename": attachment.filename,
        "size": attachment.size,
        "url": url,
        "proxy_url": url,
        "content_type": attachment.content_type,
    }
    if attachment.description is not None:
        data["description"] = attachment.description
    if attachment.ephemeral:
        data["ephemeral"] = True
    return data


def _with_component_ids(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Number components depth-first as Discord does for those sent without an ``id``."""
    result = copy.deepcopy(components)
    taken = set()
    stack = list(result)
    while stack:
        item = stack.pop()
        if isinstance(item.get("id"), int):
            taken.add(item["id"])
        stack.extend(c for c in item.get("components", []) if isinstance(c, dict))
    counter = 0

    def number(items: list[dict[str, Any]]) -> None:
        nonlocal counter
        for item in items:
            if not isinstance(item.get("id"), int):
                counter += 1
                while counter in taken:
                    counter += 1
                item["id"] = counter
            children = item.get("components")
            if isinstance(children, list):
                number([c for c in children if isinstance(c, dict)])
            accessory = item.get("accessory")
            if isinstance(accessory, dict):
                number([accessory])

    number(result)
    return result


def message_json(world: World, message: Message) -> dict[str, Any]:
    """Return a full message object."""
    channel = world.channels[message.channel_id]
    author = world.users[message.author_id]
    data: dict[str, Any] = {
        "id": str(message.id),
        "channel_id": str(message.channel_id),
        "author": user_json(author),
        "content": message.content,
        "timestamp": iso(message.timestamp),
        "edited_timestamp": iso(message.edited_timestamp),
        "tts": message.tts,
        "mention_everyone": message.mention_everyone,
        "mentions": [user_json(world.users[u]) for u in message.mentions if u in world.users],
        "mention_roles": [str(r) for r in message.mention_roles],
        "attachments": [attachment_json(world, message.channel_id, a) for a in message.attachments],
        "embeds": copy.deepcopy(message.embeds),
        "components": _with_component_ids(message.components),
        "pinned": False,
        "type": message.type,
        "flags": message.flags,
    }
    if channel.type != DM_CHANNEL:
        data["guild_id"] = str(world.guild_id)
    if message.nonce is not None:
        data["nonce"] = message.nonce
    if message.webhook_id is not None:
        data["webhook_id"] = str(message.webhook_id)
    if message.application_id is not None:
        data["application_id"] = str(message.application_id)
    if message.interaction_metadata is not None:
        data["interaction_metadata"] = copy.deepcopy(message.interaction_metadata)
    if message.interaction is not None:
        data["interaction"] = copy.deepcopy(message.interaction)
    return data


def gateway_message_json(world: World, message: Message) -> dict[str, Any]:
    """Return the MESSAGE_CREATE/UPDATE payload: the message plus its author's member data in guilds."""
    data = message_json(world, message)
    author = world.members.get(message.author_id)
    if "guild_id" in data and author is not None:
        data["member"] = member_json(world, author, with_user=False)
    return data


def application_json(world: World) -> dict[str, Any]:
    """Return the bot's application object (``GET /applications/@me``)."""
    bot = world.users[world.bot_user_id]
    return {
        "id": str(world.application_id),
        "name": bot.name,
        "icon": None,
        "description": "",
        "summary": "",
        "type": None,
        "bot_public": True,
        "bot_require_code_grant": False,
        "verify_key": hashlib.sha256(str(world.application_id).encode()).hexdigest(),
        "flags": 0,
        "owner": user_json(world.users[world.owner_id]),
        "team": None,
        "rpc_origins": [],
        "redirect_uris": [],
        "tags": [],
        "hook": True,
        "bot": user_json(bot),
        "approximate_guild_count": 1,
        "integration_types_config": {"0": {}},
    }

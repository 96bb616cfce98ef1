"""Synced application commands, and turning ``("vestry backfill", {"repo": ...})`` into interaction data."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from bot.i18n.locales import DISCORD_LOCALES
from bot.sandbox.discord.payloads import attachment_json, channel_json, member_json, role_json, user_json
from bot.sandbox.discord.rest import ApiError, form_error
from bot.sandbox.discord.world import Attachment, World

SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER, ATTACHMENT = 3, 4, 5, 6, 7, 8, 9, 10, 11
#: Discord's command-name rule, ``^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$`` (``re`` has no ``\p``: letters
#: and numbers are ``[^\W_]``, and the Devanagari and Thai blocks hold the combining marks those scripts need).
_NAME = re.compile(r"^(?:[-_'\u0900-\u097F\u0E00-\u0E7F]|[^\W_])+$")
_MAX_NAME, _MAX_DESCRIPTION, _MAX_OPTIONS, _MAX_CHOICES, _MAX_CHOICE, _MAX_TOTAL = 32, 100, 25, 25, 100, 8000
_MAX_CONTEXT_MENUS = 5
CHAT_INPUT, USER_MENU, MESSAGE_MENU = 1, 2, 3


@dataclass
class Resolved:
    """A command found by its space-separated path."""

    command: dict[str, Any]
    guild_id: int | None
    path: list[str]
    schema: list[dict[str, Any]]


class CommandRegistry:
    """Hold the commands synced globally (key None) and per guild, with stable ids across re-syncs."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.scopes: dict[int | None, list[dict[str, Any]]] = {}

    def sync(self, guild_id: int | None, body: Any) -> list[dict[str, Any]]:
        """Replace a scope's commands with ``body`` (a bulk overwrite), echoing them with ids."""
        if not isinstance(body, list):
            raise ApiError(400, 50109, "The request body contains invalid JSON.")
        if len(body) > 110:
            raise form_error("_root", "BASE_TYPE_MAX_LENGTH", "Must be 110 or fewer in length.")
        _check_kinds(body)
        old = {(c["name"], c.get("type", 1)): c for c in self.scopes.get(guild_id, [])}
        seen: set[tuple[str, int]] = set()
        result = []
        for index, item in enumerate(body):
            key = (str(item.get("name")), int(item.get("type") or 1))
            _validate_command(index, item)
            if key in seen:
                raise form_error(
                    f"{index}.name", "APPLICATION_COMMANDS_DUPLICATE_NAME", "Application command names must be unique"
                )
            seen.add(key)
            previous = old.get(key)
            command = {k: v for k, v in item.items() if k != "id"}
            command["type"] = key[1]
            command.setdefault("description", "")
            command.setdefault("default_member_permissions", None)
            command.setdefault("nsfw", False)
            command["id"] = previous["id"] if previous else str(self.world.ids.next())
            command["application_id"] = str(self.world.application_id)
            unchanged = previous and {
                k: v for k, v in previous.items() if k not in ("id", "version", "guild_id", "application_id")
            } == {k: v for k, v in command.items() if k not in ("id", "version", "guild_id", "application_id")}
            command["version"] = previous["version"] if unchanged and previous else str(self.world.ids.next())
            if guild_id is not None:
                command["guild_id"] = str(guild_id)
            result.append(command)
        self.scopes[guild_id] = result
        return result

    def get(self, guild_id: int | None) -> list[dict[str, Any]]:
        """Return a scope's commands."""
        return self.scopes.get(guild_id, [])

    def find(self, path: str, *, dm: bool = False) -> Resolved:
        """Find ``"group sub"``-style paths in the guild's commands, then the global ones; LookupError if none.

        In a DM only global commands that allow the bot's DMs exist (guild commands never show there).
        """
        words = path.strip().lstrip("/").split()
        if not words:
            raise LookupError("no command given")
        for guild_id in (None,) if dm else (self.world.guild_id, None):
            command = next((c for c in self.get(guild_id) if c["name"] == words[0] and c["type"] == 1), None)
            if command is not None and dm and not _allowed_in_dms(command):
                raise LookupError(f"/{words[0]} cannot be used in DMs")
            if command is None:
                continue
            schema = command.get("options") or []
            for word in words[1:]:
                nested = next(
                    (o for o in schema if o.get("name") == word and o.get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP)),
                    None,
                )
                if nested is None:
                    raise LookupError(f"/{path} is not a synced command (no subcommand {word!r})")
                schema = nested.get("options") or []
            if any(o.get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP) for o in schema):
                raise LookupError(f"/{path} is a group; name one of its subcommands")
            return Resolved(command, guild_id, words, schema)
        raise LookupError(f"/{path} is not a synced command")


def _allowed_in_dms(command: dict[str, Any]) -> bool:
    contexts = command.get("contexts")
    if contexts is not None:
        return 1 in contexts
    return command.get("dm_permission") is not False


def _valid_name(name: str) -> bool:
    return 1 <= len(name) <= _MAX_NAME and bool(_NAME.match(name)) and name == name.lower()


def _localized(path: str, value: Any) -> list[tuple[str, str]]:
    """Return a localisation map's (locale, text) pairs; refuse unknown locales and non-string texts."""
    if value is None:
        return []
    if not isinstance(value, dict):
        raise form_error(path, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
    for locale, text in value.items():
        if locale not in DISCORD_LOCALES:
            raise form_error(f"{path}.{locale}", "LOCALE_INVALID", f"Invalid locale {locale!r}")  # as 50035
        if not isinstance(text, str):
            raise form_error(f"{path}.{locale}", "BASE_TYPE_STRING", "Could not interpret the value as string.")
    return list(value.items())


def _validate_localizations(path: str, item: dict[str, Any], *, chat_input: bool) -> None:
    """Hold localised names to the name rules (lower case for chat input) and descriptions to 1-100 characters."""
    for locale, name in _localized(f"{path}.name_localizations", item.get("name_localizations")):
        valid = _valid_name(name) if chat_input else 1 <= len(name) <= _MAX_NAME
        if not valid:
            where = f"{path}.name_localizations.{locale}"
            raise form_error(where, "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
    descriptions = _localized(f"{path}.description_localizations", item.get("description_localizations"))
    if descriptions and not chat_input:
        where = f"{path}.description_localizations"
        raise form_error(where, "CONTEXT_MENU_NO_DESCRIPTION", "Context menus take no description")
    for locale, text in descriptions:
        if not 1 <= len(text) <= _MAX_DESCRIPTION:
            where = f"{path}.description_localizations.{locale}"
            raise form_error(where, "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")


def _check_kinds(body: list[dict[str, Any]]) -> None:
    """Refuse more than 100 chat-input commands or more than 5 user or 5 message context menus."""
    for kind, limit in ((CHAT_INPUT, 100), (USER_MENU, _MAX_CONTEXT_MENUS), (MESSAGE_MENU, _MAX_CONTEXT_MENUS)):
        if sum(1 for item in body if int(item.get("type") or 1) == kind) > limit:
            raise form_error(
                "_root", "APPLICATION_COMMANDS_TOO_MANY", f"Maximum number of application commands of type {kind}"
            )


def _validate_command(index: int, item: dict[str, Any]) -> None:
    name = str(item.get("name") or "")
    kind = int(item.get("type") or 1)
    if kind == CHAT_INPUT and not _valid_name(name):
        raise form_error(f"{index}.name", "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
    if kind != CHAT_INPUT and not 1 <= len(name) <= _MAX_NAME:
        raise form_error(f"{index}.name", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 32 in length.")
    if kind == CHAT_INPUT and not 1 <= len(str(item.get("description") or "")) <= _MAX_DESCRIPTION:
        raise form_error(f"{index}.description", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
    if kind != CHAT_INPUT and (item.get("description") or item.get("options")):
        raise form_error(f"{index}.description", "CONTEXT_MENU_NO_DESCRIPTION", "Context menus take no description")
    _validate_localizations(str(index), item, chat_input=kind == CHAT_INPUT)
    _validate_options(f"{index}.options", item.get("options") or [])
    if _text_size(item) > _MAX_TOTAL:
        raise form_error(f"{index}", "APPLICATION_COMMAND_TOO_LARGE", f"Command exceeds maximum size ({_MAX_TOTAL})")


def _text_size(item: dict[str, Any]) -> int:
    """Count a command's names, descriptions and choices (names and values), as Discord's 8000 limit does."""
    total = len(str(item.get("name") or "")) + len(str(item.get("description") or ""))
    for choice in item.get("choices") or []:
        total += len(str(choice.get("name") or "")) + len(str(choice.get("value") or ""))
    return total + sum(_text_size(option) for option in item.get("options") or [])


def _validate_options(path: str, options: list[dict[str, Any]]) -> None:
    if len(options) > _MAX_OPTIONS:
        raise form_error(path, "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
    optional_seen = False
    names: set[str] = set()
    for index, option in enumerate(options):
        name = str(option.get("name") or "")
        if not _valid_name(name):
            raise form_error(f"{path}.{index}.name", "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
        if name in names:
            raise form_error(
                f"{path}.{index}.name", "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS", "Duplicate name"
            )
        names.add(name)
        _validate_localizations(f"{path}.{index}", option, chat_input=True)
        if not 1 <= len(str(option.get("description") or "")) <= _MAX_DESCRIPTION:
            path_d = f"{path}.{index}.description"
            raise form_error(path_d, "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
        if option.get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP):
            _validate_options(f"{path}.{index}.options", option.get("options") or [])
            continue
        _validate_choices(f"{path}.{index}", option)
        if option.get("required"):
            if optional_seen:
                raise form_error(
                    f"{path}.{index}.required",
                    "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID",
                    "Required options must be placed before non-required options",
                )
        else:
            optional_seen = True


def _validate_choices(path: str, option: dict[str, Any]) -> None:
    choices = option.get("choices") or []
    if len(choices) > _MAX_CHOICES:
        raise form_error(f"{path}.choices", "BASE_TYPE_MAX_LENGTH", f"Must be {_MAX_CHOICES} or fewer in length.")
    if choices and option.get("autocomplete"):
        raise form_error(f"{path}.autocomplete", "APPLICATION_COMMAND_AUTOCOMPLETE_CHOICES", "Cannot have both")
    for index, choice in enumerate(choices):
        for locale, text in _localized(f"{path}.choices.{index}.name_localizations", choice.get("name_localizations")):
            if not 1 <= len(text) <= _MAX_CHOICE:
                where = f"{path}.choices.{index}.name_localizations.{locale}"
                raise form_error(where, "BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {_MAX_CHOICE} in length.")
        for key in ("name", "value"):
            value = choice.get(key)
            if isinstance(value, str) and not 1 <= len(value) <= _MAX_CHOICE:
                where = f"{path}.choices.{index}.{key}"
                raise form_error(where, "BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {_MAX_CHOICE} in length.")


def build_options(
    world: World, resolved: Resolved, values: dict[str, Any], *, focused: tuple[str, str] | None = None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Return the nested ``data.options`` and ``data.resolved`` for the given option values.

    With ``focused``, the options are an autocomplete's: only that option, with its typed text and ``focused``.
    """
    if focused is not None:
        leaf_focus = [{"name": focused[0], "type": STRING, "value": focused[1], "focused": True}]
        return _nest(resolved, leaf_focus), {}
    leaf: list[dict[str, Any]] = []
    found: dict[str, dict[str, Any]] = {}
    by_name = {o["name"]: o for o in resolved.schema}
    for name in values:
        if name not in by_name:
            raise ValueError(f"/{' '.join(resolved.path)} has no option {name!r} (it has {sorted(by_name)})")
    for option in resolved.schema:
        name = option["name"]
        if name not in values or values[name] is None:
            if option.get("required"):
                raise ValueError(f"/{' '.join(resolved.path)} needs the option {name!r}")
            continue
        kind = option["type"]
        leaf.append({"name": name, "type": kind, "value": option_value(world, kind, values[name], found)})
    return _nest(resolved, leaf), found


def _nest(resolved: Resolved, leaf: list[dict[str, Any]]) -> list[dict[str, Any]]:
    options = leaf
    for word, kind in reversed(list(zip(resolved.path[1:], _kinds(resolved), strict=True))):
        options = [{"name": word, "type": kind, "options": options}]
    return options


def _kinds(resolved: Resolved) -> list[int]:
    kinds = []
    schema = resolved.command.get("options") or []
    for word in resolved.path[1:]:
        nested = next(o for o in schema if o.get("name") == word)
        kinds.append(nested["type"])
        schema = nested.get("options") or []
    return kinds


def option_value(world: World, kind: int, value: Any, found: dict[str, dict[str, Any]]) -> Any:
    if kind == STRING:
        return str(value)
    if kind == INTEGER:
        return int(value)
    if kind == NUMBER:
        return float(value)
    if kind == BOOLEAN:
        return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "on")
    if kind == USER or (kind == MENTIONABLE and _is_member(world, value)):
        member = world.member(value)
        key = str(member.user.id)
        found.setdefault("users", {})[key] = user_json(member.user)
        found.setdefault("members", {})[key] = member_json(world, member, with_user=False, permissions=True)
        return key
    if kind in (ROLE, MENTIONABLE):
        role = world.role(value)
        found.setdefault("roles", {})[str(role.id)] = role_json(role)
        return str(role.id)
    if kind == CHANNEL:
        channel = world.channel(value)
        perms = world.permissions(world.bot_member)
        found.setdefault("channels", {})[str(channel.id)] = channel_json(world, channel, permissions=perms)
        return str(channel.id)
    if kind == ATTACHMENT:
        return _attachment_value(world, value, found)
    raise ValueError(f"unsupported option type {kind}")


def _is_member(world: World, value: Any) -> bool:
    try:
        world.member(value)
    except KeyError:
        return False
    return True


def _attachment_value(world: World, value: Any, found: dict[str, dict[str, Any]]) -> str:
    """Upload ``{"filename", "content" (str or bytes), "content_type"?}`` as an ephemeral attachment."""
    if not isinstance(value, dict) or "filename" not in value:
        raise ValueError('an attachment option needs {"filename": ..., "content": ...}')
    content = value.get("content", b"")
    data = content.encode() if isinstance(content, str) else bytes(content)
    attachment = Attachment(
        world.ids.next(), value["filename"], value.get("content_type", "application/octet-stream"), data, ephemeral=True
    )
    world.uploads[attachment.id] = attachment
    channel_id = next(iter(world.channels))
    found.setdefault("attachments", {})[str(attachment.id)] = attachment_json(world, channel_id, attachment)
    return str(attachment.id)

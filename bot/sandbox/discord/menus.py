"""Context-menu commands and modal submissions: the interactions that are not slash commands or clicks."""

from __future__ import annotations

from typing import Any

from bot.sandbox.discord.payloads import member_json, message_json, user_json
from bot.sandbox.discord.rest import form_error
from bot.sandbox.discord.world import World

USER_MENU, MESSAGE_MENU = 2, 3
TEXT_INPUT, LABEL = 4, 18


def find_menu(commands: list[dict[str, Any]], name: str, kind: int) -> dict[str, Any] | None:
    """Return the synced context-menu command of that kind and name, if any."""
    return next((c for c in commands if c.get("type") == kind and c.get("name") == name), None)


def menu_data(world: World, command: dict[str, Any], target: str | int) -> dict[str, Any]:
    """Return the ``data`` of a context-menu interaction on a message or a member (KeyError when unknown)."""
    data: dict[str, Any] = {"id": command["id"], "name": command["name"], "type": command["type"]}
    if command["type"] == MESSAGE_MENU:
        message = world.messages.get(int(target)) if str(target).isdigit() else None
        if message is None or message.deleted or message.ephemeral:
            raise KeyError(f"no message {target}")
        data.update(target_id=str(message.id), resolved={"messages": {str(message.id): message_json(world, message)}})
    else:
        member = world.member(target)
        key = str(member.user.id)
        data.update(
            target_id=key,
            resolved={
                "users": {key: user_json(member.user)},
                "members": {key: member_json(world, member, with_user=False, permissions=True)},
            },
        )
    return data


def modal_view(modal: dict[str, Any]) -> dict[str, Any]:
    """Describe a modal the bot answered with: ``{"custom_id", "title", "fields": [{custom_id, label, required}]}``."""
    fields = []
    for row in modal.get("components") or []:
        for item in _inputs(row):
            label = item.get("label") or row.get("label") or ""
            fields.append(
                {
                    "custom_id": item.get("custom_id"),
                    "label": label,
                    "required": item.get("required", True) is not False,
                }
            )
    return {"custom_id": modal.get("custom_id"), "title": modal.get("title"), "fields": fields}


def _inputs(row: dict[str, Any]) -> list[dict[str, Any]]:
    if row.get("type") == LABEL and isinstance(row.get("component"), dict):
        return [row["component"]]
    return [c for c in row.get("components") or [] if c.get("type") == TEXT_INPUT]


def submission(modal: dict[str, Any], values: dict[str, str]) -> dict[str, Any]:
    """Return the ``data`` of a MODAL_SUBMIT for ``values`` (ValueError for unknown or missing required fields)."""
    view = modal_view(modal)
    known = {f["custom_id"]: f for f in view["fields"]}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ValueError(f"the modal {view['custom_id']!r} has no field(s) {unknown} (it has {sorted(known)})")
    missing = [key for key, field in known.items() if field["required"] and not values.get(key)]
    if missing:
        raise ValueError(f"the modal {view['custom_id']!r} needs the field(s) {missing}")
    rows = [
        {"type": 1, "components": [{"type": TEXT_INPUT, "custom_id": key, "value": str(values.get(key, ""))}]}
        for key in known
    ]
    return {"custom_id": view["custom_id"], "components": rows}


_TEXT_STYLES = (1, 2)  # short, paragraph


def _length(path: str, value: Any, low: int, high: int) -> None:
    if value is None:
        return
    if not isinstance(value, str) or not low <= len(value) <= high:
        raise form_error(path, "BASE_TYPE_BAD_LENGTH", f"Must be between {low} and {high} in length.")


def validate_modal(data: dict[str, Any]) -> None:
    """Refuse a modal Discord would refuse: title 1-45, custom_id 1-100, 1-5 rows, text inputs within their limits."""
    for key in ("custom_id", "title", "components"):
        if not data.get(key):
            raise form_error(f"data.{key}", "BASE_TYPE_REQUIRED", "This field is required")
    _length("data.title", data["title"], 1, 45)
    _length("data.custom_id", data["custom_id"], 1, 100)
    rows = data["components"]
    if not isinstance(rows, list) or not 1 <= len(rows) <= 5:
        raise form_error("data.components", "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 5 in length.")
    seen: set[str] = set()
    for index, row in enumerate(rows):
        inputs = _inputs(row) if isinstance(row, dict) else []
        if len(inputs) != 1:
            where = f"data.components.{index}"
            raise form_error(where, "COMPONENT_LAYOUT_WIDTH_EXCEEDED", "A modal row holds exactly one text input")
        _validate_input(f"data.components.{index}.components.0", inputs[0], seen)


def _validate_input(path: str, item: dict[str, Any], seen: set[str]) -> None:
    custom_id = item.get("custom_id")
    _length(f"{path}.custom_id", custom_id, 1, 100)
    if not custom_id or custom_id in seen:
        raise form_error(f"{path}.custom_id", "COMPONENT_CUSTOM_ID_DUPLICATED", "Component custom id is duplicated")
    seen.add(str(custom_id))
    if item.get("style") not in _TEXT_STYLES:
        raise form_error(f"{path}.style", "BASE_TYPE_CHOICES", f"Value must be one of {_TEXT_STYLES}.")
    _length(f"{path}.label", item.get("label"), 1, 45)
    _length(f"{path}.placeholder", item.get("placeholder"), 0, 100)
    _length(f"{path}.value", item.get("value"), 0, 4000)
    low, high = item.get("min_length"), item.get("max_length")
    if low is not None and not (isinstance(low, int) and 0 <= low <= 4000):
        raise form_error(f"{path}.min_length", "NUMBER_TYPE_MAX", "int value should be between 0 and 4000.")
    if high is not None and not (isinstance(high, int) and 1 <= high <= 4000):
        raise form_error(f"{path}.max_length", "NUMBER_TYPE_MAX", "int value should be between 1 and 4000.")
    if low is not None and high is not None and low > high:
        raise form_error(f"{path}.min_length", "BASE_TYPE_BAD_LENGTH", "min_length may not exceed max_length.")

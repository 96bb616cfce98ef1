"""The Discord routes of the control API's second round: roles, channels, DMs, messages, menus, modals, gateway."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from bot.sandbox.control import BadRequest, _body, _json, _need

if TYPE_CHECKING:
    from bot.sandbox.runner import Sandbox


def add_strict_discord_routes(routes: web.RouteTableDef, sandbox: Sandbox) -> None:
    """Add the Discord routes of the contract's second round: refusals, roles, channels, DMs, messages, gateway."""
    discord = sandbox.discord

    @routes.post("/discord/roles")
    async def create_role(request: web.Request) -> web.Response:
        body = await _body(request)
        (name,) = _need(body, "name")
        position = body.get("position")
        role_id = discord.create_role(
            str(name),
            int(position) if position is not None else None,
            managed=bool(body.get("managed", False)),
            mentionable=bool(body.get("mentionable", False)),
        )
        return _json({"id": str(role_id)})

    @routes.post("/discord/channels")
    async def create_channel(request: web.Request) -> web.Response:
        body = await _body(request)
        (name,) = _need(body, "name")
        return _json({"id": str(discord.create_channel(str(name), private=bool(body.get("private", False))))})

    @routes.post("/discord/members/{member}/dms")
    async def member_dms(request: web.Request) -> web.Response:
        (open_,) = _need(await _body(request), "open")
        discord.block_dms(request.match_info["member"], blocked=not bool(open_))
        return _json({})

    @routes.post("/discord/messages")
    async def member_message(request: web.Request) -> web.Response:
        channel, member, content = _need(await _body(request), "channel", "member", "content")
        return _json({"id": str(await discord.member_message(channel, member, str(content)))})

    @routes.post("/discord/modals")
    async def modal(request: web.Request) -> web.Response:
        body = await _body(request)
        member, interaction, custom_id = _need(body, "member", "interaction", "custom_id")
        values = body.get("values") or {}
        if not isinstance(values, dict):
            raise BadRequest("values must be an object of field custom_id to text")
        try:
            return _json(await discord.submit_modal(member, interaction, str(custom_id), values))
        except KeyError:
            raise
        except LookupError as exc:
            return _json({"error": f"no such modal: {exc}"}, 404)

    @routes.post("/discord/reactions")
    async def reaction(request: web.Request) -> web.Response:
        member, message, emoji = _need(await _body(request), "member", "message", "emoji")
        await discord.add_reaction(member, message, str(emoji))
        return _json({})

    @routes.post("/discord/autocomplete")
    async def autocomplete(request: web.Request) -> web.Response:
        member, name, option, value = _need(await _body(request), "member", "command", "option", "value")
        try:
            return _json(await discord.autocomplete(member, str(name), str(option), str(value)))
        except KeyError:
            raise
        except LookupError as exc:
            return _json({"error": f"no such command or option: {exc}"}, 404)

    @routes.post("/discord/gateway/close")
    async def gateway_close(request: web.Request) -> web.Response:
        (code,) = _need(await _body(request), "code")
        return _json({"closed": await discord.close_gateway(int(code))})

"""The Discord routes of the control API's second round: roles, channels, DMs, messages, menus, modals, gateway."""

from __future__ import annotations

from aiohttp import web

from bot.i18n.locales import DISCORD_LOCALES
from bot.sandbox.control_http import BadRequest, Running, json_response, need, read_body


def add_strict_discord_routes(routes: web.RouteTableDef, sandbox: Running) -> None:
    """Add the Discord routes of the contract's second round: refusals, roles, channels, DMs, messages, gateway."""
    discord = sandbox.discord

    @routes.post("/discord/roles")
    async def create_role(request: web.Request) -> web.Response:
        body = await read_body(request)
        (name,) = need(body, "name")
        position = body.get("position")
        role_id = discord.create_role(
            str(name),
            int(position) if position is not None else None,
            managed=bool(body.get("managed", False)),
            mentionable=bool(body.get("mentionable", False)),
        )
        return json_response({"id": str(role_id)})

    @routes.post("/discord/channels")
    async def create_channel(request: web.Request) -> web.Response:
        body = await read_body(request)
        (name,) = need(body, "name")
        return json_response({"id": str(discord.create_channel(str(name), private=bool(body.get("private", False))))})

    @routes.post("/discord/members/{member}/dms")
    async def member_dms(request: web.Request) -> web.Response:
        (open_,) = need(await read_body(request), "open")
        discord.block_dms(request.match_info["member"], blocked=not bool(open_))
        return json_response({})

    @routes.post("/discord/messages")
    async def member_message(request: web.Request) -> web.Response:
        channel, member, content = need(await read_body(request), "channel", "member", "content")
        return json_response({"id": str(await discord.member_message(channel, member, str(content)))})

    @routes.post("/discord/modals")
    async def modal(request: web.Request) -> web.Response:
        body = await read_body(request)
        member, interaction, custom_id = need(body, "member", "interaction", "custom_id")
        values = body.get("values") or {}
        if not isinstance(values, dict):
            raise BadRequest("values must be an object of field custom_id to text")
        locale = str(body["locale"]) if body.get("locale") else None
        try:
            return json_response(await discord.submit_modal(member, interaction, str(custom_id), values, locale=locale))
        except KeyError:
            raise
        except LookupError as exc:
            return json_response({"error": f"no such modal: {exc}"}, 404)

    @routes.post("/discord/reactions")
    async def reaction(request: web.Request) -> web.Response:
        member, message, emoji = need(await read_body(request), "member", "message", "emoji")
        await discord.add_reaction(member, message, str(emoji))
        return json_response({})

    @routes.delete("/discord/reactions")
    async def unreaction(request: web.Request) -> web.Response:
        member, message, emoji = need(await read_body(request), "member", "message", "emoji")
        await discord.add_reaction(member, message, str(emoji), add=False)
        return json_response({})

    @routes.get("/discord/reactions")
    async def reactions(request: web.Request) -> web.Response:
        message = request.query.get("message", "")
        return json_response(discord.reactions.listing(discord.reactions.message(message).id))

    @routes.patch("/discord/guild")
    async def guild(request: web.Request) -> web.Response:
        (locale,) = need(await read_body(request), "preferred_locale")
        if str(locale) not in DISCORD_LOCALES:
            raise BadRequest(f"preferred_locale: {locale!r} is not a Discord locale")
        discord.set_preferred_locale(str(locale))
        return json_response({"preferred_locale": str(locale)})

    @routes.get("/discord/commands")
    async def commands(request: web.Request) -> web.Response:
        return json_response(discord.synced_commands)

    @routes.post("/discord/autocomplete")
    async def autocomplete(request: web.Request) -> web.Response:
        body = await read_body(request)
        member, name, option, value = need(body, "member", "command", "option", "value")
        locale = str(body.get("locale") or "en-US")
        try:
            return json_response(await discord.autocomplete(member, str(name), str(option), str(value), locale=locale))
        except KeyError:
            raise
        except LookupError as exc:
            return json_response({"error": f"no such command or option: {exc}"}, 404)

    @routes.post("/discord/gateway/close")
    async def gateway_close(request: web.Request) -> web.Response:
        (code,) = need(await read_body(request), "code")
        return json_response({"closed": await discord.close_gateway(int(code))})

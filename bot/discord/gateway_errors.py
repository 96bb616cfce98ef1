"""Say in one line why the Discord gateway ended for good, and what the operator should do about it."""

from __future__ import annotations

import discord

#: Close codes after which Discord will not take the session back: the process must stop and say why.
_FATAL = {
    4004: "Discord closed the gateway with 4004 (authentication failed): the bot token was reset or revoked; "
    "copy a fresh token from the Developer Portal (Bot → Reset Token) into DISCORD_TOKEN and start again",
    4010: "Discord closed the gateway with 4010 (invalid shard): run Vestry without sharding options",
    4011: "Discord closed the gateway with 4011 (sharding required): the bot is in too many servers for one "
    "connection; Vestry serves one server, so remove the bot from the others",
    4012: "Discord closed the gateway with 4012 (invalid API version): upgrade Vestry and discord.py",
    4013: "Discord closed the gateway with 4013 (invalid intents): this build asks for intents Discord does not "
    "know; upgrade Vestry and discord.py",
    4014: "Discord closed the gateway with 4014 (disallowed intents): enable Server Members Intent for the bot in "
    "the Developer Portal (Bot → Privileged Gateway Intents), or set discord.members_intent = false",
}


def describe_gateway_end(exc: BaseException | None) -> str:
    """Return the one line an operator reads when the gateway connection ended and will not come back."""
    if isinstance(exc, discord.PrivilegedIntentsRequired):
        return _FATAL[4014]
    if isinstance(exc, discord.ConnectionClosed) and exc.code in _FATAL:
        return _FATAL[exc.code]
    if isinstance(exc, discord.LoginFailure):
        return _FATAL[4004]
    if isinstance(exc, discord.ConnectionClosed):
        return f"Discord closed the gateway with {exc.code} ({exc.reason or 'no reason given'}) and it did not resume"
    if exc is None:
        return "the Discord connection ended without being asked to stop; start Vestry again"
    return (
        f"the Discord connection stopped on an event it could not handle ({type(exc).__name__}: {exc}); "
        "start Vestry again, and report it with the log if it happens again"
    )

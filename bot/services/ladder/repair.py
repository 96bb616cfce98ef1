"""Compare a member's Discord roles with what they have earned, and repair the drift.

Under ``recompute`` the roles follow what is earned, both ways. Under ``sticky`` Vestry never takes a ladder role
away (except a lower one when ``replace`` mode promotes) and does not give back a role a human took away: a grant
whose role is missing counts as removed by hand, unless the member joined after it (they left and came back, which
wipes roles) or the grant never reached Discord (its outbox row failed, e.g. the role was above the bot's).
"""

from __future__ import annotations

import logging

import aiosqlite

from bot.services.ladder import rules, store
from bot.services.ladder.engine import Engine, MemberState, Repair, RoleProblem, Standing

log = logging.getLogger(__name__)


async def repair(
    engine: Engine, conn: aiosqlite.Connection, standing: Standing, state: MemberState, problem: RoleProblem
) -> Repair:
    """Place the member if they earned something new (silently), then make their roles match."""
    config = engine.config
    tiers = config.tiers
    advance = await engine.advance(conn, standing, live=False)
    result = Repair(placed=advance.silent)
    reached = set(engine.climb(standing).reached)
    held = set(engine.held(standing))
    if config.demotion == "recompute":
        stale = held - reached
        if stale:
            names = [tiers[i].name for i in stale]
            await store.drop_grants(conn, engine.guild_id, standing.discord_id, names)
            for name in names:
                standing.held.pop(name, None)
            log.info("ladder: member %s no longer meets %s", standing.discord_id, ", ".join(names))
        target = reached
    else:
        target = held | reached
    wear = rules.role_plan(tiers, sorted(target), config.mode)
    for i in sorted(wear):
        tier = tiers[i]
        if tier.role_id in state.roles or tier.role_id in advance.touched:
            continue
        if not await _should_restore(engine, conn, standing, tier.name, state):
            continue
        if problem(tier.role_id) is not None:
            result.waiting_on.add(tier.role_id)
            continue
        await engine.regrant(conn, standing, tier)
        result.added += 1
    await _remove_extra(engine, conn, standing, state, target, wear, advance.touched, problem, result)
    return result


async def _should_restore(
    engine: Engine, conn: aiosqlite.Connection, standing: Standing, tier: str, state: MemberState
) -> bool:
    granted = standing.held.get(tier)
    if granted is None:
        return False
    if state.joined_at is not None and state.joined_at > granted:
        return True  # they left and came back: Discord dropped their roles, nobody took them away
    fate = await store.outbox_state(conn, engine.add_key(standing.discord_id, tier, granted))
    if fate == "pending":
        return False  # on its way
    if fate in ("failed", None):
        return True  # the role never arrived, so nobody removed it
    return engine.config.demotion == "recompute"


async def _remove_extra(
    engine: Engine,
    conn: aiosqlite.Connection,
    standing: Standing,
    state: MemberState,
    target: set[int],
    wear: set[int],
    touched: set[int],
    problem: RoleProblem,
    result: Repair,
) -> None:
    tiers = engine.config.tiers
    wanted = {tiers[i].role_id for i in wear}
    top = max(target, default=None)
    now = engine.now()
    for index, tier in enumerate(tiers):
        role = tier.role_id
        if role not in state.roles or role in wanted or role in touched:
            continue
        below_top = engine.config.mode == "replace" and top is not None and index < top
        if engine.config.demotion != "recompute" and not below_top:
            continue  # sticky: never take a role away
        if problem(role) is not None:
            result.waiting_on.add(role)
            continue
        touched.add(await engine.remove_role(conn, standing.discord_id, role, now))
        result.removed += 1

"""The flask replay under Discord's rate limits: the bot paces itself and never sends into an exhausted bucket.

``real`` is Discord's own windows in wall-clock time (the replay's 150 rows take about 15 s that way); ``fast``
has the same buckets, counts, headers and 429s with windows 100 times shorter.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.test_replay import CSV, FAST_ROWS, check_replay, load_rows, pytestmark  # noqa: F401


@pytest.mark.parametrize("mode", ["real", "fast"])
async def test_the_replay_under_rate_limits_never_sends_into_an_exhausted_bucket(
    sandbox_factory: Any, mode: str
) -> None:
    async with sandbox_factory(rate_limits=mode) as sb:
        limiter = sb.sandbox.discord.rest.limiter
        assert limiter.mode == mode
        await check_replay(sb, load_rows(FAST_ROWS))
        posted = sb.sandbox.discord.request_counts()["POST /channels/{channel_id}/messages"]["requests"]
        assert posted > 5  # more than one bucket's worth in one channel: the limits were really in play
        assert limiter.exhausted_hits == 0
        assert [r for r in await sb.get("/discord/rejections") if r["status"] == 429] == []

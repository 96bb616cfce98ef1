"""The hall of fame page, API and badge over a real database: content, filters, privacy, escaping and headers."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from markupsafe import escape

from bot.services.halloffame import Filters, HallOfFame
from tests.web.conftest import GUILD, REPOS, Ledger


async def page(web: Any, path: str = "/") -> str:
    response = await web.get(path)
    assert response.status == 200, await response.text()
    return str(await response.text())


async def api(web: Any, path: str = "/api/contributors") -> Any:
    response = await web.get(path)
    assert response.status == 200, await response.text()
    return await response.json()


async def test_the_page_lists_contributors_with_their_first_pull_request_counts_and_kinds(
    web: Any, ledger: Ledger
) -> None:
    ann = await ledger.user(1, "ann")
    bob = await ledger.user(2, "bob")
    await ledger.merged(ann, "Make the rocket fly", at="2025-05-01", by=bob)
    await ledger.merged(ann, "Second change", at="2025-06-01", by=bob)
    await ledger.review(bob)
    text = await page(web)
    assert "Make the rocket fly" in text and "Second change" not in text, "only the first merged PR is named"
    assert '<time datetime="2025-05-01T10:00:00+00:00">1 May 2025</time>' in text
    body = await api(web)
    assert body["schema"] == "vestry.hall-of-fame/1" and body["total"] == 2
    people = {p["login"]: p for p in body["contributors"]}
    assert people["ann"]["counts"] == {
        "merged_pull_requests": 2,
        "reviews": 0,
        "issues_closed": 0,
        "merges_of_others": 0,
        "kudos_received": 0,
    }
    assert people["bob"]["counts"]["merges_of_others"] == 2 and people["bob"]["counts"]["reviews"] == 1
    assert [k["kind"] for k in people["ann"]["kinds"]] == ["code"] and people["ann"]["kinds"][0]["emoji"] == "💻"
    assert people["ann"]["first_pull_request"]["title"] == "Make the rocket fly"


async def test_bots_ghosts_and_ignored_accounts_never_appear(web: Any, ledger: Ledger) -> None:
    ann = await ledger.user(1, "ann")
    await ledger.merged(ann)
    for github_id, login, flags in (
        (41898282, "github-actions[bot]", {}),
        (3, "renovate", {"is_bot": True}),
        (10137, "ghost", {}),
        (4, "release-robot", {"ignored": True}),
    ):
        await ledger.merged(await ledger.user(github_id, login, **flags))
    body = await api(web)
    assert [p["login"] for p in body["contributors"]] == ["ann"] and body["total"] == 1
    text = await page(web)
    for hidden in ("github-actions", "renovate", "ghost", "release-robot"):
        assert hidden not in text
        assert (await web.get(f"/api/contributors/{hidden}")).status == 404


async def test_filters_sort_and_pages_follow_the_query(web: Any, ledger: Ledger) -> None:
    for n in range(1, 6):
        who = await ledger.user(n, f"dev{n}")
        for _ in range(n):
            await ledger.merged(who, at=f"2025-0{n}-01", repo=REPOS[n % 2])
    await ledger.link(100, 5, "dev5")
    await ledger.tier(100, "Priest")
    await ledger.recognise(100, "doc")
    by_count = await api(web, "/api/contributors?sort=count")
    assert [p["login"] for p in by_count["contributors"]] == ["dev5", "dev4", "dev3", "dev2", "dev1"]
    by_first = await api(web, "/api/contributors?sort=first&per_page=2&page=2")
    assert [p["login"] for p in by_first["contributors"]] == ["dev3", "dev4"] and by_first["pages"] == 3
    assert [p["login"] for p in (await api(web, "/api/contributors?tier=Priest"))["contributors"]] == ["dev5"]
    assert [p["login"] for p in (await api(web, "/api/contributors?kind=doc"))["contributors"]] == ["dev5"]
    docs = await api(web, f"/api/contributors?repo={REPOS[1]}")
    assert sorted(p["login"] for p in docs["contributors"]) == ["dev1", "dev3", "dev5"]
    text = await page(web, "/?sort=first&per_page=2")
    assert 'href="/?tier=&' not in text and "Page 1 of 3" in text and 'rel="next"' in text


async def test_a_bad_filter_gets_a_clear_answer_not_a_stack_trace(web: Any) -> None:
    response = await web.get("/?sort=<script>")
    text = await response.text()
    assert response.status == 400 and "sort must be one of" in text and "<script>" not in text
    response = await web.get("/api/contributors?page=-1")
    assert response.status == 400 and "page must be a whole number" in (await response.json())["error"]
    assert (await web.get("/api/contributors?repo=someone/else")).status == 400


async def test_discord_names_show_only_after_opting_in_and_forget_removes_the_discord_side(
    web: Any, ledger: Ledger, hall: HallOfFame
) -> None:
    ann = await ledger.user(1, "ann")
    await ledger.merged(ann)
    await ledger.link(100, ann, "ann")
    await ledger.kudos(100)
    await ledger.tier(100, "Follower")
    before = (await api(web, "/api/contributors/ann"))["contributor"]
    assert before["name"] is None and before["discord_avatar_url"] is None, "off by default"
    assert before["tier"] == "Follower" and before["counts"]["kudos_received"] == 1
    await hall.set_public(100, True, "Ann the Great", "https://cdn.discordapp.com/avatars/100/a.png")
    after = (await api(web, "/api/contributors/ann"))["contributor"]
    assert after["name"] == "Ann the Great"
    assert "Ann the Great" in await page(web) and "https://cdn.discordapp.com/avatars/100/a.png" in await page(web)
    await hall.forget(100)
    gone = (await api(web, "/api/contributors/ann"))["contributor"]
    assert gone["name"] is None and gone["tier"] is None and gone["counts"]["kudos_received"] == 0
    assert gone["counts"]["merged_pull_requests"] == 1, "public GitHub facts stay"
    assert "Ann the Great" not in await page(web)


async def test_unlinking_hides_the_discord_side_at_once_even_before_a_rebuild(
    db: Any, web: Any, ledger: Ledger, hall: HallOfFame
) -> None:
    ann = await ledger.user(1, "ann")
    await ledger.merged(ann)
    await ledger.link(100, ann, "ann")
    await ledger.tier(100, "Priest")
    await hall.set_public(100, True, "Ann the Great", None)
    assert (await api(web, "/api/contributors/ann"))["contributor"]["name"] == "Ann the Great"
    hall._every = 3600.0  # the next rebuild is an hour away: the page must not wait for it
    await db.execute("DELETE FROM links WHERE discord_id = 100")
    shown = (await api(web, "/api/contributors/ann"))["contributor"]
    assert shown["name"] is None and shown["tier"] is None
    await hall.close()


async def test_hostile_titles_logins_and_long_reasons_render_escaped(web: Any, ledger: Ledger, db: Any) -> None:
    evil = await ledger.user(1, '<img src=x onerror="alert(1)">')
    await ledger.merged(evil, "<script>alert('title')</script> & friends")
    ann = await ledger.user(2, "ann")
    await ledger.merged(ann)
    await ledger.link(100, ann, "ann")
    reason = "<b>" + "x" * 10_000 + "</b>"
    await ledger.kudos(100, reason)
    text = await page(web)
    assert "<script>alert" not in text and "&lt;script&gt;alert(&#39;title&#39;)&lt;/script&gt; &amp; friends" in text
    assert "<img src=x" not in text and str(escape('<img src=x onerror="alert(1)">')) in text
    assert "x" * 200 not in text, "kudos reasons are private and never shown"
    long_title = "<i>" + "y" * 10_000
    await ledger.merged(await ledger.user(3, "longwinded"), long_title)
    text = await page(web)
    assert "y" * 200 not in text and "&lt;i&gt;" + "y" * 100 in text, "a 10,000-character title is cut, escaped"
    await db.execute("UPDATE pull_requests SET url = 'javascript:alert(1)' WHERE author_id = ?", (evil,))
    assert "javascript:" not in await page(web)
    assert re.search(r"<script[^>]*>", text.replace('<script src="/static/hof.js" defer></script>', "")) is None
    api_text = await (await web.get("/api/contributors")).text()
    assert json.loads(api_text)["total"] == 3


async def test_every_page_carries_a_strict_content_security_policy_and_an_etag(web: Any, ledger: Ledger) -> None:
    await ledger.merged(await ledger.user(1, "ann"))
    for path in ("/", "/people/ann", "/api/contributors", "/badge/contributors.svg", "/static/hof.css"):
        response = await web.get(path)
        assert response.status == 200, path
        policy = response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in policy and "script-src 'self'" in policy, policy
        assert "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        tag = response.headers["ETag"]
        again = await web.get(path, headers={"If-None-Match": tag})
        assert again.status == 304, path
    assert (await web.get("/")).headers["Cache-Control"] == "public, no-cache", "revalidated: /forget shows at once"
    assert "max-age" in (await web.get("/static/hof.css")).headers["Cache-Control"]


async def test_the_badge_counts_listed_contributors_and_the_wall_draws_them(web: Any, ledger: Ledger) -> None:
    for n in range(1, 4):
        await ledger.merged(await ledger.user(n, f"dev{n}"))
    await ledger.merged(await ledger.user(99, "dependabot[bot]"))
    badge = await page(web, "/badge/contributors.svg")
    assert "contributors: 3" in badge and badge.startswith("<svg")
    wall = await page(web, "/badge/contributors.svg?style=wall")
    assert wall.count("<circle") == 3 and "dependabot" not in wall


async def test_a_person_page_shows_each_repository(web: Any, ledger: Ledger) -> None:
    ann = await ledger.user(1, "ann")
    await ledger.merged(ann, repo=REPOS[0])
    await ledger.merged(ann, repo=REPOS[1])
    await ledger.merged(ann, repo=REPOS[1])
    text = await page(web, "/people/ann")
    assert "<h1>ann</h1>" in text and REPOS[1] in text
    body = await api(web, "/api/contributors/ANN")
    assert body["repositories"][REPOS[1]]["counts"]["merged_pull_requests"] == 2
    assert body["contributor"]["counts"]["merged_pull_requests"] == 3
    assert (await web.get("/people/nobody")).status == 404
    assert (await web.get("/people/%3Cscript%3E")).status == 404


async def test_health_and_metrics_are_served_by_the_web_server(web: Any) -> None:
    response = await web.get("/healthz")
    assert response.status == 200 and (await response.json())["database"] is True
    assert (await web.get("/metrics")).status == 200


async def test_the_newest_first_timers_strip_lists_the_latest_first_merges(web: Any, ledger: Ledger) -> None:
    for n in range(1, 4):
        await ledger.merged(await ledger.user(n, f"dev{n}"), at=f"2025-0{n}-01")
    text = await page(web)
    strip = text.split('id="newcomers-title"')[1].split("</section>")[0]
    assert strip.index("dev3") < strip.index("dev2") < strip.index("dev1")
    assert GUILD == 1


async def test_after_the_first_build_changes_are_rebuilt_in_the_background_at_most_once_per_interval(
    db: Any, ledger: Ledger, clock: Any
) -> None:
    from datetime import timedelta

    hall = HallOfFame(db, clock, guild_id=GUILD, repositories=REPOS, tiers=[], refresh_every=timedelta(seconds=0.3))
    await ledger.merged(await ledger.user(1, "ann"))
    first = await hall.page(Filters())
    assert [p.login for p in first.contributors] == ["ann"] and hall.generation == 1
    await ledger.merged(await ledger.user(2, "bob"))
    stale = await hall.page(Filters())
    assert [p.login for p in stale.contributors] == ["ann"], "the page does not wait for the rebuild"
    for _ in range(100):
        if hall.generation == 2:
            break
        await asyncio.sleep(0.02)
    assert sorted(p.login for p in (await hall.page(Filters())).contributors) == ["ann", "bob"]
    assert hall.generation == 2, "one rebuild for the change, none for reading"
    await hall.close()

"""The hall of fame in a real browser: headless Chromium loads the page from the sandbox, checks it against the
ledger, filters with the keyboard, finds no console errors and no accessibility violations (axe-core), and saves
the screenshots docs/hall-of-fame.md shows."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_kudos import wait_until_live
from tests.e2e.test_ladder import linked_member, merged
from tests.web.npm import installed

DOCS = Path(__file__).resolve().parents[2] / "docs" / "images"
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def browser_path() -> str:
    """Find the system's Chromium, or skip saying how to get one."""
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    pytest.skip("no Chromium on this machine: `apt-get install chromium` (.ci/run does it as root)")


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    """Headless system Chromium driven by Playwright (no browser download)."""
    path = browser_path()
    playwright_api = pytest.importorskip("playwright.async_api", reason="playwright is a dev dependency")
    async with playwright_api.async_playwright() as driver:
        chromium = await driver.chromium.launch(executable_path=path, args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def community(sandbox: Any) -> Any:
    """A small community: a linked, recognised, public member; a first-timer with a hostile title; a bot."""
    await wait_until_live(sandbox)
    await linked_member(sandbox, "alice")
    await merged(sandbox, "alice")
    await merged(sandbox, "alice")
    await sandbox.command("alice", "profile", public=True)
    await sandbox.command("owner", "recognize", member="alice", kind="doc", link="https://docs.example/guide")
    await sandbox.user("carol")
    await merged(sandbox, "carol")
    await sandbox.user("dependabot[bot]", type="Bot")
    await merged(sandbox, "dependabot[bot]")
    await sandbox.user("dev-newbie")
    await sandbox.merge(await sandbox.pull("dev-newbie", "<script>alert('x')</script> Tidy the README"))
    await sandbox.settle()
    return sandbox


async def open_page(browser: Any, url: str, **context: Any) -> tuple[Any, Any, list[str]]:
    """Open a page and collect every console error and uncaught exception."""
    ctx = await browser.new_context(**context)
    page = await ctx.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    response = await page.goto(url)
    assert response is not None and response.status == 200
    return ctx, page, errors


async def ledger_counts(sb: Any) -> dict[str, int]:
    """Merged pull requests per listed author, straight from the ledger."""
    rows = await sb.sandbox.services.db.fetchall(
        "SELECT u.login, COUNT(*) AS n FROM pull_requests p JOIN github_users u ON u.id = p.author_id "
        "WHERE p.state = 'merged' AND u.is_bot = 0 AND u.login NOT LIKE '%[bot]' GROUP BY u.login"
    )
    return {row["login"]: row["n"] for row in rows}


async def test_the_page_matches_the_ledger_with_no_console_errors_and_filters_by_keyboard(
    community: Any, browser: Any
) -> None:
    web = community.sandbox.ready_info["web"]
    ctx, page, errors = await open_page(browser, web + "/", viewport={"width": 1280, "height": 900})
    shown: dict[str, int] = {}
    for card in await page.locator("ol.people article.card").all():
        login = await card.get_attribute("data-login")
        shown[str(login)] = int(await card.locator(".counts div:first-child dd").inner_text())
    expected = await ledger_counts(community)
    assert {login: n for login, n in shown.items() if n} == expected
    assert "dependabot[bot]" not in shown and "maintainer" in shown
    assert await page.locator("text=<script>alert('x')</script> Tidy the README").count() == 1, "shown as text"
    assert await page.locator("h3 >> text=alice").count() == 1, "alice opted in: her Discord name shows"
    assert await page.locator(".newcomers li").count() == 3
    for _ in range(40):  # the keyboard alone: Tab to the tier filter, pick a tier, Tab to Apply, Enter
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement.name") == "tier":
            break
    else:
        pytest.fail("Tab never reached the tier filter")
    await page.keyboard.press("ArrowDown")
    await page.keyboard.press("ArrowDown")
    assert await page.evaluate("document.activeElement.value") == "Priest in training"
    while await page.evaluate("document.activeElement.tagName") != "BUTTON":
        await page.keyboard.press("Tab")
    async with page.expect_navigation():
        await page.keyboard.press("Enter")
    assert "tier=Priest+in+training" in page.url
    assert [await c.get_attribute("data-login") for c in await page.locator("article.card").all()] == ["alice"]
    await page.locator(".filters input[type=search]").fill("nobody-matches")  # the enhancement narrows the cards
    assert await page.locator("ol.people > li:visible").count() == 0
    assert errors == [], errors
    await ctx.close()


async def test_axe_finds_no_accessibility_violations_and_screenshots_are_saved(community: Any, browser: Any) -> None:
    axe = (installed("axe-core", "4.10.3") / "axe.min.js").read_text(encoding="utf-8")
    web = community.sandbox.ready_info["web"]
    DOCS.mkdir(parents=True, exist_ok=True)
    shots = {
        "desktop": {"viewport": {"width": 1280, "height": 900}, "color_scheme": "light"},
        "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
        "dark": {"viewport": {"width": 1280, "height": 900}, "color_scheme": "dark"},
    }
    for name, options in shots.items():
        for path in ("/", "/people/alice"):
            ctx, page, errors = await open_page(browser, web + path, **options)
            await page.evaluate(axe)  # evaluated by the driver, so the page's CSP does not apply to it
            violations = await page.evaluate(
                "axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21aa', 'best-practice']})"
                ".then(r => r.violations.map(v => v.id + ' (' + v.impact + '): ' + v.nodes.map(n => n.target).join()))"
            )
            assert violations == [], (name, path, violations)
            if path == "/":
                width = await page.evaluate("document.documentElement.scrollWidth")
                assert width <= options["viewport"]["width"], f"{name}: the page scrolls sideways ({width}px)"
                await page.screenshot(path=str(DOCS / f"hall-of-fame-{name}.png"), full_page=True)
            assert errors == [], (name, path, errors)
            await ctx.close()
    for name in shots:
        assert (DOCS / f"hall-of-fame-{name}.png").stat().st_size > 10_000

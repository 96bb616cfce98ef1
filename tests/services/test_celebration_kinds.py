"""The celebration kinds table: every kind is complete, and adding one is one entry plus its test."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot import domain
from bot.clock import ManualClock
from bot.db import Database
from bot.i18n import lang
from bot.ledger import Actor, ReviewFact
from bot.services.recognition import kinds
from bot.services.recognition.kinds import EARLIER, KINDS, First, Kind, Milestones
from bot.services.recognition.models import Celebration
from bot.services.recognition.render import combined_post, single_post
from tests.services.test_recognition import REPO, make_settings, started

LANGUAGES = ("en", "de", "pt-BR")


@pytest.mark.parametrize("name", list(KINDS))
def test_every_kind_has_a_trigger_a_rule_and_words_in_every_language(name: str) -> None:
    kind = KINDS[name]
    assert kind.name == name
    assert kind.trigger in domain.EVENT_TYPES.values()
    assert isinstance(kind.rule, First | Milestones)
    if isinstance(kind.rule, First):
        assert kind.rule.query in EARLIER
        assert not kind.rule.per_repository or f"{kind.rule.query}:repository" in EARLIER
    words = (kind.headline, kind.footer, kind.label, kind.detail, kind.titled)
    assert all(words) and kind.headline.startswith(kind.emoji)
    assert kind.emoji or kind.template is not None
    for locale in ("de", "pt-BR"):
        untranslated = [msgid for msgid in words if lang(locale).gettext(msgid) == msgid]
        assert not untranslated, f"{name} has words the {locale} catalogue lacks: {untranslated}"


@pytest.mark.parametrize("locale", LANGUAGES)
@pytest.mark.parametrize("name", list(KINDS))
def test_every_kind_renders_alone_and_in_a_combined_post(name: str, locale: str) -> None:
    settings = make_settings()
    item = Celebration(name, f"{name}:7", 7, "dev7", 1, title="Fix", url=f"https://github.com/{REPO}/pull/1",
                       repo=REPO, number=1, merged_by="maintainer", other="someone", count=10)  # fmt: skip
    speaker = lang(locale)
    alone = single_post(item, settings.kudos, speaker, settings)
    assert "dev7" in alone.content and "{" not in alone.content
    embed = alone.embeds[0]
    assert embed["color"] == KINDS[name].colour
    assert embed["footer"]["text"] == speaker.gettext(KINDS[name].footer, count=speaker.number(10))  # type: ignore[index]
    combined = combined_post([item, item], speaker)
    fields = combined.embeds[0]["fields"]
    assert all("{" not in f"{field['name']} {field['value']}" for field in fields)  # type: ignore[attr-defined]


FIRST_APPROVAL = Kind(
    name="first-approval",  # type: ignore[arg-type]
    trigger=domain.ReviewSubmitted,
    celebrated=lambda p: p.reviewer_id if p.state.upper() == "APPROVED" else None,
    facts=lambda event, p: {"seq": event.seq, "repo": p.repo, "number": p.number, "at": p.submitted_at or ""},
    rule=First("first-approval", lambda github_id, p, facts: (github_id, p.submitted_at or "", p.id)),
    headline="✔️ {author} approved a pull request in {repo} for the first time!",
    footer="First approval",
    label="first approval",
    detail="approved {link} in {repo}",
    titled="An approval in {repo}",
    emoji="✔️",
    pull_details=True,
)
EARLIER_APPROVAL = (
    "SELECT 1 FROM reviews WHERE reviewer_id = ? AND state = 'APPROVED' AND (submitted_at, id) < (?, ?) LIMIT 1"
)


async def test_a_new_kind_is_one_table_entry_and_its_query(
    db: Database, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The recipe in CONTRIBUTING.md ("A celebration kind"): the entry and its query, nothing else."""
    monkeypatch.setitem(kinds.KINDS, FIRST_APPROVAL.name, FIRST_APPROVAL)
    monkeypatch.setitem(kinds.EARLIER, "first-approval", EARLIER_APPROVAL)
    world = await started(db, clock, make_settings())
    try:
        reviewer = Actor(43, "reviewer")
        await world.link(743, reviewer)
        number = await world.merge(Actor(42, "author"), title="Add the thing")
        now = clock.now()
        comment = ReviewFact(900, REPO, number, reviewer, "COMMENTED", now)
        approvals = [
            ReviewFact(901 + i, REPO, number, reviewer, "APPROVED", now + timedelta(seconds=1 + i)) for i in range(2)
        ]
        await world.ledger.apply([comment, *approvals], "webhook")
        await world.bus.drain()
        keys = [row["key"].split(":")[0] for row in await world.outbox("message")]
        assert keys == ["first-pr", "first-review", "first-approval"]
        approval = (await world.posts())[2]
        assert approval.content == f"✔️ <@743> approved a pull request in {REPO} for the first time!"
        assert approval.embeds[0]["footer"] == {"text": "First approval"}
        assert approval.embeds[0]["title"] == "Add the thing"
        assert await world.celebrations("first-approval") == ["first-approval:43"]
    finally:
        await world.bus.stop()
        await world.recognition.stop()

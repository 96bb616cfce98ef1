"""Out-of-order and repeated deliveries: whatever order a pull request's snapshots arrive in, the ledger ends in
the state in-order delivery gives (open/closed/merged, draft, labels, requested reviewers). Property-based, on
real SQLite files, 200 random event sequences."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.clock import ManualClock
from bot.db import Database
from bot.ledger import Actor, Fact, Ledger, PullFact, ReviewRequestFact

REPO = "acme/widgets"
START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
AUTHOR = Actor(2001, "author")
REVIEWERS = [Actor(3001, "rita"), Actor(3002, "ravi")]
LABELS = ["bug", "docs", "ready"]
STEPS = st.lists(
    st.sampled_from(["draft", "ready", "label", "unlabel", "request", "unrequest", "close", "reopen"])
    | st.sampled_from(["request", "label"]),
    min_size=1,
    max_size=12,
)


@dataclass
class PullModel:
    """A pull request as GitHub holds it while the generated steps happen."""

    state: str = "open"
    draft: bool = False
    labels: list[str] = field(default_factory=list)
    merged_at: datetime | None = None

    def snapshot(self, at: datetime) -> PullFact:
        return PullFact(
            repo=REPO,
            number=7,
            title="A change",
            url="https://github.com/acme/widgets/pull/7",
            author=AUTHOR,
            state=self.state,  # type: ignore[arg-type]
            draft=self.draft,
            labels=tuple(self.labels),
            created_at=START,
            updated_at=at,
            merged_at=self.merged_at,
            merged_by=AUTHOR if self.merged_at else None,
            closed_at=at if self.state != "open" else None,
        )


def deliveries(steps: list[str], picks: list[int], merge: bool) -> list[list[Fact]]:
    """Turn steps into webhook deliveries (each a PR snapshot, maybe with a review request), one second apart."""
    pull, out = PullModel(), [[PullModel().snapshot(START)]]
    for index, step in enumerate(steps):
        at = START + timedelta(seconds=index + 1)
        who = REVIEWERS[picks[index % len(picks)] % len(REVIEWERS)]
        label = LABELS[picks[index % len(picks)] % len(LABELS)]
        extra: list[Fact] = []
        if step in ("draft", "ready") and pull.state == "open":
            pull.draft = step == "draft"
        elif step == "label" and label not in pull.labels:
            pull.labels.append(label)
        elif step == "unlabel" and label in pull.labels:
            pull.labels.remove(label)
        elif step in ("request", "unrequest"):
            removed = step == "unrequest"
            extra.append(ReviewRequestFact(REPO, 7, "user", str(who.id), at, removed, who))
        elif step in ("close", "reopen"):
            pull.state = "closed" if step == "close" else "open"
        out.append([pull.snapshot(at), *extra])
    if merge:
        pull.state, pull.merged_at = "merged", START + timedelta(seconds=len(steps) + 1)
        out.append([pull.snapshot(pull.merged_at)])
    return out


TEMPLATE: dict[str, Path] = {}


async def migrated(folder: Path) -> Database:
    """Open a fresh, fully migrated database in ``folder`` (copied from one migrated once)."""
    if "path" not in TEMPLATE:
        template = Path(tempfile.mkdtemp(prefix="vestry-template-")) / "template.sqlite3"
        db = Database(template)
        await db.open()
        await db.migrate()
        await db.close()
        TEMPLATE["path"] = template
    target = folder / "vestry.sqlite3"
    shutil.copyfile(TEMPLATE["path"], target)
    db = Database(target)
    await db.open()
    await db.migrate()
    return db


async def final_state(batches: list[list[Fact]]) -> tuple[Any, ...]:
    """Apply the deliveries in the given order to a fresh database; return what the ledger holds."""
    with tempfile.TemporaryDirectory() as folder:
        db = await migrated(Path(folder))
        try:
            ledger = Ledger(db, ManualClock(START + timedelta(days=1)))
            for batch in batches:
                await ledger.apply(batch, "webhook")
            pull = await db.fetchone("SELECT state, draft, labels, merged_at FROM pull_requests")
            waiting = await db.fetchall(
                "SELECT reviewer FROM review_requests WHERE removed_at IS NULL ORDER BY reviewer"
            )
            return tuple(pull or ()), tuple(row[0] for row in waiting)
        finally:
            await db.close()


@settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    steps=STEPS,
    picks=st.lists(st.integers(0, 5), min_size=1, max_size=6),
    merge=st.booleans(),
    order=st.randoms(use_true_random=False),
    repeat=st.booleans(),
)
async def test_any_delivery_order_ends_in_the_in_order_state(
    steps: list[str], picks: list[int], merge: bool, order: Any, repeat: bool
) -> None:
    in_order = deliveries(steps, picks, merge)
    shuffled = list(in_order)
    order.shuffle(shuffled)
    if repeat:  # GitHub's "Redeliver": the same snapshot again, late
        shuffled.append([replace(fact) for fact in shuffled[0]])
    assert await final_state(shuffled) == await final_state(in_order)
    assert await final_state(in_order[::-1]) == await final_state(in_order)

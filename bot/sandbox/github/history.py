"""Bulk-load a repository's past merged pull requests (no webhooks), fast enough for 20,000 rows."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.sandbox.github.base import REVIEW_STATES, as_utc
from bot.sandbox.github.state import Event, Item, Repo, Review, World, sha


def load_rows(world: World, target: Repo, rows: list[dict[str, Any]], now: datetime) -> int:
    """Add merged pull requests to ``target`` (all or nothing) and return how many."""
    ensure, next_id = world.ensure_user, world.next_id
    repo = target.full_name
    items: dict[int, Item] = {}
    next_number = target.next_number
    for row in rows:
        number = int(row.get("number") or next_number)
        if number in target.items or number in items:
            raise ValueError(f"{repo}#{number} already exists")
        merged_at = as_utc(row["merged_at"])
        if merged_at is None:
            raise ValueError(f"{repo}#{number} has no merged_at")
        author = ensure(row["author"], "User", now).login
        merger = ensure(row["merged_by"], "User", now).login if row.get("merged_by") else None
        item = Item(
            number=number,
            id=next_id("issue"),
            is_pull=True,
            author=author,
            title=row.get("title") or f"Pull request #{number}",
            created_at=as_utc(row.get("created_at")) or merged_at - timedelta(hours=1),
            updated_at=merged_at,
            state="closed",
            closed_at=merged_at,
            pr_id=int(row.get("id") or next_id("pull")),
            merged_at=merged_at,
            merged_by=merger,
            labels=list(row.get("labels") or ()),
        )
        for review in row.get("reviews") or ():
            state = REVIEW_STATES[str(review.get("state", "APPROVED")).upper()]
            reviewer = ensure(review["by"], "User", now).login
            submitted = as_utc(review.get("submitted_at")) or merged_at
            review_id = int(review.get("id") or next_id("review"))
            item.reviews.append(Review(id=review_id, user=reviewer, state=state, submitted_at=submitted))
        item.events.append(
            Event(next_id("event"), "merged", merger, merged_at, commit_id=sha("merge", target.id, number))
        )
        item.events.append(Event(next_id("event"), "closed", merger, merged_at))
        items[number] = item
        next_number = max(next_number, number + 1)
    for number, item in sorted(items.items()):
        target.items[number] = item
        target.merged_authors[item.author] += 1
        for name in item.labels:
            world.label_id(target, name)
    target.next_number = next_number
    target.touch()
    return len(items)

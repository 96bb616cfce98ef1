"""Deleted accounts (GitHub's ``ghost``) and organisations are never celebrated, ranked or counted as people."""

from __future__ import annotations

from typing import Any

from tests.e2e.test_kudos import first_pr_posts, wait_until_live


async def test_a_merge_by_a_deleted_account_is_not_celebrated(sandbox: Any) -> None:
    await wait_until_live(sandbox)
    await sandbox.user("gone")
    number = await sandbox.pull("gone", "A change whose author later left GitHub", deliver=False)
    await sandbox.delete("/github/users/gone")
    await sandbox.merge(number)
    await sandbox.settle()
    assert first_pr_posts(await sandbox.messages("kudos")) == []
    db = sandbox.sandbox.services.db
    assert await db.fetchval("SELECT COUNT(*) FROM pull_requests WHERE author_id = 10137 AND state = 'merged'") == 1
    assert await db.fetchval("SELECT COUNT(*) FROM counted_accounts WHERE id = 10137") == 0


async def test_a_merge_by_an_organisation_is_not_celebrated_but_a_persons_is(sandbox: Any) -> None:
    await wait_until_live(sandbox)
    await sandbox.user("acme-corp", type="Organization")
    await sandbox.merge(await sandbox.pull("acme-corp", "Release automation"))
    await sandbox.user("dev42")
    await sandbox.merge(await sandbox.pull("dev42", "Fix a typo"))
    await sandbox.settle()
    posts = first_pr_posts(await sandbox.messages("kudos"))
    text = " ".join(str(post) for post in posts)
    assert "dev42" in text and "acme-corp" not in text
    db = sandbox.sandbox.services.db
    org_id = await db.fetchval("SELECT id FROM github_users WHERE login = 'acme-corp'")
    assert (
        org_id is not None and await db.fetchval("SELECT COUNT(*) FROM counted_accounts WHERE id = ?", (org_id,)) == 0
    )

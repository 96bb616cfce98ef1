"""Posts read like a person wrote them: the welcome of a merge comes before the promotion it causes, and the
first-PR post names the pull request once."""

from __future__ import annotations

from typing import Any

from tests.e2e.test_digest import link
from tests.e2e.test_kudos import wait_until_live


async def test_the_welcome_of_a_first_merge_comes_before_the_promotion_it_causes(sandbox: Any) -> None:
    sb = sandbox
    await wait_until_live(sb)
    await sb.user("alice-gh")
    alice = await link(sb, "alice", "alice-gh")
    await sb.settle()
    await sb.merge(await sb.pull("alice-gh", "Fix the install docs"))
    await sb.settle()
    posts = [m["content"] for m in await sb.messages("kudos")]
    assert posts[0] == f"<@{alice}> is now a Follower!"  # linking made her a Follower, before the merge
    welcome = next(i for i, text in enumerate(posts) if text.startswith(f"Welcome aboard, <@{alice}>!"))
    promotion = posts.index(f"<@{alice}> is now a Priest in training!")
    assert welcome < promotion


async def test_the_first_pr_post_names_the_pull_request_once(sandbox: Any) -> None:
    sb = sandbox
    await wait_until_live(sb)
    await sb.user("newbie")
    await sb.merge(await sb.pull("newbie", "Fix the install docs"))
    await sb.settle()
    (post,) = await sb.messages("kudos")
    embed = post["embeds"][0]
    assert embed["title"] == "Fix the install docs"
    assert "Fix the install docs" not in embed["description"] and "Fix the install docs" not in post["content"]
    assert embed["description"] == "In sandbox/project, merged by maintainer"

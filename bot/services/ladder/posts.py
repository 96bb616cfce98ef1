"""What the ladder posts: promotions, the direct message, approval requests and the placement summary."""

from __future__ import annotations

from bot.config.models import Tier
from bot.messages import Button, OutMessage, escape_markdown, mention
from bot.services.ladder.rules import describe_criteria, render_promotion

APPROVE = "approve"
DECLINE = "decline"
PREFIX = "ladder"


def promotion_post(template: str, discord_id: int, tier: Tier, next_tier: Tier | None) -> OutMessage:
    """Announce a promotion in the kudos channel, mentioning only the member."""
    text = render_promotion(template, mention(discord_id), tier.name, next_tier.name if next_tier else None)
    return OutMessage(content=text, mention_users=(discord_id,))


def promotion_dm(tier: Tier, next_tier: Tier | None) -> OutMessage:
    """Tell the member about their promotion privately."""
    text = f"Congratulations, you are now a **{tier.name}**!"
    if next_tier is not None:
        text += f" Next up: **{next_tier.name}** ({describe_criteria(next_tier.criteria)}). See /rank."
    return OutMessage(content=text)


def approval_post(request_id: int, discord_id: int, login: str, tier: Tier) -> OutMessage:
    """Ask the maintainers to approve a promotion, with Approve and Decline buttons."""
    text = (
        f"{mention(discord_id)} (GitHub **{escape_markdown(login)}**) qualifies for **{tier.name}** "
        f"({describe_criteria(tier.criteria)}). Approve the promotion?"
    )
    buttons = (
        Button("Approve", custom_id=f"{PREFIX}:{APPROVE}:{request_id}", style="success"),
        Button("Decline", custom_id=f"{PREFIX}:{DECLINE}:{request_id}", style="danger"),
    )
    return OutMessage(content=text, buttons=buttons)


def decision_text(discord_id: int, tier: str, approved: bool, by: int) -> str:
    """Say what a maintainer decided, replacing the approval request's text."""
    if approved:
        return f"✅ {mention(by)} approved: {mention(discord_id)} is now a **{tier}**."
    return f"❌ {mention(by)} declined the promotion of {mention(discord_id)} to **{tier}**."


def summary_post(count: int) -> OutMessage:
    """Say how many members history placed on the ladder (instead of one post each)."""
    noun = "member" if count == 1 else "members"
    return OutMessage(content=f"{count} {noun} placed on the ladder from the project's history. Try /rank!")

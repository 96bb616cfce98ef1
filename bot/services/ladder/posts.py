"""What the ladder posts: promotions, the direct message, approval requests and the placement summary."""

from __future__ import annotations

from bot.buttons import PromotionClick
from bot.config.models import Tier
from bot.i18n import ENGLISH, Lang
from bot.messages import Button, OutMessage, escape_markdown, mention
from bot.services.ladder.rules import describe_criteria, render_promotion


def promotion_post(template: str, discord_id: int, tier: Tier, next_tier: Tier | None) -> OutMessage:
    """Announce a promotion in the kudos channel, mentioning only the member."""
    text = render_promotion(template, mention(discord_id), tier.name, next_tier.name if next_tier else None)
    return OutMessage(content=text, mention_users=(discord_id,))


def promotion_dm(tier: Tier, next_tier: Tier | None, speaker: Lang = ENGLISH) -> OutMessage:
    """Tell the member about their promotion privately."""
    if next_tier is None:
        text = speaker.gettext("Congratulations, you are now a **{tier}**!", tier=tier.name)
    else:
        text = speaker.gettext(
            "Congratulations, you are now a **{tier}**! Next up: **{next_tier}** ({criteria}). See /rank.",
            tier=tier.name,
            next_tier=next_tier.name,
            criteria=describe_criteria(next_tier.criteria, speaker),
        )
    return OutMessage(content=text)


def approval_post(request_id: int, discord_id: int, login: str, tier: Tier, speaker: Lang = ENGLISH) -> OutMessage:
    """Ask the maintainers to approve a promotion, with Approve and Decline buttons."""
    text = speaker.gettext(
        "{member} (GitHub **{login}**) qualifies for **{tier}** ({criteria}). Approve the promotion?",
        member=mention(discord_id),
        login=escape_markdown(login),
        tier=tier.name,
        criteria=describe_criteria(tier.criteria, speaker),
    )
    approve, decline = PromotionClick("approve", request_id), PromotionClick("decline", request_id)
    buttons = (
        Button(speaker.gettext("Approve"), custom_id=approve.custom_id(), style="success"),
        Button(speaker.gettext("Decline"), custom_id=decline.custom_id(), style="danger"),
    )
    return OutMessage(content=text, buttons=buttons)


def decision_text(discord_id: int, tier: str, approved: bool, by: int, speaker: Lang = ENGLISH) -> str:
    """Say what a maintainer decided, replacing the approval request's text."""
    if approved:
        return speaker.gettext(
            "✅ {by} approved: {member} is now a **{tier}**.", by=mention(by), member=mention(discord_id), tier=tier
        )
    return speaker.gettext(
        "❌ {by} declined the promotion of {member} to **{tier}**.",
        by=mention(by),
        member=mention(discord_id),
        tier=tier,
    )


def summary_post(count: int, speaker: Lang = ENGLISH) -> OutMessage:
    """Say how many members history placed on the ladder (instead of one post each)."""
    return OutMessage(
        content=speaker.ngettext(
            "{count} member placed on the ladder from the project's history. Try /rank!",
            "{count} members placed on the ladder from the project's history. Try /rank!",
            count,
        )
    )

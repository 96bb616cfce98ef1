"""Settings for languages and thanks in chat: the channel posts' locale, reaction kudos, per-locale templates."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from bot.config.types import Duration, template_checker
from bot.i18n import N_, check_locale

FIRST_PR_PLACEHOLDERS = frozenset({"author", "pr_title", "pr_url", "pr_number", "repo", "merged_by"})
MILESTONE_PLACEHOLDERS = frozenset({"author", "count", "pr_title", "pr_url", "repo"})
PROMOTION_PLACEHOLDERS = frozenset({"member", "tier", "next_tier"})

#: The built-in templates (the defaults of ``kudos.first_pr_message`` …), translated in the catalogues.
DEFAULT_TEMPLATES = {
    "first_pr": N_("Welcome aboard, {author}! Your first pull request to {repo} was merged. Thank you!"),
    "milestone": N_("{author} just had their {count}th pull request merged. What a run!"),
    "promotion": N_("{member} is now a {tier}!"),
}
_EMOJI_MAX = 64


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class DiscordLocaleSettings(_Section):
    """The language of Vestry's channel posts."""

    locale: Annotated[str, AfterValidator(check_locale)] | None = Field(
        None,
        description='Language of channel posts, as a Discord locale ("de", "pt-BR"); the server\'s preferred '
        "locale when left out. Replies to a member always use the member's own language.",
    )


class ReactionKudosSettings(_Section):
    """Kudos given by reacting to a message."""

    reaction_emoji: str | None = Field(
        None,
        description='Reacting with this emoji to a member\'s message gives them kudos, e.g. "🙏" or a custom emoji '
        'as "name:id"; off when left out.',
    )
    reaction_grace: Duration = Field(
        timedelta(minutes=10), description="Removing the reaction within this time withdraws the kudos."
    )

    @field_validator("reaction_emoji")
    @classmethod
    def _one_emoji(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        if not value or len(value) > _EMOJI_MAX or any(char.isspace() for char in value):
            raise ValueError(f'write one emoji ("🙏") or a custom one as "name:id" (at most {_EMOJI_MAX} characters)')
        if ":" in value:
            name, _, emoji_id = value.partition(":")
            if not name or not emoji_id.isdigit():
                raise ValueError(f'a custom emoji is written "name:id" with a numeric id, not {value!r}')
        return value


class LocaleTemplates(_Section):
    """Templates for one language; each one left out falls back to the main template or its translation."""

    first_pr: Annotated[str, template_checker(FIRST_PR_PLACEHOLDERS)] | None = Field(
        None, description="Text of the first-PR post in this language (placeholders as kudos.first_pr_message)."
    )
    milestone: Annotated[str, template_checker(MILESTONE_PLACEHOLDERS)] | None = Field(
        None, description="Text of a milestone post in this language (placeholders as kudos.milestone_message)."
    )
    promotion: Annotated[str, template_checker(PROMOTION_PLACEHOLDERS)] | None = Field(
        None, description="Text of a promotion post in this language (placeholders as ladder.promotion_message)."
    )


class TemplatesSettings(_Section):
    """Per-language templates, as ``[templates.de]`` tables keyed by Discord locale."""

    templates: dict[str, LocaleTemplates] = Field(
        default_factory=dict,
        description='Per-language post templates, e.g. [templates.de] first_pr = "Willkommen, {author}!".',
    )

    @field_validator("templates")
    @classmethod
    def _known_locales(cls, value: dict[str, LocaleTemplates]) -> dict[str, LocaleTemplates]:
        for key in value:
            try:
                check_locale(key)
            except ValueError as exc:
                raise ValueError(f"templates.{key}: {exc}") from None
        return value

    def template(self, locale: str, key: str) -> str | None:
        """Return the operator's template for ``key`` in ``locale`` ("pt-BR" or "pt_BR"), if they wrote one."""
        for name in (locale, locale.replace("_", "-"), locale.replace("-", "_")):
            found = self.templates.get(name)
            if found is not None and getattr(found, key) is not None:
                return str(getattr(found, key))
        return None

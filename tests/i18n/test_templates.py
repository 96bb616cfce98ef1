"""Post templates per language: the operator's own for a language first, then their main one if they changed it,
then the built-in template in that language."""

from __future__ import annotations

import tomllib

from bot.config import Settings, parse_settings
from bot.i18n import lang
from bot.services.recognition.models import FIRST_PR, MILESTONE, Celebration
from bot.services.recognition.render import single_post

BASE = '[discord]\nguild_id = 1\n[github]\nrepositories = ["acme/app"]\n'
FIRST = Celebration(FIRST_PR, "k", 42, "dev42", 1, title="Fix typos", url="https://github.com/acme/app/pull/1",
                    repo="acme/app", number=1, merged_by="maintainer")  # fmt: skip


def settings(extra: str = "") -> Settings:
    return parse_settings(tomllib.loads(BASE + extra))


def test_the_built_in_template_is_used_in_the_channels_language() -> None:
    german = single_post(FIRST, settings().kudos, lang("de"), settings())
    assert (
        german.content == "Willkommen an Bord, **dev42**! Dein erster Pull Request für acme/app wurde gemergt. Danke!"
    )
    assert german.embeds[0]["footer"] == {"text": "Erster gemergter Pull Request"}
    assert german.embeds[0]["description"] == "In acme/app, gemergt von maintainer"
    assert [button.label for button in german.buttons] == ["Das bin ich"]


def test_an_operators_template_for_the_language_wins() -> None:
    configured = settings('[templates.de]\nfirst_pr = "Servus {author}, danke für {pr_title}!"\n')
    post = single_post(FIRST, configured.kudos, lang("de"), configured)
    assert post.content == "Servus **dev42**, danke für Fix typos!"
    portuguese = single_post(FIRST, configured.kudos, lang("pt-BR"), configured)
    assert portuguese.content.startswith("Boas-vindas a bordo, **dev42**!")  # no pt-BR template: the built-in one


def test_a_changed_main_template_beats_the_built_in_translation() -> None:
    configured = settings('[kudos]\nfirst_pr_message = "Moin {author}!"\n')
    assert single_post(FIRST, configured.kudos, lang("de"), configured).content == "Moin **dev42**!"


def test_a_milestone_names_its_ordinal_the_languages_way() -> None:
    tenth = Celebration(MILESTONE, "m", 42, "dev42", 2, title="More", repo="acme/app", count=10)
    post = single_post(tenth, settings().kudos, lang("pt-BR"), settings())
    assert post.content == "**dev42** acaba de ter o 10º pull request mesclado. Que sequência!"
    assert post.embeds[0]["footer"] == {"text": "Marco: 10 pull requests mesclados"}

"""One language's words and formats: translated templates, plural forms, numbers, dates and ordinals."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from babel import Locale
from babel.dates import format_date, format_datetime, format_timedelta
from babel.lists import format_list
from babel.numbers import format_decimal

from bot.i18n import english
from bot.i18n.catalog import translations
from bot.i18n.locales import SOURCE, catalogue_for


def N_(message: str) -> str:
    """Mark a string for the catalogues without translating it here (it is translated where it is shown)."""
    return message


class Notice(str):
    """A sentence kept as its catalogue template and values: English wherever it is used as a string (logs,
    errors, tests), the reader's language where :meth:`in_` shows it.

    Write ``Notice(N_("… {name} …"), name=…)``, or ``Notice.ngettext("{count} …", "{count} …", count, …)`` when a
    count is shown: the names are the ones ``pybabel extract`` looks for. A value that is itself a Notice is
    translated too, and a list of values is joined the language's way ("a, b and c").
    """

    template: str
    plural: str | None
    number: int | None
    values: dict[str, Any]

    def __new__(cls, template: str, /, **values: Any) -> Notice:
        """Keep ``template`` and ``values``; the string itself is the English sentence."""
        english = template.format(**{key: say(value, ENGLISH) for key, value in values.items()})
        notice = super().__new__(cls, english if values else template)
        notice.template, notice.plural, notice.number, notice.values = template, None, None, values
        return notice

    @classmethod
    def ngettext(cls, singular: str, plural: str, count: int, /, **values: Any) -> Notice:
        """A sentence with a count, in the plural form each language needs."""
        english = ENGLISH.ngettext(
            singular, plural, count, **{key: say(value, ENGLISH) for key, value in values.items()}
        )
        notice = super().__new__(cls, english)
        notice.template, notice.plural, notice.number, notice.values = singular, plural, count, values
        return notice

    def in_(self, speaker: Lang) -> str:
        """The sentence in ``speaker``'s language."""
        values = {key: say(value, speaker) for key, value in self.values.items()}
        if self.plural is not None and self.number is not None:
            return speaker.ngettext(self.template, self.plural, self.number, **values)
        return speaker.gettext(self.template, **values)


def say(text: Any, speaker: Lang) -> Any:
    """Show ``text`` to ``speaker``: a :class:`Notice` in their language, a list joined, anything else as it is."""
    if isinstance(text, Notice):
        return text.in_(speaker)
    if isinstance(text, list):
        return speaker.join([str(say(item, speaker)) for item in text])
    return text


@dataclass(frozen=True)
class Lang:
    """Speak one locale: every member-facing text goes through ``text``, ``plural``, and the formatters here."""

    locale: str = SOURCE

    @property
    def discord_locale(self) -> str:
        """The locale's Discord name ("pt-BR", "de", "en-US")."""
        return "en-US" if self.locale == SOURCE else self.locale.replace("_", "-")

    def gettext(self, message: str, /, **values: Any) -> str:
        """Translate a template and fill its ``{placeholders}``."""
        translated = translations(self.locale).gettext(message)
        return translated.format(**values) if values else translated

    def pgettext(self, context: str, message: str, /, **values: Any) -> str:
        """Translate a template that has a gettext context (``msgctxt``) and fill it."""
        translated = translations(self.locale).pgettext(context, message)
        return translated.format(**values) if values else translated

    def ngettext(self, singular: str, plural: str, count: int, /, **values: Any) -> str:
        """Choose the plural form for ``count`` (``{count}`` is filled, formatted for the locale)."""
        chosen = translations(self.locale).ngettext(singular, plural, count)
        return chosen.format(count=self.number(count), **values)

    @property
    def babel(self) -> Locale:
        """The Babel locale, for formats the helpers here do not cover."""
        return _babel(self.locale)

    def join(self, items: list[str]) -> str:
        """Join items as a sentence does: "a, b and c", "a, b und c", "a, b e c"."""
        if self.locale == SOURCE:  # Babel's English adds a serial comma ("a, b, and c"); Vestry writes without
            return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"
        return format_list(items, locale=_babel(self.locale))

    def number(self, value: float) -> str:
        """Format a number the locale's way (1,234 / 1.234)."""
        if self.locale == SOURCE and (written := english.number(value)) is not None:
            return written  # what Babel writes, without loading its English data
        return format_decimal(value, locale=_babel(self.locale))

    def ordinal(self, value: int) -> str:
        """Format an ordinal the locale's way: 1st, 2nd (English); 1., 2. (German); 1º, 2º (Portuguese)."""
        language = self.locale.split("_", 1)[0]
        if language == "en":
            return f"{value}{english.ordinal_suffix(value)}"
        if language == "pt":
            return f"{value}º"
        return f"{value}."

    def date(self, value: date | datetime, form: str = "long") -> str:
        """Format a date ("5 December 2026", "5. Dezember 2026", "5 de dezembro de 2026")."""
        return format_date(value, format=form, locale=_babel(self.locale))

    def moment(self, when: datetime, pattern: str) -> str:
        """Format a moment in its own time zone with an LDML pattern ("d MMM HH:mm": "5 Dec 14:30")."""
        if self.locale == SOURCE and (written := english.moment(when, pattern)) is not None:
            return written
        return format_datetime(when, pattern, tzinfo=when.tzinfo, locale=_babel(self.locale))

    def duration(self, value: timedelta, *, relative: bool = False) -> str:
        """Format a time span ("3 days"), or a relative time ("in 3 days" / "3 days ago") when ``relative``."""
        return format_timedelta(value, add_direction=relative, locale=_babel(self.locale))


@functools.cache
def _babel(locale: str) -> Locale:
    return Locale.parse("en_US" if locale == SOURCE else locale)


@functools.cache
def lang(locale: str | None) -> Lang:
    """Return the language for a Discord or gettext locale; English when Vestry does not speak it."""
    return Lang(catalogue_for(locale))


ENGLISH = Lang()

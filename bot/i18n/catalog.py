"""Load the gettext catalogues: the compiled ``.mo`` when the build made one, else the shipped ``.po`` itself."""

from __future__ import annotations

import functools
import gettext
import io
import logging
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from bot.i18n.locales import SOURCE, SUPPORTED

log = logging.getLogger(__name__)

DOMAIN = "vestry"
LOCALES_DIR = Path(__file__).resolve().parent / "locales"


def po_path(locale: str) -> Path:
    """Where the shipped catalogue of ``locale`` lives."""
    return LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def _from_po(path: Path, locale: str) -> Translations:
    with path.open("rb") as source:
        catalog = read_po(source, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)  # fuzzy entries stay out, as msgfmt leaves them out
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


@functools.cache
def translations(locale: str) -> gettext.NullTranslations:
    """Return the translations of a shipped locale (English and unknown locales translate nothing)."""
    if locale == SOURCE or locale not in SUPPORTED:
        return gettext.NullTranslations()
    po = po_path(locale)
    mo = po.with_suffix(".mo")
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as compiled:
            return Translations(compiled, domain=DOMAIN)
    if po.exists():
        return _from_po(po, locale)
    log.warning("no catalogue for %s at %s; speaking English", locale, po)
    return gettext.NullTranslations()

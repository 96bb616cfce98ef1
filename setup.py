"""Build step: compile the shipped .po catalogues into .mo files inside the built package.

Everything else lives in pyproject.toml. An editable install or a checkout needs no .mo: Vestry reads the .po
itself when no compiled catalogue is there (bot/i18n/catalog.py).
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithCatalogues(build_py):
    """Build the package, then compile each copied ``.po`` into the ``.mo`` next to it (fuzzy entries left out)."""

    def run(self) -> None:
        super().run()
        for po in Path(self.build_lib, "bot", "i18n", "locales").glob("*/LC_MESSAGES/*.po"):
            with po.open("rb") as source:
                catalog = read_po(source, locale=po.parent.parent.name)
            with po.with_suffix(".mo").open("wb") as target:
                write_mo(target, catalog)


setup(cmdclass={"build_py": BuildWithCatalogues})

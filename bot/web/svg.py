"""SVG drawn by the bot: the README badge, the contributors wall and initials avatars (no outside requests)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from xml.sax.saxutils import escape, quoteattr

from bot.services.halloffame import Contributor

PALETTE = ("#5b3cc4", "#1f7a5a", "#a3431a", "#2a5db0", "#8a2d6b", "#5d6b1f", "#b0292f", "#3b6e80")


def colour_for(login: str) -> str:
    """Pick a stable background colour for a login."""
    return PALETTE[hashlib.sha256(login.lower().encode()).digest()[0] % len(PALETTE)]


def initials(login: str) -> str:
    """The one or two letters an initials avatar shows."""
    letters = [part[0] for part in login.replace("_", "-").split("-") if part and part[0].isalnum()]
    return ("".join(letters[:2]) or login[:1] or "?").upper()


def initials_avatar(login: str, size: int = 64) -> str:
    """Draw a round avatar with a login's initials."""
    half = size / 2
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" viewBox="0 0 {size} {size}" '
        f'role="img" aria-label={quoteattr(login)}><circle cx="{half}" cy="{half}" r="{half}" '
        f'fill="{colour_for(login)}"/><text x="50%" y="50%" dy=".35em" text-anchor="middle" fill="#ffffff" '
        f'font-family="Verdana,sans-serif" font-size="{size * 0.4:.0f}">{escape(initials(login))}</text></svg>'
    )


def badge(label: str, value: str, colour: str) -> str:
    """Draw a flat badge: ``label | value``."""
    left = 7 * len(label) + 12
    right = 7 * len(value) + 12
    width = left + right
    text = f"{label}: {value}"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" aria-label={quoteattr(text)}>'
        f"<title>{escape(text)}</title>"
        f'<rect width="{left}" height="20" fill="#555"/><rect x="{left}" width="{right}" height="20" fill="{colour}"/>'
        f'<g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">'
        f'<text x="{left / 2}" y="14">{escape(label)}</text><text x="{left + right / 2}" y="14">{escape(value)}</text>'
        "</g></svg>"
    )


def wall(people: Sequence[Contributor], per_row: int = 12, size: int = 48) -> str:
    """Draw a wall of initials avatars, each titled with its login, for READMEs."""
    gap = 6
    rows = max(1, -(-len(people) // per_row))
    width = per_row * (size + gap) + gap
    height = rows * (size + gap) + gap
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{len(people)} contributors">'
    ]
    for index, person in enumerate(people):
        x = gap + (index % per_row) * (size + gap) + size / 2
        y = gap + (index // per_row) * (size + gap) + size / 2
        parts.append(
            f"<g><title>{escape(person.login)}</title>"
            f'<circle cx="{x}" cy="{y}" r="{size / 2}" fill="{colour_for(person.login)}"/>'
            f'<text x="{x}" y="{y}" dy=".35em" text-anchor="middle" fill="#fff" font-family="Verdana,sans-serif" '
            f'font-size="{size * 0.4:.0f}">{escape(initials(person.login))}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)

"""``vestry init``: set Vestry up from a Discord bot token, in the terminal or from flags."""

from bot.setup.wizard import run_init

__all__ = ["run_init"]

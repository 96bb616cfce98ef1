"""The GitHub adapter: the one PyGithub worker, webhooks, polling, backfill and the App's installation.

PyGithub imports PyJWT at import time, and PyJWT imports ``cryptography`` (about 8 MiB resident between them),
though only GitHub App mode signs a JWT. PyJWT is therefore registered here to load on first use, before any
module of this package imports PyGithub: in token mode it is never executed.
"""

from bot.github.lazy import load_on_first_use

load_on_first_use("jwt")

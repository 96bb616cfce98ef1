"""The GitHub emulator's answers: JSON bodies, and errors in GitHub's shape."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

DOCS = "https://docs.github.com/rest"


def json_reply(data: Any, status: int = 200, link: str | None = None) -> web.Response:
    """Return a JSON response (with a ``Link`` header when paginated)."""
    response = web.Response(body=json.dumps(data).encode(), status=status, content_type="application/json")
    response.charset = "utf-8"
    if link:
        response.headers["Link"] = link
    return response


def error_reply(status: int, message: str, docs: str = DOCS) -> web.Response:
    """Return a GitHub-style error body."""
    return json_reply({"message": message, "documentation_url": docs, "status": str(status)}, status=status)

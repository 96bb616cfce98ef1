"""Logging never shows a secret, even inside an error."""

from __future__ import annotations

import io
import json
import logging

from bot import logs


def test_secret_values_are_redacted_in_messages_args_and_tracebacks() -> None:
    stream = io.StringIO()
    logs.configure("DEBUG", "text", ["s3cr3t-token-value"], stream=stream)
    log = logging.getLogger("vestry.test")
    log.info("token is s3cr3t-token-value")
    log.warning("args %s", "s3cr3t-token-value")
    try:
        raise RuntimeError("failed with s3cr3t-token-value")
    except RuntimeError:
        log.exception("boom")
    output = stream.getvalue()
    assert "s3cr3t-token-value" not in output
    assert output.count(logs.REDACTED) >= 3


def test_json_format_writes_one_object_per_line() -> None:
    stream = io.StringIO()
    logs.configure("INFO", "json", [], stream=stream)
    logging.getLogger("vestry.test").info("hello %s", "world")
    record = json.loads(stream.getvalue().strip().splitlines()[-1])
    assert record["message"] == "hello world" and record["level"] == "INFO"

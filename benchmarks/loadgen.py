"""The webhook load generator: a separate process that sends signed ``pull_request`` deliveries over loopback.

Run as ``python -m benchmarks.loadgen '<json config>'``; it prints one JSON line with what it saw. It speaks
HTTP/1.1 over keep-alive connections with asyncio streams (no client library in the way), so one core can send
far more deliveries a second than either server under test can take: the server is what is measured.

Each delivery is a real ``pull_request`` body rendered by the GitHub emulator (about 23 KB), with a unique
delivery id and its own pull request number and author, signed with ``X-Hub-Signature-256``. The bodies cycle through
one pull request's life (by default opened, labeled, two pushes, merged), each cycle a new pull request.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import resource
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# Sentinels the harness writes into the body templates; each delivery replaces them with its own values.
NUMBER = b"999000001"
PR_ID = b"888000001"
AUTHOR_ID = b"777000001"
AUTHOR_LOGIN = b"zzbenchauthorzz"


@dataclass
class Config:
    """What to send, where, how fast."""

    url: str
    secret: str
    templates: list[str]  # paths of the bodies of one pull request's life (opened … merged)
    count: int
    concurrency: int = 32
    rate: float | None = None  # deliveries a second (open loop); None sends as fast as acks allow
    first_number: int = 1
    authors: int = 1000
    cpus: list[int] | None = None  # pin the generator to these CPUs (the harness pins the server to the others)


@dataclass
class Outcome:
    """What the generator saw."""

    sent: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    first_send: float = 0.0
    last_ack: float = 0.0
    late: int = 0


def body_for(templates: list[bytes], index: int, first_number: int, authors: int) -> bytes:
    """Return the body of delivery ``index``: the templates are one pull request's life, in order."""
    number = first_number + index // len(templates)
    author = number * 7919 % authors
    body = templates[index % len(templates)]
    body = body.replace(NUMBER, str(number).encode())
    body = body.replace(PR_ID, str(100_000_000 + number).encode())
    body = body.replace(AUTHOR_ID, str(50_000_000 + author).encode())
    return body.replace(AUTHOR_LOGIN, f"dev{author:05d}".encode())


def request_bytes(host: str, path: str, secret: bytes, body: bytes) -> bytes:
    """Build one signed webhook request."""
    signature = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nUser-Agent: GitHub-Hookshot/vestry-bench\r\n"
        f"X-GitHub-Event: pull_request\r\nX-GitHub-Delivery: {uuid.uuid4()}\r\n"
        f"X-Hub-Signature-256: {signature}\r\n\r\n"
    )
    return head.encode() + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    if length:
        await reader.readexactly(length)
    return status


async def generate(config: Config) -> Outcome:
    """Send ``config.count`` deliveries over ``config.concurrency`` connections; return what came back."""
    parts = urlsplit(config.url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    templates = [Path(path).read_bytes() for path in config.templates]
    secret = config.secret.encode()
    outcome = Outcome()
    next_index = 0
    start = time.perf_counter()

    async def worker() -> None:
        nonlocal next_index
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while next_index < config.count:
                index = next_index
                next_index += 1
                body = body_for(templates, index, config.first_number, config.authors)
                data = request_bytes(f"{host}:{port}", parts.path, secret, body)
                if config.rate:
                    delay = start + index / config.rate - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    elif delay < -0.05:
                        outcome.late += 1
                sent = time.perf_counter()
                if not outcome.first_send:
                    outcome.first_send = time.time()
                writer.write(data)
                await writer.drain()
                outcome.sent += 1
                status = await _read_response(reader)
                outcome.statuses[status] += 1
                outcome.latencies.append((time.perf_counter() - sent) * 1000)
                outcome.last_ack = time.time()
        finally:
            writer.close()

    await asyncio.gather(*(worker() for _ in range(config.concurrency)))
    return outcome


def summary(config: Config, outcome: Outcome) -> dict[str, Any]:
    """Return the JSON the harness reads."""
    elapsed = max(outcome.last_ack - outcome.first_send, 1e-9)
    ordered = sorted(outcome.latencies) or [0.0]

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]

    return {
        "sent": outcome.sent,
        "statuses": {str(k): v for k, v in outcome.statuses.items()},
        "first_send": outcome.first_send,
        "last_ack": outcome.last_ack,
        "elapsed": elapsed,
        "ack_rate": outcome.sent / elapsed,
        "latency_ms": {"p50": pct(50), "p99": pct(99), "max": ordered[-1]},
        "late": outcome.late,
        "offered_rate": config.rate,
        "generator_cpu_seconds": _cpu_seconds(),
    }


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str]) -> int:
    """Read the JSON config from argv, send, print the summary."""
    config = Config(**json.loads(argv[0]))
    if config.cpus is not None:
        os.sched_setaffinity(0, set(config.cpus))
    outcome = asyncio.run(generate(config))
    sys.stdout.write(json.dumps(summary(config, outcome)) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

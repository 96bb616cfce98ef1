"""The webhook spool: a delivery is appended to a file before GitHub gets its answer, and leaves once recorded.

Acknowledging must be fast and must not wait for the ledger's write lock, which processing holds for a batch of
deliveries at a time; so a verified delivery goes to an append-only file (one ``writev`` for every delivery that
arrived together) and is processed from there. The ledger records a delivery's id, with its outcome, in the same
transaction as its facts: a delivery is processed exactly when its id is in ``webhook_deliveries``. A segment file
whose deliveries are all recorded is deleted.

Durability is that of SQLite in WAL mode with ``synchronous=NORMAL``, the database's own setting: what was
written survives the process being killed at any instant (the data is in the kernel's page cache), not
necessarily a power cut. A record torn by a crash in the middle of a write (it was never acknowledged) is cut off
when the spool is opened again; GitHub shows that delivery as failed and the catch-up poll covers it.

Record layout: ``VWH1``, the length of the metadata (u16) and of the body (u32), the CRC-32 of both (u32), then
the metadata (``delivery\\tevent\\treceived_at``, UTF-8) and the raw body.
"""

from __future__ import annotations

import contextlib
import logging
import os
import struct
import threading
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

MAGIC = b"VWH1"
_HEAD = struct.Struct("<4sHII")
SEGMENT_BYTES = 16 * 1024 * 1024  # a new file once the current one is this large
_PARTS = 768  # iovecs per writev (Linux takes at most 1,024)
_BINARY = getattr(os, "O_BINARY", 0)  # Windows opens files as text unless told
_NO_PREAD = not hasattr(os, "pread")  # Windows: seek, then read
_NO_WRITEV = not hasattr(os, "writev")  # Windows: join, then write


@dataclass(frozen=True)
class Entry:
    """Where one delivery's body lies in the spool."""

    delivery: str
    event: str
    received_at: str
    segment: int
    offset: int  # of the body
    length: int


class SpoolError(OSError):
    """A record that is not what was written (the disk changed under it)."""


def folder_for(database_path: str) -> Path:
    """The spool's folder beside a database file (``vestry.sqlite3`` → ``vestry.sqlite3-webhooks``)."""
    return Path(f"{database_path}-webhooks")


class Spool:
    """Segment files of deliveries; ``append`` may run on another thread than ``read`` and ``release``."""

    def __init__(self, folder: Path, segment_bytes: int = SEGMENT_BYTES) -> None:
        self.folder = folder
        self._segment_bytes = segment_bytes
        self._lock = threading.Lock()
        self._fds: dict[int, int] = {}  # open segments
        self._live: dict[int, int] = {}  # records not yet released, per segment
        self._current = 0
        self._size = 0

    def open(self) -> list[Entry]:
        """Create the folder, cut torn records off, and return every record still in the spool (oldest first).

        The caller releases those it has recorded already; new records go to a new segment.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        entries: list[Entry] = []
        numbers = _segments(self.folder)
        for number in numbers:
            found = self._recover(number)
            if found:
                self._fds[number] = os.open(self._path(number), os.O_RDONLY | _BINARY)
                self._live[number] = len(found)
                entries += found
            else:
                self._path(number).unlink(missing_ok=True)
        self._current = (numbers[-1] if numbers else 0) + 1
        self._start_segment()
        return entries

    def close(self) -> None:
        """Close every file (records stay on disk for the next start)."""
        with self._lock:
            for fd in self._fds.values():
                os.close(fd)
            self._fds.clear()

    def append(self, items: Sequence[tuple[str, str, str, bytes]]) -> list[Entry]:
        """Append ``(delivery, event, received_at, body)`` records in one write; raise OSError if the disk cannot."""
        with self._lock:
            if self._size >= self._segment_bytes:
                self._current += 1
                self._start_segment()
            parts: list[bytes] = []
            entries = []
            offset = self._size
            for delivery, event, received_at, body in items:
                meta = f"{delivery}\t{event}\t{received_at}".encode()
                crc = zlib.crc32(body, zlib.crc32(meta))
                parts += [_HEAD.pack(MAGIC, len(meta), len(body), crc), meta, body]
                offset += _HEAD.size + len(meta)
                entries.append(Entry(delivery, event, received_at, self._current, offset, len(body)))
                offset += len(body)
            fd = self._fds[self._current]
            try:
                written = _write_all(fd, parts)
            except OSError:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, self._size)  # nothing half-written stays behind a refusal
                raise
            self._size += written
            self._live[self._current] = self._live.get(self._current, 0) + len(entries)
            return entries

    def read(self, entry: Entry) -> bytes:
        """Return a record's body."""
        with self._lock:  # the segment stays open while read (and, without pread, its position is shared)
            body = _pread(self._fds[entry.segment], entry.length, entry.offset)
        if len(body) != entry.length:
            raise SpoolError(f"{self._path(entry.segment)}: record of delivery {entry.delivery} is cut short")
        return body

    def release(self, entries: Sequence[Entry]) -> None:
        """Forget recorded deliveries; delete each older segment that holds no other."""
        with self._lock:
            for entry in entries:
                left = self._live.get(entry.segment, 0) - 1
                self._live[entry.segment] = left
                if left <= 0 and entry.segment != self._current:
                    self._drop(entry.segment)

    def pending(self) -> int:
        """How many records are not yet released."""
        with self._lock:
            return sum(count for count in self._live.values() if count > 0)

    # -- files ---------------------------------------------------------------------------------------------------

    def _path(self, number: int) -> Path:
        return _segment_path(self.folder, number)

    def _start_segment(self) -> None:
        fd = os.open(self._path(self._current), os.O_RDWR | os.O_CREAT | os.O_APPEND | _BINARY, 0o600)
        self._fds[self._current] = fd
        self._size = 0
        for number in [n for n, left in self._live.items() if left <= 0 and n != self._current]:
            self._drop(number)

    def _drop(self, number: int) -> None:
        fd = self._fds.pop(number, None)
        if fd is not None:
            os.close(fd)
        self._live.pop(number, None)
        self._path(number).unlink(missing_ok=True)

    def _recover(self, number: int) -> list[Entry]:
        """Read a segment's records; cut it at the first one that is torn or damaged."""
        path = self._path(number)
        entries, size, whole = _scan(path, number)
        if whole < size:
            log.warning(
                "webhook spool %s: %d bytes at offset %d are a torn or damaged record; cutting them off (it was "
                "never acknowledged: GitHub shows the delivery failed and the catch-up poll covers it)",
                path,
                size - whole,
                whole,
            )
            os.truncate(path, whole)
        return entries


def scan(folder: Path) -> list[Entry]:
    """Every whole record in a spool folder, oldest first, read without changing anything (for checks and tools)."""
    return [entry for number in _segments(folder) for entry in _scan(_segment_path(folder, number), number)[0]]


def _segments(folder: Path) -> list[int]:
    """The numbers of a folder's segment files, oldest first."""
    return sorted(int(path.stem) for path in folder.glob("*.spool") if path.stem.isdigit())


def _segment_path(folder: Path, number: int) -> Path:
    return folder / f"{number:08d}.spool"


def _scan(path: Path, number: int) -> tuple[list[Entry], int, int]:
    """Read a segment's records one at a time: the whole ones, the file's size and where the whole ones end."""
    entries: list[Entry] = []
    fd = os.open(path, os.O_RDONLY | _BINARY)
    try:
        size, offset = os.fstat(fd).st_size, 0
        while offset < size:
            record = _read_record(fd, offset, size)
            if record is None:
                break
            (delivery, event, received_at), body_at, length = record
            entries.append(Entry(delivery, event, received_at, number, body_at, length))
            offset = body_at + length
    finally:
        os.close(fd)
    return entries, size, offset


def _read_record(fd: int, offset: int, size: int) -> tuple[tuple[str, str, str], int, int] | None:
    """Read the record at ``offset``: its metadata, where its body starts and its length; None if not whole."""
    head = _pread(fd, _HEAD.size, offset)
    if len(head) < _HEAD.size:
        return None
    magic, meta_len, body_len, crc = _HEAD.unpack(head)
    body_at = offset + _HEAD.size + meta_len
    if magic != MAGIC or body_at + body_len > size:
        return None
    meta = _pread(fd, meta_len, offset + _HEAD.size)
    body = _pread(fd, body_len, body_at)
    if len(body) != body_len or zlib.crc32(body, zlib.crc32(meta)) != crc:
        return None
    fields = meta.decode("utf-8", "replace").split("\t")
    if len(fields) != 3:
        return None
    return (fields[0], fields[1], fields[2]), body_at, body_len


def _write_all(fd: int, parts: list[bytes]) -> int:
    """Write every part, a few hundred to a ``writev`` (which may write less than asked); return the bytes."""
    total = 0
    for start in range(0, len(parts), _PARTS):
        chunk = parts[start : start + _PARTS]
        size = sum(len(part) for part in chunk)
        written = os.write(fd, b"".join(chunk)) if _NO_WRITEV else os.writev(fd, chunk)
        if written < size:  # rare: finish with what is left
            rest = memoryview(b"".join(chunk))[written:]
            while rest:
                rest = rest[os.write(fd, rest) :]
        total += size
    return total


def _pread(fd: int, size: int, offset: int) -> bytes:
    """``os.pread`` where there is one; elsewhere seek and read (the caller holds the spool's lock)."""
    if not _NO_PREAD:
        return os.pread(fd, size, offset)
    os.lseek(fd, offset, os.SEEK_SET)
    return os.read(fd, size)

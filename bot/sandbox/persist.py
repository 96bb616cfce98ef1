"""``vestry sandbox --data DIR``: keep both emulated worlds and the sandbox clock in DIR across restarts.

The worlds are saved whole and generically (every attribute of each ``World`` object, pickled), so state that a
later change adds to a world is kept without changes here. The clock is referred to, never copied: on load the
running sandbox's clock takes its place. Saves are atomic (a new file, then a rename) and happen after every
control request and, while anything changes, every quarter second, so a SIGKILL loses at most the bot's last
quarter second of emulator writes; the bot's own database is SQLite in DIR and loses nothing it committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import json
import logging
import os
import pickle
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.clock import ManualClock

log = logging.getLogger(__name__)

SAVE_EVERY = 0.25
_CLOCK_ID = "sandbox-clock"


class _Pickler(pickle.Pickler):
    """Pickle a world, leaving the live clock out (referred to by name) and keeping id counters' positions."""

    def __init__(self, file: io.BytesIO, clock: ManualClock) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._clock = clock

    def persistent_id(self, obj: Any) -> str | None:
        return _CLOCK_ID if obj is self._clock else None

    def reducer_override(self, obj: Any) -> Any:
        if type(obj) is itertools.count:  # pickling counts is deprecated: rebuild them at their next value
            return (itertools.count, (int(repr(obj)[len("count(") : -1]),))
        return NotImplemented


class _Unpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, clock: ManualClock) -> None:
        super().__init__(file)
        self._clock = clock

    def persistent_load(self, pid: Any) -> Any:
        if pid != _CLOCK_ID:
            raise pickle.UnpicklingError(f"unknown persistent id {pid!r}")
        return self._clock


class WorldStore:
    """Save and restore the worlds (by name) and the clock in one folder."""

    def __init__(self, folder: Path, clock: ManualClock, worlds: dict[str, Any]) -> None:
        self.folder = folder
        self.clock = clock
        self.worlds = worlds
        self._last: dict[str, bytes] = {}
        self._task: asyncio.Task[None] | None = None

    def _file(self, name: str) -> Path:
        return self.folder / f"{name}.world"

    @property
    def clock_file(self) -> Path:
        """Where the sandbox time is kept."""
        return self.folder / "clock.json"

    def exists(self) -> bool:
        """Tell whether the folder holds a saved sandbox."""
        return all(self._file(name).is_file() for name in self.worlds)

    def load(self) -> None:
        """Put the saved state into the live world objects (in place, so every holder of a world sees it)."""
        for name, world in self.worlds.items():
            data = self._file(name).read_bytes()
            state = _Unpickler(io.BytesIO(data), self.clock).load()
            _restore(world, state)
            self._last[name] = data
        if self.clock_file.is_file():
            saved = json.loads(self.clock_file.read_text(encoding="utf-8"))
            self.clock.set(datetime.fromisoformat(saved["now"]))
        log.info("sandbox state restored from %s", self.folder)

    def save(self) -> None:
        """Write whatever changed since the last save, atomically."""
        for name, world in self.worlds.items():
            buffer = io.BytesIO()
            _Pickler(buffer, self.clock).dump(world.__dict__)
            data = buffer.getvalue()
            if data != self._last.get(name):
                _write(self._file(name), data)
                self._last[name] = data
        now = json.dumps({"now": self.clock.now().isoformat()}).encode()
        _write(self.clock_file, now)

    def start(self) -> None:
        """Save now, then keep saving in the background."""
        self.save()
        self._task = asyncio.create_task(self._run(), name="sandbox-world-store")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(SAVE_EVERY)
            try:
                self.save()
            except Exception:  # a failed save is retried on the next tick; it must not stop the sandbox
                log.exception("saving the sandbox state failed")

    async def stop(self) -> None:
        """Stop the background saves and save one last time."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.save()


def _restore(world: Any, state: dict[str, Any]) -> None:
    """Put saved attributes into a live world; dicts and lists are refilled in place, since other parts of an
    emulator may hold them (the GitHub gate holds ``world.tokens.get``)."""
    for key, value in state.items():
        current = world.__dict__.get(key)
        if type(current) is dict and type(value) is dict:
            current.clear()
            current.update(value)
        elif type(current) is list and type(value) is list:
            current[:] = value
        else:
            world.__dict__[key] = value


def _write(path: Path, data: bytes) -> None:
    partial = path.with_name(path.name + ".partial")
    with partial.open("wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    partial.replace(path)

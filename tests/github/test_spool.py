"""The webhook spool: what was appended is read back whole after a restart; torn tails are cut; segments go away
once every delivery in them is recorded."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.github.spool import Spool


def record(n: int, size: int = 300) -> tuple[str, str, str, bytes]:
    body = b'{"n": %d, "pad": "%s"}' % (n, b"x" * size)
    return (f"d{n}", "pull_request", f"2026-03-02T12:00:{n % 60:02d}Z", body)


def reopen(folder: Path, **kwargs: int) -> tuple[Spool, list[str]]:
    spool = Spool(folder, **kwargs)
    return spool, [entry.delivery for entry in spool.open()]


def test_appended_records_read_back_and_survive_a_restart(tmp_path: Path) -> None:
    spool, left = reopen(tmp_path / "s")
    assert left == []
    entries = spool.append([record(1), record(2)]) + spool.append([record(3)])
    assert [spool.read(e) for e in entries] == [record(n)[3] for n in (1, 2, 3)]
    assert entries[1].event == "pull_request" and entries[1].received_at == record(2)[2]
    spool.release(entries[:1])
    spool.close()
    again, left = reopen(tmp_path / "s")
    assert left == ["d1", "d2", "d3"], "released records stay until their segment goes; the ledger says they are done"
    assert again.read(again.append([record(4)])[0]) == record(4)[3]
    again.close()


def test_a_torn_last_record_is_cut_off_and_the_rest_kept(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    spool, _ = reopen(tmp_path / "s")
    spool.append([record(1), record(2)])
    spool.close()
    (segment,) = (tmp_path / "s").glob("*.spool")
    whole = segment.stat().st_size
    with segment.open("ab") as file:  # a write the kernel stopped half-way when the process was killed
        file.write(b"VWH1\x10\x00" + b"\x00" * 7)
    again, left = reopen(tmp_path / "s")
    assert left == ["d1", "d2"]
    assert segment.stat().st_size == whole, "the torn bytes are gone"
    assert "torn or damaged record" in caplog.text
    again.close()


def test_a_damaged_record_is_not_returned_as_if_whole(tmp_path: Path) -> None:
    spool, _ = reopen(tmp_path / "s")
    entries = spool.append([record(1), record(2), record(3)])
    spool.close()
    (segment,) = (tmp_path / "s").glob("*.spool")
    with segment.open("r+b") as file:
        file.seek(entries[1].offset + 5)
        file.write(b"#")  # one flipped byte in the second body
    again, left = reopen(tmp_path / "s")
    assert left == ["d1"], "the checksum catches it; what follows a damaged record cannot be trusted"
    again.close()


def test_segments_roll_over_and_are_deleted_once_every_record_in_them_is_released(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    spool, _ = reopen(folder, segment_bytes=2_000)
    batches = [spool.append([record(n)]) for n in range(30)]
    assert len(list(folder.glob("*.spool"))) > 3
    assert spool.pending() == 30
    spool.release([entry for batch in batches[:-1] for entry in batch])
    names = sorted(p.name for p in folder.glob("*.spool"))
    assert names == [f"{batches[-1][0].segment:08d}.spool"], names  # only the current one is left
    assert spool.pending() == 1
    spool.close()
    again, left = reopen(folder)
    assert left[-1] == "d29" and "d0" not in left, left  # the current segment's records; the ledger says which are done
    again.close()


def test_a_refused_write_leaves_nothing_half_written(tmp_path: Path) -> None:
    spool, _ = reopen(tmp_path / "s")
    spool.append([record(1)])
    (segment,) = (tmp_path / "s").glob("*.spool")
    size = segment.stat().st_size
    fd = spool._fds[spool._current]
    os.close(fd)  # every write now fails, as on a disk that refuses them
    spool._fds[spool._current] = os.open(segment, os.O_RDONLY)
    with pytest.raises(OSError):
        spool.append([record(2)])
    assert segment.stat().st_size == size
    spool.close()
    _, left = reopen(tmp_path / "s")
    assert left == ["d1"]


def test_without_pread_and_writev_as_on_windows_records_still_round_trip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.github import spool as module

    monkeypatch.setattr(module, "_NO_PREAD", True)
    monkeypatch.setattr(module, "_NO_WRITEV", True)
    spool, _ = reopen(tmp_path / "s")
    entries = spool.append([record(1), record(2)])
    assert [spool.read(e) for e in reversed(entries)] == [record(2)[3], record(1)[3]]
    spool.close()
    again, left = reopen(tmp_path / "s")
    assert left == ["d1", "d2"]
    again.close()

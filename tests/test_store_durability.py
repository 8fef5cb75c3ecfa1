"""Every whole-file write in the store is durable in the right order: the new file's data is flushed
before ``os.replace`` puts it in place, and the folder is flushed after, so the rename itself
survives a power cut.

A SIGKILL crash test cannot see a missing flush — the page cache outlives a killed process — so the
order is checked here by counting the calls, as ``test_put_many_is_one_line_and_one_fsync`` does for
appends.
"""

from __future__ import annotations

import io
import os
import stat
from pathlib import Path

import pytest
from PIL import Image

from inspect_tui.store import evidence, journal
from inspect_tui.store import session_file as sfm
from inspect_tui.store.integrity import recover
from inspect_tui.store.lines import encode_line
from inspect_tui.store.session_file import FORMAT, SessionFile, write_session

META = {"group": "第一观摩组", "inspector": "张三"}


def rec(i: int) -> dict:
    return {"id": f"r{i}", "text": f"记录 {i}"}


class Disk:
    """What reached the disk, in order: ``("file", inode)`` / ``("dir", inode)`` for each flush,
    ``("replace", inode of the new file, inode of its folder)`` for each rename over a path."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.events: list[tuple] = []
        for name in ("fsync", "fdatasync"):
            if hasattr(os, name):
                monkeypatch.setattr(os, name, self._sync(getattr(os, name)))
        real_replace = os.replace

        def replace(src, dst, *a, **kw):
            self.events.append(("replace", os.stat(src).st_ino, os.stat(Path(dst).parent).st_ino))
            return real_replace(src, dst, *a, **kw)

        monkeypatch.setattr(os, "replace", replace)

    def _sync(self, real):
        def sync(fd: int) -> None:
            st = os.fstat(fd)
            self.events.append(("dir" if stat.S_ISDIR(st.st_mode) else "file", st.st_ino))
            real(fd)
        return sync

    def check_replaces(self, expected: int) -> None:
        """Each rename: the renamed file's data flushed before it, its folder flushed after it."""
        replaces = [i for i, e in enumerate(self.events) if e[0] == "replace"]
        assert len(replaces) == expected, self.events
        for i in replaces:
            _, ino, folder = self.events[i]
            assert ("file", ino) in self.events[:i], f"data not flushed before rename: {self.events}"
            assert ("dir", folder) in self.events[i + 1:], f"folder not flushed after rename: {self.events}"


@pytest.fixture
def disk(monkeypatch: pytest.MonkeyPatch) -> Disk:
    return Disk(monkeypatch)


def test_write_atomic_flushes_data_then_renames_then_flushes_the_folder(tmp_path: Path, disk: Disk) -> None:
    target = tmp_path / "f.session"
    target.write_bytes(b"old")
    assert journal.write_atomic(target, [b"new ", b"content"]) == 11
    new_ino, folder = target.stat().st_ino, tmp_path.stat().st_ino
    assert disk.events == [("file", new_ino), ("replace", new_ino, folder), ("dir", folder)]
    assert target.read_bytes() == b"new content"
    assert not [p for p in tmp_path.iterdir() if p != target]


def test_write_atomic_flushes_nothing_and_replaces_nothing_when_writing_fails(tmp_path: Path,
                                                                              disk: Disk) -> None:
    target = tmp_path / "f.session"
    target.write_bytes(b"old")

    def chunks():
        yield b"half"
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError) as info:
        journal.write_atomic(target, chunks())
    assert info.value.filename == str(target)  # the user is told which file
    assert disk.events == [] and target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.session"]  # the temp file is gone


def test_create_and_write_session_are_durable(tmp_path: Path, disk: Disk) -> None:
    SessionFile.create(tmp_path / "a.session", META, [rec(1)]).close()
    write_session(tmp_path / "b.session", META, [rec(1)], [])
    disk.check_replaces(2)


def test_compaction_is_durable(tmp_path: Path, disk: Disk) -> None:
    with SessionFile.create(tmp_path / "a.session", META, [rec(1)]) as sf:
        sf.put(rec(2))
        disk.events.clear()
        sf.compact()
    disk.check_replaces(1)


def test_migration_keeps_a_durable_backup_and_a_durable_new_file(tmp_path: Path, disk: Disk,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "old.session"
    path.write_bytes(encode_line({"format": FORMAT, "version": 1})
                     + encode_line({"t": "records", "set": {"1": rec(1)}}))
    monkeypatch.setattr(sfm, "COMPACT_MIN_LINES", 10**6)
    SessionFile.open(path).close()
    disk.check_replaces(2)  # NAME.v1.bak, then the file itself


def test_recover_writes_its_output_durably(tmp_path: Path, disk: Disk) -> None:
    path = tmp_path / "a.session"
    SessionFile.create(path, META, [rec(1)]).close()
    disk.events.clear()
    recover(path, tmp_path / "out.session")
    disk.check_replaces(1)


def _png(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(out, "PNG")
    return out.getvalue()


def test_a_stored_photo_is_durable_before_a_record_can_name_it(tmp_path: Path, disk: Disk) -> None:
    photo = tmp_path / "p.png"
    photo.write_bytes(_png((200, 0, 0)))
    session = tmp_path / "a.session"
    ref = evidence.add(session, photo)
    disk.check_replaces(1)
    assert (evidence.store_dir(session) / ref).read_bytes() == photo.read_bytes()


def test_photos_carried_to_another_disk_are_durable(tmp_path: Path, disk: Disk,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    photo = tmp_path / "p.png"
    photo.write_bytes(_png((0, 200, 0)))
    source = tmp_path / "a.session"
    ref = evidence.add(source, photo)
    disk.events.clear()

    def cross_device(*a):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", cross_device)
    target = tmp_path / "b.session"
    assert evidence.carry([source], target, [{"id": "r1", "versions": [{"data": {"files": [ref]}}]}]) == []
    disk.check_replaces(1)
    assert (evidence.store_dir(target) / ref).read_bytes() == photo.read_bytes()


def test_photos_carried_by_hard_link_are_durable(tmp_path: Path, disk: Disk) -> None:
    photo = tmp_path / "p.png"
    photo.write_bytes(_png((0, 0, 200)))
    source = tmp_path / "a.session"
    ref = evidence.add(source, photo)
    disk.events.clear()
    target = tmp_path / "b.session"
    assert evidence.carry([source], target, [{"id": "r1", "versions": [{"data": {"files": [ref]}}]}]) == []
    store = evidence.store_dir(target)
    assert (store / ref).stat().st_ino == (evidence.store_dir(source) / ref).stat().st_ino
    assert disk.events == [("dir", store.stat().st_ino)]

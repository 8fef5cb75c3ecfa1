"""The journal under TinyDB (``store/journal.py``), line by line: what each kind of write appends,
what a failed write leaves, and how whole files are written — checked on the bytes of the file."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import pytest
from store_helpers import META, make, rec
from tinydb import Query

from inspect_tui.store import journal
from inspect_tui.store import session_file as sfm
from inspect_tui.store.journal import NotSavedError
from inspect_tui.store.lines import Chain, decode_chained, decode_line, encode_line
from inspect_tui.store.session_file import FORMAT, SessionFile, read_session


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "s.session"



def changes(path: Path, since: int) -> list[dict]:
    """The change lines of the file from line ``since`` + 1 on, without their chain fields."""
    out = []
    for raw in path.read_bytes().split(b"\n")[since:]:
        if raw:
            line = decode_line(raw)
            out.append({k: v for k, v in line.items() if k not in ("f", "n", "p")})
    return out


def line_count(path: Path) -> int:
    return path.read_bytes().count(b"\n")


# --------------------------------------------------------------------------- what a write appends


def test_each_table_operation_appends_exactly_its_change(path: Path) -> None:
    with make(path) as sf:
        t = sf.db.table("records")
        start = line_count(path)
        t.remove(doc_ids=[2])
        t.remove(Query().id == "r2")  # r2 is doc 3
        t.update({"x": 1}, doc_ids=[1])
        t.truncate()
        t.insert({"id": "new"})
        assert changes(path, start) == [
            {"t": "records", "del": ["2"]},
            {"t": "records", "del": ["3"]},
            {"t": "records", "set": {"1": {"id": "r0", "text": "记录 0", "x": 1}}},
            {"t": "records", "clear": True},
            {"t": "records", "set": {"1": {"id": "new"}}},  # ids start again after a truncate
        ]
    assert [d for d in read_session(path)[1]] == [{"id": "new"}]


def test_a_table_written_first_is_persisted_even_when_empty(path: Path) -> None:
    with make(path) as sf:
        start = line_count(path)
        sf.db.table("scratch").update({"a": 1})  # changes nothing, yet TinyDB creates the table
        assert changes(path, start) == [{"t": "scratch", "set": {}}]
        assert "scratch" in sf.db.tables()


def test_drop_table_appends_one_drop_line_and_rewrites_nothing_else(path: Path) -> None:
    with make(path) as sf:
        sf.db.table("scratch").insert({"a": 1})
        start = line_count(path)
        sf.db.drop_table("scratch")
        assert changes(path, start) == [{"t": "scratch", "drop": True}]
        assert sf.db.tables() == {"meta", "records", "log"} and len(sf) == 3
        sf.db.drop_tables()
        assert changes(path, start + 1) == [{"t": "meta", "drop": True, "more": True},
                                            {"t": "records", "drop": True, "more": True}, {"t": "log", "drop": True}]
        assert (sf.meta, sf.records(), sf.log(), len(sf)) == ({}, [], [], 0)
    assert read_session(path) == ({}, [], [])
    with SessionFile.open(path, readonly=True) as ro:
        assert len(ro) == 0 and ro.get("r0") is None


def test_a_whole_database_write_rewrites_only_the_tables_not_live(path: Path) -> None:
    with make(path) as sf:
        storage = sf.db.journal
        data = storage.read()
        data["records"] = {1: {"id": "only"}}  # a foreign dict, int keys as a stock Table has
        start = line_count(path)
        storage.write(data)
        assert changes(path, start) == [{"t": "records", "clear": True, "set": {"1": {"id": "only"}}}]
        assert storage.tables["records"] == {"1": {"id": "only"}} and storage.tables["meta"] == {"1": META}
        start = line_count(path)
        storage.write(storage.read())  # nothing changed: nothing written
        assert line_count(path) == start
    assert read_session(path) == (META, [{"id": "only"}], [{"event": "created"}])


def test_a_multi_table_commit_marks_all_but_its_last_line(path: Path) -> None:
    with make(path) as sf:
        storage = sf.db.journal
        start, lines = line_count(path), storage.lines
        storage.append([{"t": "a", "set": {"1": {"x": 1}}}, {"t": "b", "set": {"1": {"y": 2}}},
                        {"t": "c", "del": ["9"]}])
        assert changes(path, start) == [{"t": "a", "set": {"1": {"x": 1}}, "more": True},
                                        {"t": "b", "set": {"1": {"y": 2}}, "more": True},
                                        {"t": "c", "del": ["9"]}]
        assert storage.lines == lines + 3 and storage.size == path.stat().st_size and not storage.sealed


def test_a_failed_updater_puts_back_what_it_removed(path: Path) -> None:
    with make(path) as sf:
        t = sf.db.table("records")
        size = path.stat().st_size

        def remove_then_fail(table):
            assert table.pop(1)["id"] == "r0"
            assert table.pop(99, "none") == "none"
            with pytest.raises(KeyError) as info:
                table.pop(99)
            assert info.value.args == (99,)
            with pytest.raises(KeyError) as info:
                del table[99]
            assert info.value.args == (99,)
            del table[2]
            table[8] = {"id": "r8"}
            del table[8]  # new, then gone again: nothing to put back
            table.clear()
            assert len(table) == 0 and 3 not in table
            raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            t._update_table(remove_then_fail)
        assert [d["id"] for d in sf.records()] == ["r0", "r1", "r2"] and path.stat().st_size == size

        def clear_then_add(table):
            table.clear()
            table[7] = {"id": "r7"}
            raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            t._update_table(clear_then_add)
        assert [d["id"] for d in sf.records()] == ["r0", "r1", "r2"] and sf.db.journal.tables["records"].keys() == {
            "1", "2", "3"}


def test_a_write_that_cannot_be_undone_stops_every_later_write(path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    sf = make(path)

    def fail(*a):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fdatasync" if hasattr(os, "fdatasync") else "fsync", fail)
    monkeypatch.setattr(os, "ftruncate", fail)
    with pytest.raises(NotSavedError, match="未保存：Input/output error"):
        sf.put(rec(5))
    monkeypatch.undo()
    with pytest.raises(NotSavedError) as info:
        sf.put(rec(6))  # the disk works again, but the file's length could not be restored
    assert info.value.strerror == "未保存：写入失败后无法恢复文件长度（Input/output error），请重新打开会话"
    assert info.value.filename == str(path) and info.value.errno == errno.EIO
    with pytest.warns(UserWarning, match="无法写入封存行"):
        sf.close()


# --------------------------------------------------------------------------- whole files


def test_raw_texts_are_written_as_read_not_encoded_again() -> None:
    doc = {"id": "a", "t": "记"}
    raw = '{"id":"a","t":"\\u8bb0"}'  # as an older writer escaped it: the same document
    chain = Chain("ab", 2, 0)
    line = b"".join(journal._set_line("records", {"1": doc}, {id(doc): (doc, raw)}, chain.copy()))
    assert raw.encode() in line
    assert decode_chained(line[:-1])[0] == {"t": "records", "set": {"1": doc}}
    other = {"id": "a", "t": "记"}  # an equal document that is not the one read: encoded afresh
    line = b"".join(journal._set_line("records", {"1": other}, {id(doc): (doc, raw)}, chain.copy()))
    assert raw.encode() not in line and line == chain.copy().encode({"t": "records", "set": {"1": other}})


@pytest.mark.parametrize("bad", ["Infinity", "-Infinity", "NaN"])
def test_raw_texts_never_bring_in_what_json_cannot_store(bad: str) -> None:
    doc = {"id": "a", "x": json.loads(f"[{bad}]")[0]}
    with pytest.raises(ValueError):
        journal._set_line("records", {"1": doc}, {id(doc): (doc, f'{{"id":"a","x":{bad}}}')}, Chain("ab", 2, 0))


def test_tables_with_other_than_text_keys_are_encoded_whole() -> None:
    doc = {"id": "a"}
    raw = '{"id": "a"}'
    lines = journal._set_line("records", {1: doc}, {id(doc): (doc, raw)}, Chain("ab", 2, 0))
    assert lines == [Chain("ab", 2, 0).encode({"t": "records", "set": {1: doc}})]


def test_journal_chunks_bound_every_line_and_give_where_the_next_goes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(journal, "CHUNK_DOCS", 2)
    head = {"format": FORMAT, "version": 2, "id": "ab"}
    tables = {"meta": {}, "records": {str(i): {"id": f"r{i}"} for i in range(1, 6)}}
    end: list[Chain] = []
    lines = list(journal.journal_chunks(head, tables, end=end))
    decoded = [decode_chained(ln[:-1])[0] for ln in lines[1:]]
    assert [(d.get("t"), sorted(d.get("set", {}))) for d in decoded] == [
        ("meta", []), ("records", ["1", "2"]), ("records", ["3", "4"]), ("records", ["5"]), (None, [])]
    assert decoded[-1] == {"seal": True}
    [state] = end
    assert (state.fid, state.n) == ("ab", 6)  # the seal's place: the next change replaces it


def test_write_atomic_keeps_the_mode_and_follows_a_link(tmp_path: Path) -> None:
    real = tmp_path / "real.session"
    real.write_bytes(b"old")
    real.chmod(0o600)
    link = tmp_path / "link.session"
    link.symlink_to(real)
    assert journal.write_atomic(link, [b"new"]) == 3
    assert link.is_symlink() and real.read_bytes() == b"new" and real.stat().st_mode & 0o777 == 0o600
    fresh = tmp_path / "fresh.session"
    old_umask = os.umask(0)
    try:
        journal.write_atomic(fresh, [b""])
    finally:
        os.umask(old_umask)
    assert fresh.stat().st_mode & 0o777 == 0o644 and fresh.read_bytes() == b""


def test_short_writes_are_continued_and_a_zero_write_is_a_full_disk(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    real_write = os.write
    monkeypatch.setattr(os, "write", lambda fd, data: real_write(fd, bytes(data[:3])))
    target = tmp_path / "f"
    assert journal.write_atomic(target, [b"0123456789", b"ab"]) == 12
    assert target.read_bytes() == b"0123456789ab"
    monkeypatch.setattr(os, "write", lambda fd, data: 0)
    with pytest.raises(OSError) as info:
        journal.write_atomic(target, [b"x"])
    assert (info.value.errno, info.value.strerror) == (errno.ENOSPC, os.strerror(errno.ENOSPC))
    assert target.read_bytes() == b"0123456789ab"


def test_temp_names_are_hidden_beside_the_file_and_unique(tmp_path: Path) -> None:
    a, b = journal.temp_name(tmp_path / "s.session"), journal.temp_name(tmp_path / "s.session", "part")
    assert a.parent == tmp_path and a.name.startswith(f".s.session.tmp-{os.getpid()}-")
    assert b.name.startswith(f".s.session.part-{os.getpid()}-") and a != journal.temp_name(tmp_path / "s.session")


def test_stale_temp_files_of_this_file_only_are_removed_on_open(path: Path) -> None:
    make(path).close()
    stale = journal.temp_name(path)
    stale.write_bytes(b"half")
    other = journal.temp_name(path.with_name("other.session"))
    other.write_bytes(b"theirs")
    SessionFile.open(path).close()
    assert not stale.exists() and other.exists()


# --------------------------------------------------------------------------- compaction and migration


def test_compaction_gives_a_new_identity_and_keeps_appending(path: Path) -> None:
    with make(path) as sf:
        old = dict(sf.header)
        sf.put(rec(1, text="改"))
        sf.compact()
        new = sf.header
        assert new["id"] != old["id"] and new["created"] == old["created"]
        assert new["compacted"][:4].isdigit() and new["compacted"].endswith("+00:00")
        assert decode_line(path.read_bytes().split(b"\n")[0]) == new
        assert not sf.sealed and sf.journal_lines == 3
        sf.put(rec(9))
    assert [r["id"] for r in read_session(path)[1]] == ["r0", "r1", "r2", "r9"]
    assert read_session(path)[1][1]["text"] == "改"


def test_a_compacted_file_is_sealed_on_closing(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sf = make(path)
    sf.put(rec(1, text="改"))
    monkeypatch.setattr(sfm, "COMPACT_MIN_LINES", 0)
    monkeypatch.setattr(sfm, "COMPACT_FACTOR", 0)
    sf.close()  # compacts: one line per table, then the seal
    assert [decode_line(ln).get("t", "seal") for ln in path.read_bytes().split(b"\n")[1:-1]] == [
        "meta", "records", "log", "seal"]
    assert sfm._load(path)[0].sealed and sf.db.journal.readonly is True


def test_migration_backups_never_overwrite_an_earlier_backup(path: Path) -> None:
    v1 = encode_line({"format": FORMAT, "version": 1, "created": "2020-01-02T03:04:05+00:00"})
    for n in range(3):
        data = v1 + encode_line({"t": "records", "set": {"1": {"id": f"a{n}"}}})
        path.write_bytes(data)
        with SessionFile.open(path) as sf:
            assert sf.header["migrated_from"] == 1 and sf.header["created"] == "2020-01-02T03:04:05+00:00"
            assert sf.get(f"a{n}") == {"id": f"a{n}"}
    backups = {p.name: p.read_bytes() for p in path.parent.glob("*.bak")}
    assert sorted(backups) == ["s.session.v1.2.bak", "s.session.v1.3.bak", "s.session.v1.bak"]
    assert [json.loads(b.split(b"\n")[1])["set"]["1"]["id"] for _, b in sorted(backups.items())] == ["a1", "a2", "a0"]


def test_compact_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    tables = {"records": {str(i): {} for i in range(10)}, "meta": {"1": {}}}  # 11 documents
    assert not sfm._worth_compacting(2 * 11 + 1000, tables)
    assert sfm._worth_compacting(2 * 11 + 1001, tables)


def test_what_json_cannot_hold_is_refused_by_name(path: Path) -> None:
    with make(path) as sf:
        size = path.stat().st_size
        with pytest.raises(TypeError, match="^meta must be a dict, not list$"):
            sf.set_meta([1])  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="^log entry must be a dict, not str$"):
            sf.append_log("x")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="^record must be a dict, not int$"):
            sf.put(5)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match='^a record needs a non-empty string "id"$'):
            sf.put({"id": ""})
        assert path.stat().st_size == size
        sf.set_meta({"k": (1, 2)})
        sf.append_log({"e": (3,)})
        assert sf.meta == {"k": [1, 2]} and sf.log() == [{"event": "created"}, {"e": [3]}]
    assert read_session(path)[::2] == ({"k": [1, 2]}, [{"event": "created"}, {"e": [3]}])


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts open file descriptors")
def test_compaction_leaves_no_file_open(path: Path) -> None:
    with make(path) as sf:
        before = len(os.listdir("/proc/self/fd"))
        for _ in range(3):
            sf.put(rec(1, text="改"))
            sf.compact()
        assert len(os.listdir("/proc/self/fd")) == before


def test_a_failed_first_write_leaves_no_table_behind(path: Path) -> None:
    with make(path) as sf:
        def fail(table):
            table[1] = {"a": 1}
            raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            sf.db.table("new")._update_table(fail)
        assert "new" not in sf.db.tables() and "new" not in sf.db.journal.tables


def test_only_real_changes_are_journaled_whatever_the_updater_did(path: Path) -> None:
    with make(path) as sf:
        t = sf.db.table("records")
        start = line_count(path)

        def same_again(table):  # read, put an equal copy back, delete and restore: no change
            doc = dict(table[1])
            table[1] = dict(doc)
            restored = dict(table[2])
            del table[2]
            table[2] = restored

        t._update_table(same_again)
        assert line_count(path) == start

        def clear_and_keep_one(table):  # a clear wipes the table: an unchanged document is written again
            doc = dict(table[1])
            table.clear()
            table[1] = doc

        t._update_table(clear_and_keep_one)
        assert changes(path, start) == [{"t": "records", "clear": True, "set": {"1": {"id": "r0", "text": "记录 0"}}}]
    assert read_session(path)[1] == [{"id": "r0", "text": "记录 0"}]


def test_a_failed_write_whose_flush_also_fails_is_cut_back(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sf = make(path)
    size = path.stat().st_size

    def fail(fd):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fdatasync" if hasattr(os, "fdatasync") else "fsync", fail)
    with pytest.raises(NotSavedError, match="未保存：Input/output error") as info:
        sf.put(rec(5))
    monkeypatch.undo()
    assert info.value.filename == str(path) and path.stat().st_size == size
    sf.put(rec(6))  # the cut-back worked: later writes go on
    sf.close()
    assert [r["id"] for r in read_session(path)[1]] == ["r0", "r1", "r2", "r6"]


def test_a_storage_dropped_after_its_file_was_closed_elsewhere_does_not_raise(path: Path) -> None:
    with make(path) as sf:
        storage = sf.db.journal
        fd = os.dup(storage._fd)
        os.close(storage._fd)  # closed behind its back
        storage.__del__()  # what the garbage collector calls: nothing to report, nothing raised
        storage._fd = fd


def test_a_last_line_without_its_newline_is_kept_and_continued(path: Path) -> None:
    with make(path) as sf:
        sf.put(rec(5))
    data = path.read_bytes()
    last_change = data[:data.rstrip(b"\n").rindex(b"\n") + 1]  # without the seal
    path.write_bytes(last_change[:-1])  # and without the last line's newline
    with SessionFile.open(path) as sf:
        sf.put(rec(6))
        assert sf.db.journal.size == path.stat().st_size
        sf.put(rec(7))
        assert sf.db.journal.size == path.stat().st_size
    assert [r["id"] for r in read_session(path)[1]] == ["r0", "r1", "r2", "r5", "r6", "r7"]


def test_a_seal_is_cut_off_by_the_next_append(path: Path) -> None:
    with make(path) as sf:
        storage = sf.db.journal
        storage.seal()
        assert storage.sealed is True and sfm._load(path)[0].sealed
        sf.put(rec(5))
        assert storage.sealed is False and storage.size == path.stat().st_size
        assert not sfm._load(path)[0].sealed
    assert len(read_session(path)[1]) == 4


def test_writing_through_tinydb_on_a_read_only_open_is_refused(path: Path) -> None:
    make(path).close()
    before = path.read_bytes()
    with SessionFile.open(path, readonly=True) as ro:
        with pytest.raises(PermissionError) as info:
            ro.db.table("records").insert({"id": "x"})
        assert (info.value.errno, info.value.strerror, info.value.filename) == (
            errno.EBADF, "会话文件以只读方式打开，不能保存", str(path))
        assert len(ro) == 3
    assert path.read_bytes() == before


def test_write_atomic_never_writes_into_a_file_that_is_in_the_way(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"theirs")
    monkeypatch.setattr(journal, "temp_name", lambda path: victim)  # the temp name is somebody's file
    with pytest.raises(FileExistsError):
        journal.write_atomic(tmp_path / "f", [b"mine"])
    assert victim.read_bytes() == b"theirs" and not (tmp_path / "f").exists()


def test_write_atomic_passes_on_what_went_wrong(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "f"

    def bad_chunks():
        yield b"x"
        raise ValueError("not bytes")

    with pytest.raises(ValueError, match="not bytes"):
        journal.write_atomic(target, bad_chunks())
    real_replace = os.replace

    def vanish_then_fail(src, dst):  # the temp file is gone when the cleanup comes
        os.unlink(src)
        raise OSError(errno.EXDEV, "Invalid cross-device link", "elsewhere")

    monkeypatch.setattr(os, "replace", vanish_then_fail)
    with pytest.raises(OSError) as info:
        journal.write_atomic(target, [b"x"])
    assert info.value.filename == "elsewhere"  # already named: kept
    monkeypatch.setattr(os, "replace", real_replace)
    assert list(tmp_path.iterdir()) == []


def test_only_a_chained_journal_can_be_written(path: Path) -> None:
    path.write_bytes(encode_line({"format": FORMAT, "version": 1}))
    r, _ = sfm._load(path)
    with pytest.raises(ValueError, match="^only a format-2 journal can be written$"):
        journal.JournalStorage(path, r, fd=0)

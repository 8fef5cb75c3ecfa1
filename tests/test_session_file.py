"""``SessionFile`` and the whole-file helpers: every refusal says which file and what is wrong, in
full; the small accessors answer what they claim."""

from __future__ import annotations

import errno
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from store_helpers import META, make, rec

from inspect_tui.errors import UserError
from inspect_tui.store import session_file as sfm
from inspect_tui.store.journal import NotSavedError, journal_chunks
from inspect_tui.store.lines import encode_line
from inspect_tui.store.session_file import FORMAT, SessionFile, read_session, write_session
from inspect_tui.store.session_format import _header


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "s.session"



def refusal(call, *args, **kw) -> str:
    with pytest.raises(UserError) as info:
        call(*args, **kw)
    return info.value.render()


def test_refusals_name_the_file_and_what_is_wrong(path: Path) -> None:
    nowhere = path.parent / "nowhere" / "s.session"
    assert refusal(make, nowhere) == f"{nowhere}: 文件夹 {nowhere.parent} 不存在"
    assert refusal(write_session, nowhere, META, [], []) == f"{nowhere}: 文件夹 {nowhere.parent} 不存在"
    make(path).close()
    assert refusal(make, path) == f"{path}: 文件已存在\n如确需覆盖，请使用 --force。"
    assert refusal(SessionFile.open, path.with_name("x.session")) == f"{path.with_name('x.session')}: 会话文件不存在"


def test_documents_are_checked_before_anything_is_written(path: Path) -> None:
    for records, log, message in [([rec(1), rec(1)], [], "duplicate record id 'r1'"),
                                  ([{"id": 1}], [], 'a record needs a non-empty string "id"'),
                                  ([rec(1)], ["x"], "log entry must be a dict, not str"),
                                  ([5], [], "record must be a dict, not int")]:
        with pytest.raises((TypeError, ValueError)) as info:
            write_session(path, META, records, log)
        assert str(info.value) == message and not path.exists()
    with pytest.raises(TypeError, match="^meta must be a dict, not list$"):
        write_session(path, [], [], [])


def _forge(path: Path, records: dict[str, dict]) -> None:
    path.write_bytes(b"".join(journal_chunks(_header(), {"meta": {"1": META}, "records": records})))


def test_records_without_an_id_or_with_one_twice_are_refused(path: Path) -> None:
    _forge(path, {"1": {"id": "a"}, "2": {"text": "no id"}})
    assert refusal(read_session, path) == f"{path}: 记录（文档 2）缺少字符串 id"
    _forge(path, {"1": {"id": "a"}, "5": {"id": "a"}})
    assert refusal(read_session, path) == f"{path}: 记录 id 'a' 出现了两次（文档 1 和 5）"
    assert refusal(SessionFile.open, path, readonly=True) == f"{path}: 记录 id 'a' 出现了两次（文档 1 和 5）"


def test_a_failed_new_file_says_why(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(*a, **kw):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(sfm, "write_atomic", denied)
    assert refusal(write_session, path, META, [], []).startswith(f"{path}: 无法写入：")

    def full(*a, **kw):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(sfm, "write_atomic", full)
    with pytest.raises(NotSavedError) as info:
        write_session(path, META, [], [])
    assert (info.value.errno, info.value.strerror, info.value.filename) == (
        errno.ENOSPC, "未保存：No space left on device", str(path))


def test_a_file_the_system_marks_read_only_is_refused_for_writing(path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    make(path).close()
    monkeypatch.setattr(os, "access", lambda p, mode: False)
    with pytest.raises(sfm.NotWritableError) as info:
        SessionFile.open(path)
    assert (info.value.path, info.value.reason) == (path, "文件或其所在的介质是只读的")
    monkeypatch.undo()
    SessionFile.open(path).close()  # and the refused open let go of its lock


def test_accessors(path: Path) -> None:
    with make(path) as sf:
        assert sf.last_saved is None and not sf.readonly and len(sf) == 3
        assert "r1" in sf and "r9" not in sf and sf.get("r9") is None
        assert repr(sf) == f"<SessionFile {str(path)!r} writable records=3>"
        own = sf.records(copy=False)
        assert own[0] is sf.db.journal.tables["records"]["1"] and sf.records()[0] is not own[0]
        assert sf.records() == own
        before = datetime.now(UTC)
        sf.put(rec(7))
        assert sf.last_saved is not None and before <= sf.last_saved <= datetime.now(UTC)
        assert repr(sf).endswith("writable records=4>") and sf.journal_lines == 4
    with SessionFile.open(path, readonly=True) as ro:
        assert repr(ro) == f"<SessionFile {str(path)!r} readonly records=4>" and ro.sealed


def test_closing_a_read_only_file_writes_nothing_and_closing_twice_is_harmless(path: Path) -> None:
    make(path).close()
    before = path.read_bytes()
    ro = SessionFile.open(path, readonly=True)
    seen: list[bytes] = []
    ro.close(sealed=lambda: seen.append(path.read_bytes()))
    ro.close(sealed=lambda: seen.append(b"twice"))
    assert seen == [before] and path.read_bytes() == before


def test_the_sealed_callback_sees_the_sealed_file_under_the_lock(path: Path) -> None:
    sf = make(path)
    sf.put(rec(5))
    seen: list[tuple[bool, bool]] = []

    def sealed() -> None:
        with pytest.raises(UserError):
            SessionFile.open(path)  # still locked
        seen.append((path.read_bytes().rstrip(b"\n").rsplit(b"\n", 1)[-1].startswith(b'{"seal":true'), sf.sealed))

    sf.close(sealed=sealed)
    assert seen == [(True, True)]
    with pytest.raises(ValueError, match="已关闭"):
        sf.put(rec(6))


def test_raw_texts_of_an_older_format_are_dropped(path: Path) -> None:
    path.write_bytes(encode_line({"format": FORMAT, "version": 1})
                     + encode_line({"t": "records", "set": {"1": rec(1)}}))
    raws: dict = {}
    meta, records, log, r = sfm._read_session(path, raws)
    assert records == [rec(1)] and raws == {} and not r.sealed
    write_session(path.with_name("v2.session"), META, [rec(1)], [])
    raws = {}
    assert sfm._read_session(path.with_name("v2.session"), raws)[1] == [rec(1)] and len(raws) == 1


def test_copies_are_deep_whatever_the_nesting(path: Path) -> None:
    with make(path) as sf:
        sf.put(rec(1, grid=[[1, 2], [{"x": [3]}]], meta={"a": {"b": [4]}}))
        got = sf.get("r1")
        got["grid"][0].append(9)
        got["grid"][1][0]["x"].append(9)
        got["meta"]["a"]["b"].append(9)
        assert sf.get("r1") == rec(1, grid=[[1, 2], [{"x": [3]}]], meta={"a": {"b": [4]}})
        assert sf.records()[1] == sf.get("r1")


def test_read_session_reads_the_bytes_it_is_given(path: Path) -> None:
    """The leader's merge hashes a file's bytes once and parses those very bytes: a file changed
    in between must not be read again."""
    write_session(path, META, [rec(1)], [])
    data = path.read_bytes()
    write_session(path, META, [rec(2)], [], force=True)
    assert sfm._read_session(path, None, data)[1] == [rec(1)]
    assert sfm._read_session(path, None)[1] == [rec(2)]


def test_records_read_are_written_back_as_their_text(path: Path) -> None:
    doc = rec(1)
    raw = '{"id":"r1","text":"\\u8bb0\\u5f55 1"}'  # as an older writer escaped it: the same document
    out = path.with_name("out.session")
    sfm._write_session(out, META, [doc], [], force=False, raws={id(doc): (doc, raw)})
    assert raw.encode() in out.read_bytes() and read_session(out)[1] == [doc]


def test_a_new_file_is_locked_before_it_appears(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Between the rename and the release of the lock no other writer may take the new file."""
    from inspect_tui.store import journal
    from inspect_tui.store.lock import SessionLock, holder

    real = journal.fsync_dir
    held: list[bool] = []

    def probe(folder: Path) -> None:  # runs just after os.replace put the new file in place
        held.append(holder(path) is not None)
        real(folder)

    monkeypatch.setattr(journal, "fsync_dir", probe)
    write_session(path, META, [rec(1)], [])
    lock = SessionLock.acquire(path)
    try:
        sfm._write_session(path, META, [rec(2)], [], force=True, lock=lock)
        with pytest.raises(UserError):
            SessionLock.acquire(path)  # the caller's lock followed the file it wrote
        with pytest.raises(UserError, match="已存在"):
            sfm._write_session(path, META, [rec(3)], [], force=False, lock=lock)
    finally:
        lock.release()
    assert held == [True, True] and read_session(path)[1] == [rec(2)]
    SessionLock.acquire(path).release()


def test_documents_of_a_new_file_are_numbered_from_one(path: Path) -> None:
    with SessionFile.create(path, META, [rec(1), rec(2)], [{"e": 1}, {"e": 2}]) as sf:
        assert [d.doc_id for d in sf.db.table("log")] == [1, 2]
        assert [d.doc_id for d in sf.db.table("records")] == [1, 2]
        sf.append_log({"e": 3})
        assert [d.doc_id for d in sf.db.table("log")] == [1, 2, 3]


def test_a_read_only_open_knows_its_header_and_refuses_saves_by_name(path: Path) -> None:
    make(path).close()
    with SessionFile.open(path, readonly=True) as ro:
        assert ro.header == sfm._load(path)[0].header and ro.header["format"] == FORMAT
        with pytest.raises(PermissionError) as info:
            ro.put(rec(9))
        assert str(info.value) == f"{path}: 会话文件以只读方式打开，不能保存"


def test_a_stale_temp_that_cannot_be_removed_does_not_stop_the_open(path: Path) -> None:
    make(path).close()
    odd = path.with_name(f".{path.name}.tmp-1-dir")
    odd.mkdir()  # unlink() refuses a folder
    with SessionFile.open(path) as sf:
        assert len(sf) == 3 and sf.sealed is False
    assert odd.is_dir()


def _worth_compacting_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sfm, "COMPACT_MIN_LINES", 0)
    monkeypatch.setattr(sfm, "COMPACT_FACTOR", 0)


def test_a_file_that_is_not_compacted_on_closing_is_still_sealed(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sf = make(path)
    sf.put(rec(5))
    _worth_compacting_now(monkeypatch)
    os.link(path, path.with_name("other-name.session"))  # a hard link: never compacted
    sf.close()
    assert sfm._load(path)[0].sealed and sf.journal_lines == 4
    os.unlink(path.with_name("other-name.session"))
    sf = SessionFile.open(path)  # compacted on opening: 3 lines, then unsealed
    assert sf.journal_lines == 3 and sf.sealed is False
    sf.put(rec(6))

    def no_space(*a):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", no_space)
    with pytest.warns(UserWarning, match="压缩会话文件失败"):
        sf.close()
    monkeypatch.undo()
    assert sfm._load(path)[0].sealed and [r["id"] for r in read_session(path)[1]] == ["r0", "r1", "r2", "r5", "r6"]


def test_a_seal_that_cannot_be_written_is_a_warning(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sf = make(path)
    sf.put(rec(5))

    def full(*a):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", full)
    with pytest.warns(UserWarning, match="无法写入封存行"):
        sf.close()
    monkeypatch.undo()
    assert not sfm._load(path)[0].sealed and len(read_session(path)[1]) == 4


def test_a_file_that_cannot_be_opened_for_appending_says_why(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make(path).close()
    for error, reason in [(OSError(errno.EROFS, "Read-only file system"), "Read-only file system"),
                          (OSError("odd"), "odd")]:
        def refuse(p, error=error):
            raise error

        monkeypatch.setattr(sfm, "_open_append", refuse)
        with pytest.raises(sfm.NotWritableError) as info:
            SessionFile.open(path)
        assert (info.value.path, info.value.reason) == (path, reason)


def test_a_seal_that_cannot_be_cut_off_on_opening_refuses_the_open(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make(path).close()
    before = path.read_bytes()

    def fail(*a):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "ftruncate", fail)
    with pytest.raises(sfm.NotWritableError) as info:
        SessionFile.open(path)
    assert (info.value.path, info.value.reason) == (path, "未保存：Input/output error")
    monkeypatch.undo()
    assert path.read_bytes() == before
    SessionFile.open(path).close()

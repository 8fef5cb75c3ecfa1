"""The session file store: TinyDB on a durable journal, locking, damage detection, versions."""

from __future__ import annotations

import errno
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from tinydb import Query, TinyDB
from tinydb.storages import MemoryStorage
from tinydb.table import Document

from inspect_tui.errors import UserError
from inspect_tui.store import session_file as sfm
from inspect_tui.store.integrity import recover
from inspect_tui.store.journal import NotSavedError
from inspect_tui.store.lines import Chain, decode_chained, decode_line, encode_line
from inspect_tui.store.lock import SessionLock
from inspect_tui.store.lock import holder as lock_holder
from inspect_tui.store.session_file import (
    FORMAT,
    CorruptSessionError,
    SessionFile,
    read_session,
    write_session,
)

ROOT = Path(__file__).resolve().parents[1]
META = {"group": "第一观摩组", "inspector": "张三"}


def rec(i: int | str, **extra) -> dict:
    return {"id": f"r{i}", "kind": "finding", "text": f"记录 {i}", "tags": ["a", "b"], **extra}


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "s.session"


def make(path: Path, n: int = 3, **kw) -> SessionFile:
    return SessionFile.create(path, META, [rec(i) for i in range(n)], [{"event": "created"}], **kw)


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\n")


def rewrite_line(path: Path, index: int, new: bytes) -> None:
    lines = lines_of(path)
    lines[index] = new
    path.write_bytes(b"\n".join(lines))


def header_line(**fields) -> bytes:
    return encode_line({"format": FORMAT, **fields})


def unsealed(path: Path) -> Chain:
    """Cut a closed file's seal off, as a writer does before appending; where the next line goes."""
    r, _ = sfm._load(path)
    with open(path, "r+b") as f:
        f.truncate(r.valid_size)
    return r.chain


def append_chained(path: Path, *objs: dict) -> None:
    """Append lines in their place in the chain (as a writer would, bypassing the store's checks)."""
    chain = unsealed(path)
    with open(path, "ab") as f:
        f.write(b"".join(chain.encode(o) for o in objs))


def forge(path: Path, edit) -> None:
    """Re-encode a closed format-2 file with ``edit`` applied to its change objects, chain and seal
    made right again: a hand edit that knows the format, so only the content checks can catch it."""
    lines = lines_of(path)
    header = json.loads(lines[0])
    header.pop("c")
    objs = [decode_chained(ln)[0] for ln in lines[1:] if ln]
    first = encode_line(header)
    chain = Chain.after_header(header, first)
    path.write_bytes(first + b"".join(chain.encode(o) for o in edit(objs)))


# --------------------------------------------------------------------------- basics


def test_roundtrip_and_reopen(path: Path) -> None:
    with make(path) as sf:
        assert sf.meta == META and len(sf) == 3 and not sf.readonly
        assert sf.last_saved is None
        sf.put(rec(1, text="改过"))
        sf.put(rec(9))
        sf.set_meta({**META, "day": "2026-11-22"})
        sf.append_log({"event": "edit"})
        assert sf.last_saved is not None
        assert sf.get("r1")["text"] == "改过" and sf.get("nope") is None
        assert "r9" in sf
    meta, records, log = read_session(path)
    assert meta["day"] == "2026-11-22"
    assert [r["id"] for r in records] == ["r0", "r1", "r2", "r9"]
    assert records[1]["text"] == "改过"
    assert log == [{"event": "created"}, {"event": "edit"}]


def test_put_replaces_whole_doc_and_returns_copies(path: Path) -> None:
    with make(path) as sf:
        sf.put({"id": "r1", "only": True})
        assert sf.get("r1") == {"id": "r1", "only": True}
        got = sf.get("r1")
        got["only"] = False
        sf.meta["group"] = "x"
        sf.records()[0]["tags"].append("z")
        assert sf.get("r1")["only"] is True and sf.meta == META and sf.records()[0]["tags"] == ["a", "b"]
        mine = rec(5)
        sf.put(mine)
        mine["tags"].append("later")  # the caller's dict is not shared with the store
        assert sf.get("r5")["tags"] == ["a", "b"]


def test_put_many_is_one_line_and_one_fsync(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with make(path) as sf:
        before = sf.journal_lines
        calls = []
        for name in ("fsync", "fdatasync"):
            real = getattr(os, name)
            monkeypatch.setattr(os, name, lambda fd, real=real: (calls.append(fd), real(fd))[1])
        sf.put_many([rec(1, text="x"), rec(50), rec(51), rec(50, text="last wins")])
        monkeypatch.undo()
        assert len(calls) == 1 and sf.journal_lines == before + 1
        assert sf.get("r50")["text"] == "last wins" and len(sf) == 5
    assert len(read_session(path)[1]) == 5


def test_bad_docs_refused_before_touching_the_file(path: Path) -> None:
    with make(path) as sf:
        size = path.stat().st_size
        with pytest.raises(ValueError):
            sf.put({"no": "id"})
        with pytest.raises(TypeError):
            sf.put({"id": "x", "when": object()})
        with pytest.raises(ValueError):
            sf.put({"id": "x", "f": float("nan")})
        assert path.stat().st_size == size and len(sf) == 3


def test_readonly_open_refuses_writes_and_takes_no_lock(path: Path) -> None:
    with make(path) as writer:
        with SessionFile.open(path, readonly=True) as ro:
            assert ro.readonly and len(ro) == 3
            with pytest.raises(PermissionError):
                ro.put(rec(7))
        writer.put(rec(7))
    with pytest.raises(ValueError):
        writer.put(rec(8))  # closed


def test_create_refuses_existing_unless_force(path: Path) -> None:
    make(path).close()
    with pytest.raises(UserError, match="已存在"):
        make(path)
    with make(path, n=1, force=True) as sf:
        assert len(sf) == 1
    with pytest.raises(UserError, match="不存在"):
        SessionFile.open(path.with_name("missing.session"))


def test_write_session(path: Path) -> None:
    write_session(path, META, [rec(1)], [])
    size = path.stat().st_size
    with pytest.raises(UserError, match="已存在"):
        write_session(path, META, [rec(2)], [])
    assert path.stat().st_size == size
    write_session(path, META, [rec(2), rec(3)], [{"e": 1}], force=True)
    assert [r["id"] for r in read_session(path)[1]] == ["r2", "r3"]
    with SessionFile.open(path), pytest.raises(UserError, match="正被另一个进程打开|已在本进程中打开"):
        write_session(path, META, [], [], force=True)  # would pull the file from under a writer
    with pytest.raises(ValueError, match="duplicate"):
        write_session(path.with_name("dup"), META, [rec(1), rec(1)], [])


def test_write_session_refuses_what_json_cannot_store_before_any_file(path: Path) -> None:
    """write_session serialises once, without a private copy: bad data must still be refused before
    the output (or a temp file beside it) exists, with the same exceptions as ``put``."""
    for bad, exc in [({"id": "x", "f": float("nan")}, ValueError), ({"id": "x", "when": object()}, TypeError),
                     ({"no": "id"}, ValueError), ({"id": ""}, ValueError), (["id", "x"], TypeError)]:
        with pytest.raises(exc):
            write_session(path, META, [rec(1), bad], [])
        assert list(path.parent.iterdir()) == []
    with pytest.raises(TypeError):
        write_session(path, META, [rec(1)], ["not a dict"])
    with pytest.raises(TypeError):
        write_session(path, ["not", "a", "dict"], [rec(1)], [])
    assert list(path.parent.iterdir()) == []


def test_write_session_reads_back_what_a_json_round_trip_gives(path: Path) -> None:
    docs = [rec(1, t=(1, 2), n={3: "三"}), rec(2, f=1.5, z=None)]
    write_session(path, {**META, "k": (1,)}, docs, [{"e": ("x",)}])
    assert list(read_session(path)) == json.loads(json.dumps([{**META, "k": (1,)}, docs, [{"e": ("x",)}]]))
    assert docs[0]["t"] == (1, 2)  # the caller's documents are not touched


def test_read_session_same_as_readonly_open_and_checks_ids(path: Path) -> None:
    write_session(path, META, [rec(i) for i in range(5)], [{"event": "created"}])
    meta, records, log = read_session(path)
    with SessionFile.open(path, readonly=True) as sf:
        assert (meta, records, log) == (sf.meta, sf.records(), sf.log())
    records[0]["text"] = "changed"  # the caller's own objects: nothing else sees the change
    assert read_session(path)[1][0]["text"] == "记录 0"

    def same_id(objs: list[dict]) -> list[dict]:
        table = next(o for o in objs if o.get("t") == "records")
        table["set"]["2"]["id"] = table["set"]["1"]["id"]
        return objs

    forge(path, same_id)
    with pytest.raises(UserError, match="出现了两次"):
        read_session(path)


def test_raw_texts_are_the_parsed_documents_and_write_back_identically(path: Path) -> None:
    """``_read_session`` with raws parses the compacted records line document by document; the
    documents equal ``json.loads``'s, and written back unchanged they give the very same line."""
    docs = [rec(i, n=i * 1.5, esc='引号"\\\n\t\u2028', d={"9": {}, "1": [None, True]}) for i in range(30)]
    write_session(path, META, docs, [{"event": "x"}])
    raws: dict = {}
    meta, records, log, _ = sfm._read_session(path, raws)
    assert (meta, records, log) == read_session(path) and len(raws) == len(docs)
    out = path.with_name("out.session")
    sfm._write_session(out, META, records, [{"event": "x"}], force=False, raws=raws)

    def records_lines(p: Path) -> list[bytes]:  # without the chain fields, which differ per file
        return [ln[:ln.rindex(b',"f":')] for ln in lines_of(p) if ln.startswith(b'{"t":"records"')]

    assert records_lines(out) == records_lines(path)
    changed = [*records[:-1], {**records[-1], "text": "改"}]  # a new document: encoded, not reused
    sfm._write_session(out, META, changed, [], force=True, raws=raws)
    assert read_session(out)[1] == changed


def test_raw_texts_fall_back_and_refuse_as_before(path: Path) -> None:
    from inspect_tui.store import journal, lines

    raws: lines.RawTexts = {}
    spaced = b'{"t": "records", "set": {"1": {"id": "a"}}}'
    assert lines._scan_set(spaced, "records", raws) is None and raws == {}
    nan_line = encode_line({"t": "records", "set": {"1": {"id": "a", "x": 1.0}}}).replace(b"1.0", b"NaN")
    body = nan_line[:nan_line.rindex(b',"c":')] + b"}"
    obj = lines._scan_set(body, "records", raws)
    assert obj is not None and len(raws) == 1
    with pytest.raises(ValueError):  # the journal never stores NaN: refused like encode does
        journal._set_line("records", obj["set"], raws, Chain("ab", 2, 0))
    assert b"".join(journal._set_line("records", {"1": {"id": "b", "t": "NaN"}}, raws, Chain("ab", 2, 0))) == (
        Chain("ab", 2, 0).encode({"t": "records", "set": {"1": {"id": "b", "t": "NaN"}}}))


# --------------------------------------------------------------------------- TinyDB is the layer


def test_tinydb_operations_match_stock_tinydb(path: Path) -> None:
    """Random insert/update/upsert/remove/truncate through our Table and through stock TinyDB on
    MemoryStorage must leave the same documents — in memory and after replaying the file."""
    rng = random.Random(7)
    sf = make(path, n=0)
    ours = sf.db.table("t")
    stock = TinyDB(storage=MemoryStorage).table("t")
    q = Query()
    for step in range(300):
        op = rng.choice(["insert", "insert_multiple", "update", "update_fn", "upsert", "remove", "remove_ids",
                         "doc_upsert", "truncate" if step % 60 == 59 else "insert"])
        k = rng.randrange(20)
        for t in (ours, stock):
            if op == "insert":
                t.insert({"k": k, "v": step})
            elif op == "insert_multiple":
                t.insert_multiple([{"k": k, "v": step}, {"k": k + 1, "v": [step]}])
            elif op == "update":
                t.update({"v": -step}, q.k == k)
            elif op == "update_fn":
                t.update(lambda d: d.setdefault("hits", []).append(1), q.k == k)
            elif op == "upsert":
                t.upsert({"k": k, "u": True}, q.k == k)
            elif op == "doc_upsert":
                t.upsert(Document({"k": k, "byid": step}, doc_id=k + 1))
            elif op == "remove":
                t.remove(q.k == k)
            elif op == "remove_ids":
                t.remove(doc_ids=[k, k + 1, 999])
            else:
                t.truncate()
        assert {d.doc_id: dict(d) for d in ours} == {d.doc_id: dict(d) for d in stock}, (step, op)
    for doc in stock:  # get(doc_id=) looks up str keys in storage
        assert ours.get(doc_id=doc.doc_id) == doc and ours.contains(doc_id=doc.doc_id)
    assert ours.get(doc_id=10_000) is None
    sf.close()
    with SessionFile.open(path, readonly=True) as again:
        replayed = {d.doc_id: dict(d) for d in again.db.table("t")}
    assert replayed == {d.doc_id: dict(d) for d in stock}


def test_failed_updater_leaves_memory_and_file_unchanged(path: Path) -> None:
    with make(path) as sf:
        t = sf.db.table("records")
        size, before = path.stat().st_size, sf.records()
        with pytest.raises(ValueError, match="already exists"):
            t.insert(Document({"id": "dup"}, doc_id=1))

        def half_then_fail(table):
            table[2]["text"] = "changed"
            del table[3]
            raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            t._update_table(half_then_fail)
        assert sf.records() == before and path.stat().st_size == size


def test_unchanged_scan_writes_nothing_and_drop_table_persists(path: Path) -> None:
    with make(path) as sf:
        t = sf.db.table("records")
        n = sf.journal_lines
        t.update({"kind": "finding"}, Query().kind == "finding")  # no real change
        assert sf.journal_lines == n
        sf.db.table("scratch").insert({"a": 1})
        sf.db.drop_table("scratch")
    with SessionFile.open(path, readonly=True) as again:
        assert "scratch" not in again.db.tables() and len(again) == 3


# --------------------------------------------------------------------------- locking


def test_second_open_in_same_process_refused(path: Path) -> None:
    sf = make(path)
    with pytest.raises(UserError, match=f"pid {os.getpid()}"):
        SessionFile.open(path)
    with pytest.raises(UserError):
        SessionFile.open(path.parent / "." / path.name)  # another spelling of the same file
    sf.close()
    sf.close()  # idempotent
    SessionFile.open(path).close()


HOLDER = """
import sys, time
from inspect_tui.store.session_file import SessionFile
sf = SessionFile.open(sys.argv[1])
print("locked", flush=True)
time.sleep(60)
"""


def _run_holder(path: Path) -> subprocess.Popen:
    p = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdout=subprocess.PIPE, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert p.stdout.readline().strip() == "locked"
    return p


def test_open_held_by_another_process_refused_then_freed_by_kill(path: Path) -> None:
    make(path).close()
    holder = _run_holder(path)
    try:
        with pytest.raises(UserError) as info:
            SessionFile.open(path)
        msg = info.value.render()
        assert "正被另一个进程打开" in msg and f"pid {holder.pid}" in msg and "主机" in msg
        with SessionFile.open(path, readonly=True) as ro:  # readers are welcome
            assert len(ro) == 3
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # the dead holder's owner note is still there, but it does not block
    assert any(p.name.endswith(".lock") for p in path.parent.iterdir())
    with SessionFile.open(path) as sf:
        sf.put(rec(4))


def _other_names(path: Path) -> list[Path]:
    """The same file under two more names: a hard link and a symbolic link (in another folder)."""
    elsewhere = path.parent / "elsewhere"
    elsewhere.mkdir(exist_ok=True)
    hard, soft = elsewhere / "hard.session", elsewhere / "soft.session"
    os.link(path, hard)
    soft.symlink_to(path)
    return [hard, soft]


def test_one_writer_whatever_the_path_in_process(path: Path) -> None:
    make(path).close()
    names = _other_names(path)
    with SessionFile.open(path) as sf:
        for other in names:
            with pytest.raises(UserError, match="已在本进程中打开"):
                SessionFile.open(other)
        sf.put(rec(7))
    for first in names:  # through either other name first, the real name is refused
        with SessionFile.open(first) as sf:
            with pytest.raises(UserError, match="已在本进程中打开"):
                SessionFile.open(path)
            sf.put(rec(8))
    assert os.path.samefile(path, names[0]) and names[1].is_symlink()  # still one file under three names
    assert {"r7", "r8"} <= {r["id"] for r in read_session(path)[1]}


def test_one_writer_whatever_the_path_across_processes(path: Path) -> None:
    make(path).close()
    hard, soft = _other_names(path)
    holder = _run_holder(hard)
    try:
        for name in (path, soft, hard):
            with pytest.raises(UserError, match="正被另一个进程打开"):
                SessionFile.open(name)
        assert lock_holder(soft) is not None and lock_holder(path) is not None
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    assert lock_holder(path) is None
    with SessionFile.open(soft) as sf:
        sf.put(rec(5))
    assert os.path.samefile(path, hard) and soft.is_symlink()


def test_one_writer_through_a_bind_mount(path: Path, tmp_path: Path) -> None:
    """A bind mount gives the file a path no link leads to; the lock still holds (another process
    in its own mount namespace, where the file is bind-mounted onto another one elsewhere)."""
    if shutil.which("unshare") is None:
        pytest.skip("no unshare")
    make(path).close()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    target = elsewhere / "mounted.session"  # the file itself is bind-mounted here: no sidecar is shared
    target.write_bytes(b"")
    opener = "import sys; from inspect_tui.store.session_file import SessionFile; SessionFile.open(sys.argv[1])"
    script = 'mount --bind "$1" "$2" && echo BOUND >&2 && exec "$3" -c "$4" "$2"'
    with SessionFile.open(path):
        run = subprocess.run(["unshare", "-m", "sh", "-c", script, "sh", str(path), str(target), sys.executable,
                              opener], capture_output=True, text=True, timeout=120,
                             env={**os.environ, "PYTHONPATH": str(ROOT)})
        if "BOUND" not in run.stderr:
            pytest.skip(f"cannot bind-mount here: {run.stderr.strip()[:80]}")
        assert run.returncode != 0 and "正被另一个进程打开" in run.stderr


def test_a_hard_linked_file_is_never_replaced_by_compaction(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sfm, "COMPACT_MIN_LINES", 5)
    make(path).close()
    hard, _soft = _other_names(path)
    with SessionFile.open(hard) as sf:
        for i in range(30):
            sf.put(rec(i % 3, n=i))
    assert os.path.samefile(path, hard)  # compaction would have split the two names into two files
    assert read_session(path)[1] == read_session(hard)[1]


def test_the_lock_follows_the_file_through_compaction(path: Path) -> None:
    sf = make(path)
    sf.compact()  # a new file (inode) took the path: it must be locked before it got there
    holder = subprocess.run([sys.executable, "-c", HOLDER, str(path)], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert holder.returncode != 0 and "正被另一个进程打开" in holder.stderr
    sf.close()


# --------------------------------------------------------------------------- damage


def test_torn_tail_is_ignored_then_cut_off(path: Path) -> None:
    make(path).close()
    chain = unsealed(path)
    good = path.read_bytes()
    with open(path, "ab") as f:
        f.write(chain.encode({"t": "records", "set": {"9": rec(9)}})[:25])  # no newline: never acknowledged
    torn = path.read_bytes()
    with pytest.raises(UserError, match="文件末尾有 25 字节未完成的写入"):  # a command: a cut copy's tail is kept
        SessionFile.open(path)
    assert path.read_bytes() == torn
    with SessionFile.open(path, drop_torn=True) as sf:  # a writer that knows it follows a crash
        assert len(sf) == 3 and sf.get("r9") is None
        sf.put(rec(4))
    data = path.read_bytes()
    assert data.startswith(good) and data.endswith(b"\n")
    for line in data.split(b"\n")[1:-1]:
        decode_chained(line)
    assert len(read_session(path)[1]) == 4


def test_unfinished_multi_line_commit_is_dropped(path: Path) -> None:
    make(path).close()
    append_chained(path, {"t": "records", "set": {"9": rec(9)}, "more": True})
    with SessionFile.open(path, drop_torn=True) as sf:
        assert sf.get("r9") is None
        sf.put(rec(5))
    assert [r["id"] for r in read_session(path)[1]] == ["r0", "r1", "r2", "r5"]


def _corrupt_and_check(path: Path, line_no: int, expect: str) -> None:
    before = path.read_bytes()
    for readonly in (True, False):
        with pytest.raises(CorruptSessionError) as info:
            SessionFile.open(path, readonly=readonly)
        assert info.value.line == line_no
        text = info.value.render()
        assert f"{path}:{line_no}" in text and expect in text and "inspect-tui session recover" in text
    assert path.read_bytes() == before
    # the refused writable open released its lock
    SessionLock.acquire(path).release()


def test_corrupt_middle_line_refused_untouched(path: Path) -> None:
    with make(path) as sf:
        for i in range(3, 8):
            sf.put(rec(i))
    rewrite_line(path, 5, lines_of(path)[5].replace(b"r4", b"rX"))  # line 6 of the file
    _corrupt_and_check(path, 6, "校验和不符")


def test_bad_checksum_digits_and_invalid_json(path: Path) -> None:
    with make(path) as sf:
        sf.put(rec(3))
    line = lines_of(path)[4]
    crc = line[line.rfind(b'"c":') + 4:-1]
    rewrite_line(path, 4, line.replace(crc, str((int(crc) + 1) % 2**32).encode()))
    _corrupt_and_check(path, 5, "校验和不符")
    rewrite_line(path, 4, b'{"t": "records", "set": {')
    _corrupt_and_check(path, 5, "不是有效的 JSON")
    rewrite_line(path, 4, b"")
    _corrupt_and_check(path, 5, "空行")


def test_line_with_valid_checksum_but_wrong_shape(path: Path) -> None:
    make(path).close()
    append_chained(path, {"t": "records", "set": {"x": 1}})
    _corrupt_and_check(path, 5, '"set"')


def test_truncated_header(path: Path) -> None:
    make(path).close()
    data = path.read_bytes()
    path.write_bytes(data[:30])
    _corrupt_and_check(path, 1, "文件头不完整")
    path.write_bytes(data[:data.find(b"\n")])  # whole header, no newline
    _corrupt_and_check(path, 1, "文件头不完整")
    first = data[:data.find(b"\n")]
    path.write_bytes(first.replace(b'"version":2', b'"version":2 ') + data[data.find(b"\n"):])
    _corrupt_and_check(path, 1, "文件头校验和不符")


def test_newer_version_refused(path: Path) -> None:
    make(path).close()
    data = path.read_bytes()
    path.write_bytes(header_line(version=3, id="ab") + data[data.find(b"\n") + 1:])
    with pytest.raises(UserError, match="更新版本") as info:
        SessionFile.open(path)
    assert "upgrade" in info.value.render()


def _write_v0(path: Path) -> bytes:
    data = header_line(version=0) + encode_line({"t": "records", "set": {"1": {"id": "a", "old_text": "旧"}}})
    path.write_bytes(data)
    return data


def test_older_version_without_migration_refused(path: Path) -> None:
    _write_v0(path)
    with pytest.raises(UserError, match="格式版本 0 太旧或未知"):
        SessionFile.open(path)


def test_older_version_migrated(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def v0_to_v1(tables):
        for doc in tables.get("records", {}).values():
            doc["text"] = doc.pop("old_text")
        tables.setdefault("meta", {"1": {"migrated": True}})
        return tables

    monkeypatch.setitem(sfm.MIGRATIONS, 0, v0_to_v1)
    original = _write_v0(path)
    with SessionFile.open(path, readonly=True) as ro:  # in memory only
        assert ro.get("a") == {"id": "a", "text": "旧"}
    assert path.read_bytes() == original
    with SessionFile.open(path) as sf:
        assert sf.get("a")["text"] == "旧" and sf.meta == {"migrated": True}
        assert sf.header["version"] == sfm.FORMAT_VERSION and sf.header["migrated_from"] == 0
        sf.put(rec(1))
    assert json.loads(lines_of(path)[0])["version"] == sfm.FORMAT_VERSION
    assert path.with_name(path.name + ".v0.bak").read_bytes() == original
    monkeypatch.delitem(sfm.MIGRATIONS, 0)
    assert len(read_session(path)[1]) == 2  # no migration needed any more


def test_foreign_files_refused_with_what_they_are(path: Path) -> None:
    db = TinyDB(path)
    db.insert({"a": 1})
    db.close()
    with pytest.raises(UserError, match="普通的 TinyDB JSON 数据库（表：_default）"):
        SessionFile.open(path)
    path.write_text('{\n  "_default": {}\n}\n')  # indented stock file
    with pytest.raises(UserError, match="TinyDB"):
        SessionFile.open(path, readonly=True)
    path.write_bytes(b"")
    with pytest.raises(UserError, match="文件是空的"):
        SessionFile.open(path)
    path.write_text("名称,日期\n")
    with pytest.raises(UserError, match="不是 inspect-tui 会话文件"):
        SessionFile.open(path)
    path.write_bytes(encode_line({"format": "something-else", "version": 1}))
    with pytest.raises(UserError, match="something-else"):
        SessionFile.open(path)


# --------------------------------------------------------------------------- full disk


def _fail_nth(monkeypatch: pytest.MonkeyPatch, name: str, n: int, *, partial: bool = False) -> None:
    real = getattr(os, name)
    count = {"n": 0}

    def fake(fd, *args):
        count["n"] += 1
        if count["n"] == n:
            if partial and name == "write":
                real(fd, bytes(args[0])[: len(args[0]) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd, *args)

    monkeypatch.setattr(os, name, fake)


SYNC = "fdatasync" if hasattr(os, "fdatasync") else "fsync"


@pytest.mark.parametrize(("name", "partial"), [("write", False), ("write", True), (SYNC, False)])
def test_full_disk_rolls_back_and_keeps_what_was_saved(path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        name: str, partial: bool) -> None:
    sf = make(path)
    sf.put(rec(3))
    size = path.stat().st_size
    _fail_nth(monkeypatch, name, 2, partial=partial)
    sf.put(rec(4))  # call 1 succeeds
    size = path.stat().st_size
    with pytest.raises(NotSavedError) as info:
        sf.put(rec(1, text="lost"))  # call 2 fails: an update of an existing record
    assert isinstance(info.value, OSError) and info.value.errno == errno.ENOSPC
    assert path.stat().st_size == size
    assert sf.get("r1")["text"] == "记录 1"
    with pytest.raises(NotSavedError):
        monkeypatch.undo()
        _fail_nth(monkeypatch, name, 1, partial=partial)
        sf.put(rec(5))  # a new record: must vanish from memory too
    assert sf.get("r5") is None and len(sf) == 5
    monkeypatch.undo()
    sf.put(rec(6))  # the disk has room again
    sf.close()
    meta, records, _ = read_session(path)
    assert [r["id"] for r in records] == ["r0", "r1", "r2", "r3", "r4", "r6"]
    assert records[1]["text"] == "记录 1"


# --------------------------------------------------------------------------- recovery


def test_recover_keeps_every_intact_line(path: Path, tmp_path: Path) -> None:
    with make(path) as sf:
        for i in range(3, 10):
            sf.put(rec(i))
    lines = lines_of(path)  # header, meta, records, log, r3..r9, ""
    rewrite_line(path, 6, lines[6][:-5] + b"XXXX}")  # line 7 (r5) damaged
    with open(path, "ab") as f:
        f.write(b'{"t":"rec')  # and a torn tail
    before = path.read_bytes()
    out = tmp_path / "new.session"
    report = recover(path, out)
    assert path.read_bytes() == before
    assert report.damaged_line == 7 and report.damaged_lines == (7,)
    assert report.kept == 9 and report.dropped == 2 and report.records == 9
    assert "第 7 行" in str(report)
    with SessionFile.open(out) as sf:
        assert sorted(r["id"] for r in sf.records()) == ["r0", "r1", "r2", "r3", "r4", "r6", "r7", "r8", "r9"]
    with pytest.raises(UserError, match="已存在"):
        recover(path, out)


def test_compacted_tables_are_chunked_so_damage_costs_one_chunk(path: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from inspect_tui.store import journal

    monkeypatch.setattr(journal, "CHUNK_DOCS", 4)
    make(path, n=10).close()
    lines = lines_of(path)  # header, meta, records ×3 chunks (4+4+2), log, seal, ""
    assert len(lines) == 8 and all(b'"t":"records"' in ln for ln in lines[2:5])
    assert [r["id"] for r in read_session(path)[1]] == [f"r{i}" for i in range(10)]
    rewrite_line(path, 3, lines[3].replace(b"r5", b"rX"))  # the second chunk: r4..r7
    report = recover(path, tmp_path / "out")
    assert report.damaged_lines == (4,) and report.records == 6
    assert sorted(r["id"] for r in read_session(tmp_path / "out")[1]) == ["r0", "r1", "r2", "r3", "r8", "r9"]


def test_recover_rebuilds_a_damaged_header(path: Path, tmp_path: Path) -> None:
    make(path).close()
    rewrite_line(path, 0, lines_of(path)[0].replace(b"created", b"creXted"))
    report = recover(path, tmp_path / "out")
    assert report.header_rebuilt and report.damaged_line is None and report.records == 3
    assert read_session(tmp_path / "out")[0] == META


def test_recover_refuses_foreign_files(path: Path, tmp_path: Path) -> None:
    path.write_text('{"_default": {}}')
    with pytest.raises(UserError, match="TinyDB"):
        recover(path, tmp_path / "out")


# --------------------------------------------------------------------------- compaction


def test_compaction_on_close_and_open(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sfm, "COMPACT_MIN_LINES", 20)
    with make(path) as sf:
        for i in range(40):
            sf.put(rec(i % 4, n=i))
        assert sf.journal_lines > 40
    assert len(lines_of(path)) == 6  # header + meta + records + log + seal + final newline
    (path.parent / f".{path.name}.tmp-123-dead").write_bytes(b"half a compaction")
    with SessionFile.open(path) as sf:
        assert sf.get("r3")["n"] == 39 and len(sf) == 4 and sf.journal_lines == 3
    assert not list(path.parent.glob(".*.tmp-*"))


def test_failed_compaction_keeps_the_journal(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sfm, "COMPACT_MIN_LINES", 5)
    monkeypatch.setattr(sfm, "COMPACT_FACTOR", 0)
    sf = make(path)
    for i in range(10):
        sf.put(rec(i))

    def no_space(*a):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", no_space)
    with pytest.warns(UserWarning, match="压缩会话文件失败"):
        sf.close()
    monkeypatch.undo()
    assert len(read_session(path)[1]) == 10
    assert not list(path.parent.glob(".*.tmp-*"))


# --------------------------------------------------------------------------- structure


def test_store_never_imports_textual() -> None:
    code = ("import sys, inspect_tui.store.session_file, inspect_tui.store.journal, inspect_tui.store.lock;"
            "print(any(m == 'textual' or m.startswith('textual.') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.stdout.strip() == "False"


def test_line_format() -> None:
    line = encode_line({"t": "records", "set": {"1": {"id": "甲"}}})
    assert line.endswith(b"}\n") and "甲".encode() in line
    body, _, crc = line.rstrip(b"\n").rpartition(b',"c":')
    assert zlib.crc32(body + b"}") == int(crc[:-1])
    assert decode_line(line.rstrip(b"\n")) == {"t": "records", "set": {"1": {"id": "甲"}}}
    assert decode_line(encode_line({}).rstrip(b"\n")) == {}


def test_paused_gc_nests_and_restores() -> None:
    import gc

    from inspect_tui.store.journal import paused_gc

    assert gc.isenabled()
    with paused_gc():
        assert not gc.isenabled()
        with paused_gc():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()  # was off before: stays off
    finally:
        gc.enable()


def test_a_lock_dropped_during_release_does_not_deadlock(tmp_path: Path) -> None:
    """Garbage collection can run a dropped lock's ``__del__`` while ``release`` holds the registry
    mutex on the same thread (seen as a hang of the whole suite)."""
    import threading

    from inspect_tui.store import lock as lock_mod

    a = lock_mod.SessionLock.acquire(tmp_path / "a.session")
    b = lock_mod.SessionLock.acquire(tmp_path / "b.session")
    done = threading.Event()

    def release_inside_release() -> None:
        with lock_mod._held_mutex:
            b.__del__()
        done.set()

    t = threading.Thread(target=release_inside_release, daemon=True)
    t.start()
    t.join(10)
    assert done.is_set(), "releasing a lock from inside release() deadlocked"
    assert not b.held and not (tmp_path / ".b.session.lock").exists()
    a.release()
    lock_mod.SessionLock.acquire(tmp_path / "b.session").release()


def test_a_file_that_cannot_be_written_says_so_and_opens_read_only(path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    make(path).close()
    before = path.read_bytes()

    def read_only_media(p: Path) -> int:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(sfm, "_open_append", read_only_media)  # what a write-protected USB stick answers
    with pytest.raises(sfm.NotWritableError, match="无法以写入方式打开：Read-only file system"):
        SessionFile.open(path)
    with SessionFile.open(path, readonly=True) as ro:
        assert len(ro) == 3 and ro.readonly
        with pytest.raises(PermissionError):
            ro.put(rec(9))
    assert path.read_bytes() == before
    SessionLock.acquire(path).release()  # the refused open let go of its lock


def test_a_pipe_given_as_a_session_file_is_refused_not_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.session"
    os.mkfifo(fifo)
    for readonly in (True, False):
        with pytest.raises(UserError, match="不是普通文件"):
            SessionFile.open(fifo, readonly=readonly)
    with pytest.raises(UserError, match="不是普通文件"):
        read_session(fifo)


def test_a_file_put_in_place_of_the_locked_one_is_not_written(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two creators of one new file: the one whose file was replaced by the other's must not go on
    to append to the other's (locked) file."""
    real_load = sfm._load

    def load_then_replaced(p, *a, **kw):
        out = real_load(p, *a, **kw)
        write_session(path.with_name("other.session"), META, [rec(9)], [])
        os.replace(path.with_name("other.session"), path)  # the other creator's rename lands now
        return out

    monkeypatch.setattr(sfm, "_load", load_then_replaced)
    with pytest.raises(UserError, match="被另一个程序替换") as info:
        make(path)
    assert info.value.hint == "请稍后再试。"
    monkeypatch.undo()
    assert [r["id"] for r in read_session(path)[1]] == ["r9"]
    SessionFile.open(path).close()  # and nothing is left locked

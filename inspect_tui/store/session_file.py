"""The session file: one inspector's meta, records and log, durable on every write.

On disk it is a journal (see ``journal.py``, ``lines.py`` and docs/session-format.md): a header
line ``{"format": "inspect-tui-session", "version": 2, "id": ...}`` followed by one checksummed,
chained line per committed change, and a seal line once the file is closed cleanly. TinyDB (``JournalDB``) is the layer this class talks to; three tables:

* ``meta``    — a single document (doc id 1): the session's metadata;
* ``records`` — one document per record, each with a string ``"id"``; an in-memory index maps
  ``id`` to TinyDB's doc id so ``get``/``put`` never scan;
* ``log``     — append-only entries.

Every write returns only after ``fsync``. A write that fails (disk full, I/O error) raises
``NotSavedError`` (an ``OSError``) and leaves both the file and the in-memory state as they were.
Opening for writing takes a lock (``lock.py``); read-only opens take none.

Damage is never "repaired" silently: a complete line that fails its checksum stops the open with a
message naming the line, and ``integrity.recover`` (``inspect-tui session recover FILE -o NEW``)
copies the intact changes into a new file. Only a torn last line — a write that never
returned — is dropped, because no one was ever told it had been saved.

Versions: the header's ``version`` is the format version. A newer one is refused; an older one is
brought up to date by the functions in ``MIGRATIONS`` (``session_format``, with the header and
reading rules): a read-only open converts in memory, the
first writable open rewrites the file in the current format and keeps the original as
``NAME.vN.bak``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import warnings
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from inspect_tui.errors import UserError, file_error, os_reason
from inspect_tui.store.journal import (
    O_BINARY,
    JournalDB,
    JournalStorage,
    NotSavedError,
    journal_chunks,
    paused_gc,
    write_atomic,
)
from inspect_tui.store.lines import Chain, RawTexts
from inspect_tui.store.lock import SessionLock
from inspect_tui.store.replay import JournalError, Replay, Tables, replay
from inspect_tui.store.session_format import (
    CHAINED_SINCE,
    FORMAT,
    FORMAT_VERSION,
    MIGRATIONS,
    CorruptSessionError,
    NotWritableError,
    _corrupt,
    _header,
    _now,
    _read_bytes,
    chain_after_header,
    migrate,
    new_file_id,
    parse_header,
)

__all__ = [
    "FORMAT", "FORMAT_VERSION", "CorruptSessionError", "MIGRATIONS", "NotSavedError", "NotWritableError",
    "SessionFile", "read_session", "write_session",
]

#: Compact when the journal has more than ``COMPACT_FACTOR * docs + COMPACT_MIN_LINES`` lines.
COMPACT_FACTOR = 2
COMPACT_MIN_LINES = 1000

META, RECORDS, LOG = "meta", "records", "log"
_META_ID = 1

def _clone(obj: Any) -> Any:
    """Deep copy of JSON data (dicts and lists); much faster than ``copy.deepcopy``."""
    if isinstance(obj, dict):
        return {k: _clone(v) if isinstance(v, (dict, list)) else v for k, v in obj.items()}
    if isinstance(obj, list):
        return [_clone(v) if isinstance(v, (dict, list)) else v for v in obj]
    return obj


def _json_copy(obj: Any, what: str) -> dict:
    """A private copy of ``obj`` exactly as it will read back from the file (tuples become lists);
    refuses what JSON cannot store at all. NaN and infinities pass here and are refused by the
    journal's encoder, which runs before anything touches the disk."""
    if not isinstance(obj, dict):
        raise TypeError(f"{what} must be a dict, not {type(obj).__name__}")
    return json.loads(json.dumps(obj))


def _record_copy(doc: Any) -> dict:
    out = _json_copy(doc, "record")
    if not isinstance(out.get("id"), str) or not out["id"]:
        raise ValueError('a record needs a non-empty string "id"')
    return out


def _check_dict(obj: Any, what: str) -> dict:
    if not isinstance(obj, dict):
        raise TypeError(f"{what} must be a dict, not {type(obj).__name__}")
    return obj


def _build_tables(meta: dict, records: Iterable[dict], log: Iterable[dict]) -> Tables:
    """Tables for a new file, checked but *not* copied: the callers (``create``, ``write_session``)
    only serialise them (``_encode_new``) and drop them, so a private copy — a JSON round trip of
    every record, most of a 50k-record write — would buy nothing. What JSON cannot store is refused
    by ``_encode_new``, still before anything touches the disk."""
    recs: dict[str, dict] = {}
    seen: set[str] = set()
    for doc in records:
        rid = _check_dict(doc, "record").get("id")
        if not isinstance(rid, str) or not rid:
            raise ValueError('a record needs a non-empty string "id"')
        if rid in seen:
            raise ValueError(f"duplicate record id {rid!r}")
        seen.add(rid)
        recs[str(len(recs) + 1)] = doc
    logs = {str(i): _check_dict(e, "log entry") for i, e in enumerate(log, 1)}
    return {META: {str(_META_ID): _check_dict(meta, "meta")}, RECORDS: recs, LOG: logs}


def _encode_new(tables: Tables, header: dict | None = None, raws: RawTexts | None = None) -> list[bytes]:
    """The whole compacted journal of a new file, serialised once, in memory: a value JSON cannot
    store (``TypeError``, or ``ValueError`` for NaN) is refused here, before any file is created.
    Documents in ``raws`` (read from another file, unchanged) are written as the text they were read
    from (``journal_chunks``)."""
    return list(journal_chunks(header or _header(), tables, raws))


TORN_HINT = ("先用 inspect-tui session check 查看。若是拷贝不完整，请重新拷贝原文件；若确是本机程序崩溃所致，"
             "用 inspect-tui session recover 文件 -o 新文件 写出其中全部完好的内容，再打开新文件继续。")


class UncleanSessionWarning(UserWarning):
    """A session file opened though it was not closed cleanly (no seal, or a torn last write).

    Opening drops a torn last write and a writable open seals the file again on close, as crash
    recovery must; but a copy cut short reads exactly like that, as a shorter valid session. So the
    user is told which file and what was found: the CLI prints it (``cli.main``), the app shows it."""


def _unclean(path: Path, r: Replay, version: int, *, writable: bool) -> str | None:
    """What was found, when ``path`` was not closed cleanly (warned, and kept as ``SessionFile.unclean``)."""
    if r.sealed or version < CHAINED_SINCE:
        return None
    from inspect_tui.store.integrity import State, judge

    found = judge(path, r)
    if writable:  # the lock it found is our own
        found.writer = None
        if found.state is State.OPEN:
            found.state = State.UNSEALED
    if found.state not in (State.UNSEALED, State.TORN):
        return None
    warnings.warn(UncleanSessionWarning(f"{path}: {found.describe()}"), stacklevel=3)
    return found.describe()


def _load(path: Path, raws: RawTexts | None = None, data: bytes | None = None) -> tuple[Replay, int]:
    """Read (unless the caller already has its ``data``) and replay ``path``; returns the replay and
    the file's original format version. ``raws`` collects the JSON text of record documents (for
    ``_write_session``)."""
    if data is None:
        data = _read_bytes(path)
    header, start = parse_header(path, data)
    chain = chain_after_header(header, data, start)
    try:
        with paused_gc():
            r = replay(data, header, start, raws=raws, raw_table=RECORDS, chain=chain)
    except JournalError as exc:
        raise _corrupt(path, exc.line, exc.reason) from None
    r.tables = migrate(r.tables, header["version"])
    return r, header["version"]


def _index(path: Path, records: dict[str, dict]) -> dict[str, int]:
    index: dict[str, int] = {}
    for key, doc in records.items():
        rid = doc.get("id")
        if not isinstance(rid, str):
            raise file_error(path, f"记录（文档 {key}）缺少字符串 id")
        if rid in index:
            raise file_error(path, f"记录 id {rid!r} 出现了两次（文档 {index[rid]} 和 {key}）")
        index[rid] = int(key)
    return index


def _doc_count(tables: Tables) -> int:
    return sum(len(t) for t in tables.values())


def _worth_compacting(lines: int, tables: Tables) -> bool:
    return lines > COMPACT_FACTOR * _doc_count(tables) + COMPACT_MIN_LINES


def _remove_stale_temps(path: Path) -> None:
    path = Path(os.path.realpath(path))  # temporary files are written beside the real file
    for p in path.parent.glob(f".{path.name}.tmp-*"):
        with contextlib.suppress(OSError):
            p.unlink()


def _open_append(path: Path) -> int:
    return os.open(path, os.O_RDWR | os.O_APPEND | O_BINARY)


# --------------------------------------------------------------------------- the class


class SessionFile:
    """One open session file: meta doc + record docs + a log, durable on every write."""

    path: Path
    readonly: bool
    last_saved: datetime | None

    def __init__(self, path: Path, storage: JournalStorage, lock: SessionLock | None, header: dict) -> None:
        self.path = path
        self.readonly = lock is None
        self.last_saved = None
        self.header = header
        self._storage = storage
        self._lock = lock
        self._mutex = threading.RLock()
        self._closed = False
        #: How the file was found if it was not closed cleanly (``_unclean``), else None.
        self.unclean: str | None = None
        #: The TinyDB instance underneath (tables "meta", "records", "log"). Reading through it is fine;
        #: writing records through it bypasses the id index — use ``put``.
        self.db = JournalDB(storage)
        self._meta = self.db.table(META)
        self._records = self.db.table(RECORDS)
        self._log = self.db.table(LOG)
        self._index = _index(path, storage.tables.get(RECORDS, {}))

    # -- opening
    @classmethod
    def create(cls, path: str | Path, meta: dict, records: Iterable[dict] = (), log: Iterable[dict] = (),
               *, force: bool = False) -> SessionFile:
        """Write a new session atomically and return it open for writing (locked)."""
        path = Path(path)
        chunks = _encode_new(_build_tables(meta, records, log))
        lock = SessionLock.acquire(path)
        try:
            _write_new(path, chunks, force=force, lock=lock)
            return cls._open_locked(path, lock)
        except BaseException:
            lock.release()
            raise

    @classmethod
    def open(cls, path: str | Path, *, readonly: bool = False, drop_torn: bool = False) -> SessionFile:
        """Open ``path``; for writing, only with ``drop_torn`` when its last write is torn. The first
        write cuts such a tail off for good — right after a crash, wrong for a copy cut short, whose
        tail is records the other copy still has, and the two cannot be told apart. So a plain open
        refuses (``NotWritableError``: the app then opens it read-only, a command says how to go on)."""
        path = Path(path)
        if readonly:
            r, version = _load(path)
            unclean = _unclean(path, r, version, writable=False)
            sf = cls(path, JournalStorage(path, r, fd=None), None, r.header)
            sf.unclean = unclean
            return sf
        if not path.exists():
            raise file_error(path, "会话文件不存在")
        lock = SessionLock.acquire(path)
        try:
            return cls._open_locked(path, lock, drop_torn=drop_torn)
        except BaseException:
            lock.release()
            raise

    @classmethod
    def of_bytes(cls, path: Path, data: bytes) -> SessionFile:
        """The session in ``data``, the bytes of ``path`` already read, read-only (and not judged
        for a clean close: ``open`` warns of that)."""
        r, _version = _load(path, data=data)
        return cls(path, JournalStorage(path, r, fd=None), None, r.header)

    @classmethod
    def _open_locked(cls, path: Path, lock: SessionLock, *, drop_torn: bool = True) -> SessionFile:
        _remove_stale_temps(path)
        r, version = _load(path)
        if r.torn_bytes and not drop_torn:
            raise NotWritableError(path, f"文件末尾有 {r.torn_bytes} 字节未完成的写入（拷贝被截断、程序崩溃或磁盘写满？），"
                                         "写入会永久丢弃它们；未做任何修改", hint=TORN_HINT)
        if not os.access(path, os.W_OK):
            raise NotWritableError(path, "文件或其所在的介质是只读的")
        unclean = _unclean(path, r, version, writable=True)
        header = r.header
        try:
            if version < FORMAT_VERSION:
                header = _migrate_on_disk(path, r, version, lock)
                r, _ = _load(path)
            fd = _open_append(path)
        except OSError as exc:
            raise NotWritableError(path, exc.strerror or str(exc)) from None
        if not lock.guards(fd):  # another process put a file of its own there since we locked
            os.close(fd)
            raise UserError(f"{path}: 文件在打开过程中被另一个程序替换，未打开", hint="请稍后再试。")
        storage = JournalStorage(path, r, fd=fd)
        try:
            sf = cls(path, storage, lock, header)
            sf.unclean = unclean
            sf._compact_if_worthwhile()
            storage.unseal()
        except NotSavedError as exc:
            storage.close()
            raise NotWritableError(path, exc.strerror or str(exc)) from None
        except BaseException:
            storage.close()
            raise
        return sf

    # -- reading
    @property
    def meta(self) -> dict:
        """The single meta document (a copy)."""
        with self._mutex:
            doc = self._storage.tables.get(META, {}).get(str(_META_ID))
            return _clone(doc) if doc is not None else {}

    def get(self, record_id: str) -> dict | None:
        with self._mutex:
            doc_id = self._index.get(record_id)
            return None if doc_id is None else _clone(self._storage.tables[RECORDS][str(doc_id)])

    def records(self, *, copy: bool = True) -> list[dict]:
        """All record docs. ``copy=False`` hands out the store's own documents, for a caller that
        only reads them (building an index on open): copying 25k records costs more than reading."""
        with self._mutex:
            docs = self._storage.tables.get(RECORDS, {}).values()
            return [_clone(doc) for doc in docs] if copy else list(docs)

    def __len__(self) -> int:
        return len(self._records)

    def __contains__(self, record_id: object) -> bool:
        return record_id in self._index

    def log(self) -> list[dict]:
        with self._mutex:
            return [_clone(doc) for doc in self._storage.tables.get(LOG, {}).values()]

    # -- writing (each call is durable when it returns)
    def set_meta(self, meta: dict) -> None:
        meta = _json_copy(meta, "meta")
        with self._mutex:
            self._check_writable()
            self._meta.set_docs({_META_ID: meta})
            self._saved()

    def put(self, doc: dict) -> None:
        self.put_many((doc,))

    def put_many(self, docs: Iterable[dict]) -> None:
        """Upsert records keyed by ``doc["id"]`` (the last one wins within a batch); one fsync."""
        batch: dict[str, dict] = {}
        for doc in docs:
            doc = _record_copy(doc)
            batch[doc["id"]] = doc
        if not batch:
            return
        with self._mutex:
            self._check_writable()
            ids: dict[str, int] = {}
            for rid in batch:
                known = self._index.get(rid)
                ids[rid] = known if known is not None else self._records.next_id()
            self._records.set_docs({ids[rid]: doc for rid, doc in batch.items()})
            self._index.update(ids)
            self._saved()

    def append_log(self, entry: dict) -> None:
        entry = _json_copy(entry, "log entry")
        with self._mutex:
            self._check_writable()
            self._log.insert(entry)
            self._saved()

    def _check_writable(self) -> None:
        if self._closed:
            raise ValueError(f"{self.path}: 会话文件已关闭")
        if self.readonly:
            raise PermissionError(f"{self.path}: 会话文件以只读方式打开，不能保存")

    def _saved(self) -> None:
        self.last_saved = _now()

    # -- housekeeping
    @property
    def journal_lines(self) -> int:
        """Committed change lines in the file (for tests and the benchmark)."""
        return self._storage.lines

    @property
    def sealed(self) -> bool:
        """Whether the file on disk ends with its seal (it does once closed cleanly)."""
        return self._storage.sealed

    def compact(self) -> None:
        """Rewrite the journal as a compact journal (atomic); the lock follows the new file. It is
        written sealed, and the seal is cut off again at once, since the file is still open."""
        with self._mutex:
            self._check_writable()
            header = dict(self.header, id=new_file_id(), compacted=_now().isoformat(timespec="seconds"))
            end: list[Chain] = []
            size = write_atomic(self.path, journal_chunks(header, self._storage.tables, end=end), lock=self._lock)
            [state] = end
            seal = len(state.copy().seal())
            self._storage.reopen(_open_append(self.path), size - seal, state.n - 2, state)
            self.header = header
            self._storage.unseal()

    def _compact_if_worthwhile(self) -> None:
        """Compact when the journal has grown well beyond its documents — unless the file has other
        hard links, which replacing it would split into two files."""
        if not _worth_compacting(self._storage.lines, self._storage.tables):
            return
        try:
            if os.stat(self.path).st_nlink == 1:
                self.compact()
        except OSError as exc:  # the journal is still whole; compaction can wait
            warnings.warn(f"{self.path}: 压缩会话文件失败（{exc}），文件保持原样", stacklevel=2)

    def close(self, *, sealed: Callable[[], None] | None = None) -> None:
        """Compact if worthwhile, seal the file (a clean close), release the lock. Idempotent. A
        seal that cannot be written (disk full) leaves the file whole but not closed cleanly.
        ``sealed`` runs on the final bytes while the lock still keeps every other writer out."""
        with self._mutex:
            if self._closed:
                return
            try:
                if not self.readonly:
                    self._compact_if_worthwhile()
                    try:
                        self._storage.seal()
                    except OSError as exc:
                        warnings.warn(f"{self.path}: 无法写入封存行（{exc}），文件完整但未封存", stacklevel=2)
                if sealed is not None:
                    sealed()
            finally:
                self._closed = True
                self._storage.close()
                if self._lock is not None:
                    self._lock.release()

    def __enter__(self) -> SessionFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        mode = "readonly" if self.readonly else "writable"
        return f"<SessionFile {str(self.path)!r} {mode} records={len(self._index)}>"


# --------------------------------------------------------------------------- whole-file helpers


def _write_new(path: Path, chunks: list[bytes], *, force: bool, lock: SessionLock) -> None:
    """Write an encoded new file (``_encode_new``) atomically: temp file, fsync, rename, dir fsync;
    the new file is locked by ``lock`` before it appears."""
    if path.exists() and not force:
        raise file_error(path, "文件已存在", hint="如确需覆盖，请使用 --force。")
    if not path.parent.is_dir():
        raise file_error(path, f"文件夹 {path.parent} 不存在")
    try:
        write_atomic(path, chunks, lock=lock)
    except PermissionError as exc:
        raise file_error(path, f"无法写入：{os_reason(exc)}") from None
    except OSError as exc:
        raise NotSavedError(exc.errno, f"未保存：{exc.strerror}", str(path)) from exc


def _migrate_on_disk(path: Path, r: Replay, version: int, lock: SessionLock) -> dict:
    """Keep the old file as ``NAME.vN.bak`` and write the migrated tables in the current format."""
    backup = path.with_name(f"{path.name}.v{version}.bak")
    n = 1
    while backup.exists():
        n += 1
        backup = path.with_name(f"{path.name}.v{version}.{n}.bak")
    write_atomic(backup, [path.read_bytes()])
    header = _header(migrated_from=version, created=r.header.get("created"))
    write_atomic(path, journal_chunks(header, r.tables), lock=lock)
    return header


def read_session(path: str | Path) -> tuple[dict, list[dict], list[dict]]:
    """Meta, records and log of a session file; read-only, no lock.

    The same checks as ``SessionFile.open(readonly=True)`` (header, every line's checksum, record
    ids), but the documents are handed over as parsed instead of deep-copied: nothing else holds
    them once the file is read, and copying was a third of reading a 50k-record merge."""
    meta, records, log, _ = _read_session(Path(path), None)
    return meta, records, log


def _read_session(path: Path, raws: RawTexts | None,
                  data: bytes | None = None) -> tuple[dict, list[dict], list[dict], Replay]:
    """``read_session``; with ``raws`` (a dict to fill) also the JSON text of the record documents,
    for writing them back unchanged with ``_write_session`` (the leader's merge). The ``Replay``
    says how the file ends (sealed, torn tail)."""
    r, version = _load(path, raws, data)
    if version < FORMAT_VERSION and raws:  # migrated documents are not the text that was read
        raws.clear()
    records = r.tables.get(RECORDS, {})
    _index(path, records)
    meta = r.tables.get(META, {}).get(str(_META_ID))
    return meta if meta is not None else {}, list(records.values()), list(r.tables.get(LOG, {}).values()), r


def write_session(path: str | Path, meta: dict, records: Iterable[dict], log: Iterable[dict],
                  *, force: bool = False) -> None:
    """Write a whole session atomically. An existing file is refused unless ``force``; a file that
    another process has open for writing is always refused (its writes would land in the old file).
    The documents are checked and serialised once (``_build_tables``, ``_encode_new``), then written
    as a compacted journal with fsync, ``os.replace`` and a folder fsync (``write_atomic``)."""
    _write_session(Path(path), meta, records, log, force=force)


def _write_session(path: Path, meta: dict, records: Iterable[dict], log: Iterable[dict], *, force: bool,
                   raws: RawTexts | None = None, lock: SessionLock | None = None) -> str:
    """``write_session``; record documents found in ``raws`` — the very objects ``_read_session``
    parsed, which the caller has not changed — are written as the text they were read from. The
    file is written under ``lock`` (held by the caller since it read the old file), or a lock taken
    here. Returns the SHA-256 of the bytes written (the merge keys the output's report digest by
    it without reading the file back)."""
    chunks = _encode_new(_build_tables(meta, records, log), raws=raws)
    if lock is not None:
        _write_new(path, chunks, force=force, lock=lock)
    else:
        with SessionLock.acquire(path) as own:
            _write_new(path, chunks, force=force, lock=own)
    sha = hashlib.sha256()
    for chunk in chunks:
        sha.update(chunk)
    return sha.hexdigest()

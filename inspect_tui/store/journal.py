"""TinyDB on an append-only, checksummed JSON-Lines journal.

Why not stock TinyDB? Its ``JSONStorage`` rewrites the whole file on every write (a crash mid-way
leaves a truncated file; tinydb #301, #461) and its ``Table._update_table`` re-reads every table,
rebuilds the written table's dict and hands the whole database to ``Storage.write`` — O(table size)
per save. This module keeps TinyDB as the layer the app talks to and replaces what lies under it:

* ``JournalStorage`` holds the tables in memory and makes each change durable by appending one line
  and ``fsync``-ing before it returns. Line 1 of the file is a header; every further line is one
  committed change ``{"t": table, "set": {doc_id: doc}, "del": [doc_id], "clear": true, ...}``,
  checksummed and chained to the line before it (``lines.py``); a clean close appends the seal.
  Lines carrying ``"more": true`` belong to the same commit as the line after them (a multi-table
  write); a commit counts only once its last line is complete.
* ``JournalTable`` overrides ``_update_table``: the updater runs against ``_Tracker``, a mapping over
  the *live* in-memory table that remembers the original value of every key it touches. Only the
  touched documents are journaled; if the updater or the append fails the tracker puts every touched
  key back, so memory always matches the file.
* ``replay.py`` rebuilds the tables from the file and says how it ends (sealed, torn).

Nothing here knows about sessions, records or versions; ``session_file`` does.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import json
import os
import secrets
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tinydb import TinyDB
from tinydb.storages import Storage
from tinydb.table import Table

from inspect_tui.store.lines import Chain, RawTexts, _dumps, encode_line
from inspect_tui.store.replay import Replay, Tables

if TYPE_CHECKING:
    from inspect_tui.store.lock import SessionLock

_MISSING: Any = object()
O_BINARY = getattr(os, "O_BINARY", 0)


class NotSavedError(OSError):
    """A write did not reach the disk; memory and file are both as they were before it."""


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Suspend the cyclic garbage collector while a large journal is parsed or built.

    Why: the collector runs after every ~700 net container allocations, and its older generations
    walk *every* live container. Parsing a 2 MB change line creates tens of thousands of dicts, so
    collections fired during it — which cannot free anything, JSON data has no cycles — took two
    thirds of the time (0.7 s of 1.05 s for ten 5k-record files). Reference counting still frees
    everything as usual; only the cycle search waits. Nests, and restores the previous state."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# --------------------------------------------------------------------------- files


def fsync_dir(directory: Path) -> None:
    """Make a rename in ``directory`` durable (no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def sync_file(fd: int) -> None:
    """Make what was written to ``fd`` durable. ``fdatasync`` where there is one: it flushes the data
    and the metadata needed to read it back (the new file size) but skips timestamps, which halves
    the cost of an append here. macOS needs ``F_FULLFSYNC`` to get past the drive's cache."""
    if sys.platform == "darwin":  # pragma: no cover
        import fcntl

        fcntl.fcntl(fd, fcntl.F_FULLFSYNC)
    elif hasattr(os, "fdatasync"):
        os.fdatasync(fd)
    else:  # pragma: no cover - Windows
        os.fsync(fd)


def _write_all(fd: int, payload: bytes) -> None:
    view = memoryview(payload)
    while view:
        n = os.write(fd, view)
        if n <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        view = view[n:]


def temp_name(path: Path, tag: str = "tmp") -> Path:
    return path.with_name(f".{path.name}.{tag}-{os.getpid()}-{secrets.token_hex(4)}")


def write_atomic(path: Path, chunks: Iterable[bytes], lock: SessionLock | None = None) -> int:
    """Write ``chunks`` to a temp file beside ``path``, fsync, ``os.replace``, fsync the folder.
    Returns the size written. The old file (if any) stays whole until the swap. A symbolic link is
    followed: its target is replaced, not the link. With ``lock`` (held on the old file, or on a
    path with no file yet) the new file is locked *before* it takes the old one's place, and the
    lock then follows it: no moment exists at which the path names an unlocked file."""
    path = Path(os.path.realpath(path))
    tmp = temp_name(path)
    try:
        mode = os.stat(path).st_mode & 0o777
    except OSError:
        mode = 0o644
    fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | O_BINARY, mode)
    size = 0
    try:
        try:
            for chunk in chunks:
                _write_all(fd, chunk)
                size += len(chunk)
            sync_file(fd)
            if lock is not None:
                lock.hold_next(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException as exc:
        if lock is not None:
            lock.drop_next()
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.filename is None:
            exc.filename = str(path)  # a failed write knows only its fd; the user needs the path
        raise
    if lock is not None:
        lock.move_to_next()
    fsync_dir(path.parent)
    return size


def temp_beside(target: Path) -> tuple[int, str]:
    """A new temporary file beside ``target`` (same suffix, so a leftover still opens in the right
    program), open for writing: its descriptor and path. Created 0666 less the umask, the mode a
    plain ``open`` gives — not ``mkstemp``'s 0600: a PDF or a workbook is for others to read."""
    while True:
        tmp = str(target.parent / f".part-{secrets.token_hex(6)}{target.suffix}")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | O_BINARY, 0o666), tmp
        except FileExistsError:
            continue


def replace_file(target: Path, data: bytes) -> None:
    """Write a whole file that is not a session (a photo, a PDF, a workbook, a digest): temp file
    beside it, fsync, ``os.replace``, fsync the folder. A symlink at ``target`` is replaced, not
    followed; the temp file keeps the suffix, so a leftover still opens in the right program."""
    fd, tmp = temp_beside(target)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)


CHUNK_DOCS = 256


def journal_chunks(header: dict, tables: Tables, raws: RawTexts | None = None, *,
                   end: list[Chain] | None = None) -> Iterator[bytes]:
    """A compact, sealed format-2 journal: the header, then ``set`` lines of at most ``CHUNK_DOCS``
    documents per table — bounded lines, so one damaged byte costs a recovery at most one chunk,
    not the table — then the seal. A document found in ``raws`` (the very object, read by
    ``_scan_set``) is written as the text it was read from. ``end``, if given, receives where the
    next change goes once the journal is written (before the seal, which the next append replaces)."""
    first = encode_line(header)
    yield first
    chain = Chain.after_header(header, first)
    for name, table in tables.items():
        items = list(table.items())
        for i in range(0, len(items), CHUNK_DOCS) or range(1):  # an empty table still gets its line
            chunk = dict(items[i:i + CHUNK_DOCS])
            if raws:
                yield from _set_line(name, chunk, raws, chain)
            else:
                yield chain.encode({"t": name, "set": chunk})
    if end is not None:
        end.append(chain.copy())
    yield chain.seal()


def _set_line(name: str, table: Mapping[str, dict], raws: RawTexts, chain: Chain) -> list[bytes]:
    """``chain.encode({"t": name, "set": table})``, in pieces, with the documents' JSON text taken
    from ``raws`` where it is there (the same bytes when that text came from this encoder). If
    ``NaN`` or ``Infinity`` shows up (``json.loads`` accepts them, the journal refuses them) the
    whole line is encoded again, so exactly the same documents are refused as by ``encode``."""
    if not all(type(k) is str for k in table):
        return [chain.encode({"t": name, "set": table})]
    get, key_text = raws.get, json.encoder.encode_basestring  # how dumps spells a str key
    docs = ",".join([f"{key_text(key)}:{e[1] if (e := get(id(doc))) is not None and e[0] is doc else _dumps(doc)}"
                     for key, doc in table.items()]).encode("utf-8")
    if b"NaN" in docs or b"Infinity" in docs:
        return [chain.encode({"t": name, "set": table})]
    head = b'{"t":' + _dumps(name).encode("utf-8") + b',"set":{'
    crc = zlib.crc32(b"}", zlib.crc32(docs, zlib.crc32(head)))  # the line's checksum up to the chain
    return [head, docs, chain.close(b"}", crc)]


# --------------------------------------------------------------------------- storage


class JournalStorage(Storage):
    """TinyDB storage: tables in memory, each write appended to the journal and fsynced.

    ``fd`` is ``None`` for a read-only storage. ``valid_size`` is where the last complete commit ends;
    anything after it (a torn write, or the seal of a cleanly closed file) is cut off before the next
    append, which continues the chain from the last commit. ``seal`` ends the file on a clean close.
    """

    def __init__(self, path: Path, r: Replay, *, fd: int | None) -> None:
        if fd is not None and r.chain is None:  # pragma: no cover - callers migrate first
            raise ValueError("only a format-2 journal can be written")
        self.path = Path(path)
        self._tables = r.tables
        self._fd = fd
        self._size = r.valid_size
        self._tail_dirty = r.file_size != r.valid_size
        self._open_newline = r.open_newline
        self._chain = r.chain
        self.sealed = r.sealed
        self.lines = r.lines
        self._broken: str | None = None

    # -- TinyDB's interface
    def read(self) -> Tables:
        # A shallow copy of the top level: TinyDB's drop_table() deletes from what read() returned
        # before calling write(); the table dicts themselves are the live ones.
        return dict(self._tables)

    def write(self, data: Mapping[str, Mapping[str, Mapping]]) -> None:
        """Whole-database write, used only by TinyDB calls we do not override (drop_table(s)) or by
        a stock ``Table``: every table whose dict is not our live one is rewritten in full."""
        changes: list[dict] = []
        new_tables: Tables = {}
        for name, table in data.items():
            if table is self._tables.get(name):
                new_tables[name] = self._tables[name]
                continue
            fresh = {str(k): dict(v) for k, v in table.items()}
            new_tables[name] = fresh
            changes.append({"t": name, "clear": True, "set": fresh})
        changes += [{"t": name, "drop": True} for name in self._tables if name not in data]
        if changes:
            self.append(changes)
        self._tables.clear()
        self._tables.update(new_tables)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    # -- ours
    @property
    def tables(self) -> Tables:
        """The live tables (do not modify)."""
        return self._tables

    @property
    def readonly(self) -> bool:
        return self._fd is None

    @property
    def size(self) -> int:
        return self._size

    def live_table(self, name: str) -> tuple[dict[str, dict], bool]:
        """The live dict of table ``name`` and whether it was created just now."""
        table = self._tables.get(name)
        if table is not None:
            return table, False
        table = self._tables[name] = {}
        return table, True

    def forget_table(self, name: str) -> None:
        """Undo ``live_table`` creating ``name``."""
        del self._tables[name]

    def append(self, changes: list[dict]) -> None:
        """Append one commit (one or more change lines) and fsync. On any failure the file is cut
        back to its previous size and ``NotSavedError`` (an ``OSError``) is raised."""
        chain = self._writable_chain()
        last = len(changes) - 1
        payload = b"".join(chain.encode({**c, "more": True} if i < last else c)
                           for i, c in enumerate(changes))  # TypeError/ValueError before any I/O
        self._write(payload)  # cuts off a seal first: no longer sealed
        self._size += len(payload) + self._open_newline
        self._open_newline = False
        self._chain = chain
        self.lines += len(changes)

    def seal(self) -> None:
        """Mark a clean close: append the seal line (the line count and chain head). The seal is
        not a commit: a later append cuts it off and continues the chain where it stood."""
        if self.sealed:
            return
        chain = self._writable_chain()
        self._write(chain.seal())
        self._tail_dirty = True
        self._open_newline = False
        self.sealed = True

    def unseal(self) -> None:
        """Cut off whatever follows the last commit — the seal, or a torn write — now rather than at
        the first save: a writable open does this, so the file says "not closed cleanly" for as
        long as a writer has it (a copy taken meanwhile is not sealed) and every save stays one
        append and one flush."""
        if self._tail_dirty:
            self._write()

    def _writable_chain(self) -> Chain:
        if self._fd is None:
            raise PermissionError(errno.EBADF, "会话文件以只读方式打开，不能保存", str(self.path))
        if self._broken:
            raise NotSavedError(errno.EIO, f"未保存：{self._broken}", str(self.path))
        assert self._chain is not None  # a writable storage has one (__init__)
        return self._chain.copy()

    def _write(self, payload: bytes = b"") -> None:
        """Write ``payload`` after the last commit (cutting off whatever follows it, adding the
        newline a kept last line lacked) and flush it to the disk."""
        fd = self._fd
        assert fd is not None
        try:
            if self._tail_dirty:
                os.ftruncate(fd, self._size)
                sync_file(fd)
                self._tail_dirty = False
                self.sealed = False
            if payload:
                _write_all(fd, b"\n" + payload if self._open_newline else payload)
                sync_file(fd)
        except BaseException as exc:
            self._cut_back()
            if isinstance(exc, OSError):
                raise NotSavedError(exc.errno or errno.EIO, f"未保存：{exc.strerror or exc}",
                                    str(self.path)) from exc
            raise

    def _cut_back(self) -> None:
        try:
            os.ftruncate(self._fd, self._size)
        except OSError as exc:
            self._broken = f"写入失败后无法恢复文件长度（{exc.strerror}），请重新打开会话"
            return
        with contextlib.suppress(OSError):
            sync_file(self._fd)

    def reopen(self, fd: int, size: int, lines: int, chain: Chain) -> None:
        """Switch to a freshly written, sealed file (after compaction); ``size`` is where its seal
        starts."""
        old, self._fd = self._fd, fd
        if old is not None:
            os.close(old)
        self._size, self.lines, self._chain, self._broken = size, lines, chain, None
        self._tail_dirty = self.sealed = True
        self._open_newline = False


# --------------------------------------------------------------------------- table


class _Tracker(MutableMapping):
    """The mapping an updater sees: int keys over the live table's str keys. Remembers the original
    value of each key it touches so the change can be journaled — or undone."""

    __slots__ = ("_live", "_orig", "_orig_json", "_cleared")

    def __init__(self, live: dict[str, dict]) -> None:
        self._live = live
        self._orig: dict[str, Any] = {}
        self._orig_json: dict[str, str] = {}  # keys read (maybe mutated in place): their JSON then
        self._cleared = False

    def _touch(self, k: str) -> None:
        if k not in self._orig:
            self._orig[k] = self._live.get(k, _MISSING)

    def __getitem__(self, key: Any) -> dict:
        k = str(key)
        doc = self._live[k]
        if k not in self._orig:
            # Hand out a private copy: the updater may mutate it in place (``update()`` does), and
            # the original must survive for a rollback. Unchanged copies are not journaled.
            self._orig[k] = doc
            s = self._orig_json[k] = _dumps(doc)
            doc = self._live[k] = json.loads(s)
        return doc

    def __setitem__(self, key: Any, value: dict) -> None:
        k = str(key)
        self._touch(k)
        self._live[k] = value

    def __delitem__(self, key: Any) -> None:
        k = str(key)
        if k not in self._live:
            raise KeyError(key)
        self._touch(k)
        del self._live[k]

    def pop(self, key: Any, *default: Any) -> Any:
        k = str(key)
        if k not in self._live:
            if default:
                return default[0]
            raise KeyError(key)
        self._touch(k)
        return self._live.pop(k)

    def __contains__(self, key: object) -> bool:
        return str(key) in self._live

    def __iter__(self) -> Iterator[int]:
        return map(int, self._live)

    def __len__(self) -> int:
        return len(self._live)

    def clear(self) -> None:
        for k, v in self._live.items():
            if k not in self._orig:
                self._orig[k] = v
        self._live.clear()
        self._cleared = True

    def rollback(self) -> None:
        for k, v in self._orig.items():
            if v is _MISSING:
                self._live.pop(k, None)
            else:
                self._live[k] = v

    def change(self, name: str) -> dict | None:
        sets: dict[str, dict] = {}
        dels: list[str] = []
        live = self._live
        for k, old in self._orig.items():
            if k in live:
                if self._cleared or old is _MISSING:
                    sets[k] = live[k]
                else:
                    before = self._orig_json.get(k)
                    if before is None or _dumps(live[k]) != before:
                        sets[k] = live[k]
            elif old is not _MISSING and not self._cleared:
                dels.append(k)
        if not (sets or dels or self._cleared):
            return None
        out: dict[str, Any] = {"t": name}
        if self._cleared:
            out["clear"] = True
        if sets:
            out["set"] = sets
        if dels:
            out["del"] = dels
        return out


class JournalTable(Table):
    """A TinyDB table whose writes journal only the documents they touch."""

    def _update_table(self, updater: Callable[[dict[int, Mapping]], None]) -> None:
        storage: JournalStorage = self._storage  # type: ignore[assignment]  # JournalDB's only storage
        live, created = storage.live_table(self.name)
        tracker = _Tracker(live)
        try:
            updater(tracker)  # type: ignore[arg-type]
            change = tracker.change(self.name)
            if change is None and created:
                change = {"t": self.name, "set": {}}  # TinyDB persists a table on first write
            if change is not None:
                storage.append([change])
        except BaseException:
            tracker.rollback()
            if created:
                storage.forget_table(self.name)
            raise
        finally:
            self.clear_cache()

    def set_docs(self, docs: Mapping[int, dict]) -> None:
        """Put whole documents at the given doc ids (replace, not merge): one durable commit."""
        self._update_table(lambda table: table.update(docs))

    def next_id(self) -> int:
        """Reserve the id for a document about to be inserted with ``set_docs``."""
        return self._get_next_id()


class JournalDB(TinyDB):
    """``TinyDB`` over an already opened ``JournalStorage`` instance."""

    table_class = JournalTable

    def __init__(self, storage: JournalStorage) -> None:
        super().__init__(storage=lambda: storage)

    @property
    def journal(self) -> JournalStorage:
        return self.storage  # type: ignore[return-value]

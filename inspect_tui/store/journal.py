"""TinyDB on an append-only, checksummed JSON-Lines journal.

Why not stock TinyDB? Its ``JSONStorage`` rewrites the whole file on every write (a crash mid-way
leaves a truncated file; tinydb #301, #461) and its ``Table._update_table`` re-reads every table,
rebuilds the written table's dict and hands the whole database to ``Storage.write`` — O(table size)
per save. This module keeps TinyDB as the layer the app talks to and replaces what lies under it:

* ``JournalStorage`` holds the tables in memory and makes each change durable by appending one line
  and ``fsync``-ing before it returns. Line 1 of the file is a header; every further line is one
  committed change ``{"t": table, "set": {doc_id: doc}, "del": [doc_id], "clear": true, "c": crc}``
  where ``c`` is the CRC-32 of the line's bytes without the ``,"c":N`` field. Lines carrying
  ``"more": true`` belong to the same commit as the line after them (a multi-table write); a commit
  counts only once its last line is complete.
* ``JournalTable`` overrides ``_update_table``: the updater runs against ``_Tracker``, a mapping over
  the *live* in-memory table that remembers the original value of every key it touches. Only the
  touched documents are journaled; if the updater or the append fails the tracker puts every touched
  key back, so memory always matches the file.
* ``replay`` rebuilds the tables from the file. A last line with no newline is a torn, never
  acknowledged write: it is ignored (and cut off before the next append). Any *complete* line that
  is not valid JSON or fails its checksum raises ``JournalError`` — the caller turns that into a
  message naming the line and never touches the file.

Nothing here knows about sessions, records or versions; ``session_file`` does.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import json
import json.decoder
import json.scanner
import os
import secrets
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tinydb import TinyDB
from tinydb.storages import Storage
from tinydb.table import Table

Tables = dict[str, dict[str, dict]]

_MISSING: Any = object()
O_BINARY = getattr(os, "O_BINARY", 0)


class NotSavedError(OSError):
    """A write did not reach the disk; memory and file are both as they were before it."""


class JournalError(Exception):
    """A complete line of the journal is damaged (bad JSON, bad checksum or bad shape)."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


# --------------------------------------------------------------------------- lines


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def encode_line(obj: Mapping[str, Any]) -> bytes:
    """One journal line: compact JSON with ``"c"`` (CRC-32 of the rest) as its last field."""
    body = _dumps(obj).encode("utf-8")
    crc = zlib.crc32(body)
    if body == b"{}":
        return b'{"c":%d}\n' % crc
    return body[:-1] + b',"c":%d}\n' % crc


#: Raw JSON text of documents, by ``id(doc)``: ``(doc, text)``. The document is kept alongside so
#: that its id cannot be reused while the entry exists; a user checks ``entry[0] is doc``.
RawTexts = dict[int, tuple[dict, str]]

_SCANNER: Any = json.scanner.make_scanner(json.JSONDecoder())  # json.loads's own (C) value parser


def _scan_set(body: bytes, table: str, raws: RawTexts) -> dict | None:
    """Parse a plain ``{"t": table, "set": {...}}`` change line (the compacted form) document by
    document with json's own scanner, recording each document's exact JSON text in ``raws``.
    ``None`` (nothing recorded) for any other shape: the caller then uses ``json.loads``. Why: a
    document passed on unchanged — most of a leader's merge — can then be written back as the text
    it was read from instead of being encoded again (0.4 s of a 50k-record merge)."""
    prefix = b'{"t":' + json.dumps(table).encode() + b',"set":{'
    if not body.startswith(prefix) or not body.endswith(b"}}"):
        return None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    scan, scanstring = _SCANNER, json.decoder.scanstring
    sets: dict[str, Any] = {}
    found: RawTexts = {}
    pos, end = len(prefix) - 1, len(text) - 1  # the "{" opening "set"; the final "}"
    try:
        if text[pos + 1] == "}":
            pos += 1
        else:
            while text[pos] in "{,":
                if text[pos + 1] != '"':
                    return None
                key, pos = scanstring(text, pos + 2)
                if text[pos] != ":":
                    return None
                doc, stop = scan(text, pos + 1)
                sets[key] = doc
                if isinstance(doc, dict):
                    found[id(doc)] = (doc, text[pos + 1:stop])
                pos = stop
                if text[pos] == "}":
                    break
    except (ValueError, IndexError, StopIteration, RecursionError):
        return None
    if pos != end - 1 or text[pos] != "}":
        return None
    raws.update(found)
    return {"t": table, "set": sets}


def decode_line(raw: bytes, raws: RawTexts | None = None, raw_table: str = "") -> dict:
    """Check a line's checksum and parse it (``raw`` without its newline); ``ValueError`` says why not.
    With ``raws``, the documents of a plain ``set`` line of ``raw_table`` also get their JSON text."""
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    i = raw.rfind(b'"c":')
    digits = raw[i + 4:-1] if i >= 0 else b""
    if i < 0 or not raw.endswith(b"}") or not digits.isdigit():
        try:
            json.loads(raw)
        except (ValueError, RecursionError) as exc:  # RecursionError: nested thousands deep
            raise ValueError(f"不是有效的 JSON（{exc}）") from None
        raise ValueError("缺少校验和字段 \"c\"")
    start = i - 1 if raw[i - 1:i] == b"," else i
    body = raw[:start] + b"}"
    if zlib.crc32(body) != int(digits):
        raise ValueError("校验和不符（该行被改动或已损坏）")
    if raws is not None:
        scanned = _scan_set(body, raw_table, raws)
        if scanned is not None:
            return scanned
    try:
        obj = json.loads(body)
    except (ValueError, RecursionError) as exc:  # a matching checksum over invalid JSON: written by something else
        raise ValueError(f"不是有效的 JSON（{exc}）") from None
    if not isinstance(obj, dict):
        raise ValueError("不是 JSON 对象")
    return obj


def check_change(obj: dict) -> None:
    """Raise ``ValueError`` unless ``obj`` has the shape of a change line."""
    if not isinstance(obj.get("t"), str):
        raise ValueError('缺少表名 "t"')
    sets = obj.get("set", {})
    if not isinstance(sets, dict) or not all(
            isinstance(k, str) and k.isdigit() and isinstance(v, dict) for k, v in sets.items()):
        raise ValueError('"set" 应为 {编号: 文档}')
    dels = obj.get("del", [])
    if not isinstance(dels, list) or not all(isinstance(k, str) and k.isdigit() for k in dels):
        raise ValueError('"del" 应为编号列表')
    for flag in ("clear", "drop", "more"):
        if not isinstance(obj.get(flag, False), bool):
            raise ValueError(f'"{flag}" 应为 true 或 false')


def apply_change(tables: Tables, obj: dict) -> None:
    name = obj["t"]
    if obj.get("drop"):
        tables.pop(name, None)
        return
    table = tables.setdefault(name, {})
    if obj.get("clear"):
        table.clear()
    for k in obj.get("del", ()):
        table.pop(k, None)
    table.update(obj.get("set", {}))


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


# --------------------------------------------------------------------------- replay


@dataclass
class Replay:
    """What reading a journal found."""

    header: dict
    header_end: int  # byte offset just after the header line
    tables: Tables = field(default_factory=dict)
    lines: int = 0  # committed change lines
    valid_size: int = 0  # bytes up to the end of the last complete commit
    file_size: int = 0
    dropped_tail: int = 0  # lines of an unfinished commit plus a torn last line (never acknowledged)
    damaged: list[JournalError] = field(default_factory=list)  # lines skipped by ``skip_damage``
    kept: list[tuple[int, int]] = field(default_factory=list)  # byte ranges of applied lines (skip mode)


def iter_lines(data: bytes, start: int) -> Iterator[tuple[int, int, bytes | None]]:
    """Yield ``(line_no, end_offset, raw)`` for each complete line after ``start`` (line 2 on);
    a final line without newline comes last with ``raw=None``."""
    pos, n, line_no = start, len(data), 2
    while pos < n:
        nl = data.find(b"\n", pos)
        if nl < 0:
            yield line_no, n, None
            return
        yield line_no, nl + 1, data[pos:nl]
        pos, line_no = nl + 1, line_no + 1


def replay(data: bytes, header: dict, header_end: int, *, skip_damage: bool = False, raws: RawTexts | None = None,
           raw_table: str = "") -> Replay:
    """Rebuild the tables from the change lines. Raises ``JournalError`` at the first damaged line. With
    ``skip_damage`` (recovery) a damaged line and the commit it belongs to are skipped and every
    intact commit after it is still applied: each line sets whole documents, so skipping one loses
    only that change. ``raws`` collects the JSON text of ``raw_table``'s documents (``_scan_set``)."""
    r = Replay(header=header, header_end=header_end, valid_size=header_end, file_size=len(data))
    pending: list[dict] = []
    pending_lines = 0
    group_start = line_start = header_end
    for line_no, end, raw in iter_lines(data, header_end):
        if not pending:
            group_start = line_start
        line_start = end
        if raw is None:  # torn tail: never acknowledged
            r.dropped_tail += 1
            break
        if not raw.strip():
            err = JournalError(line_no, "空行（文件被编辑过？）")
        else:
            try:
                obj = decode_line(raw, raws, raw_table)
                check_change(obj)
                err = None
            except ValueError as exc:
                err = JournalError(line_no, str(exc))
        if err is not None:
            if skip_damage:
                r.damaged.append(err)
                pending, pending_lines = [], 0
                continue
            raise err
        pending.append(obj)
        pending_lines += 1
        if not obj.get("more"):
            for o in pending:
                apply_change(r.tables, o)
            r.lines += pending_lines
            r.valid_size = end
            if skip_damage:
                r.kept.append((group_start, end))
            pending, pending_lines = [], 0
    r.dropped_tail += pending_lines
    return r


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


def write_atomic(path: Path, chunks: Iterable[bytes]) -> int:
    """Write ``chunks`` to a temp file beside ``path``, fsync, ``os.replace``, fsync the folder.
    Returns the size written. The old file (if any) stays whole until the swap."""
    path = Path(path)
    tmp = temp_name(path)
    try:
        mode = os.stat(path).st_mode & 0o777
    except OSError:
        mode = 0o644
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | O_BINARY, mode)
    size = 0
    try:
        try:
            for chunk in chunks:
                _write_all(fd, chunk)
                size += len(chunk)
            sync_file(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.filename is None:
            exc.filename = str(path)  # a failed write knows only its fd; the user needs the path
        raise
    fsync_dir(path.parent)
    return size


CHUNK_DOCS = 256


def journal_chunks(header: dict, tables: Tables, raws: RawTexts | None = None) -> Iterator[bytes]:
    """A compact journal: the header, then ``set`` lines of at most ``CHUNK_DOCS`` documents per
    table — bounded lines, so one damaged byte costs a recovery at most one chunk, not the table. A
    document found in ``raws`` (the very object, read by ``_scan_set``) is written as the text it
    was read from."""
    yield encode_line(header)
    for name, table in tables.items():
        items = list(table.items())
        for i in range(0, max(len(items), 1), CHUNK_DOCS):
            chunk = dict(items[i:i + CHUNK_DOCS])
            if raws:
                yield from _set_line(name, chunk, raws)
            else:
                yield encode_line({"t": name, "set": chunk})


def _set_line(name: str, table: Mapping[str, dict], raws: RawTexts) -> list[bytes]:
    """``encode_line({"t": name, "set": table})``, in pieces, with the documents' JSON text taken
    from ``raws`` where it is there (the same bytes when that text came from this encoder). If
    ``NaN`` or ``Infinity`` shows up (``json.loads`` accepts them, the journal refuses them) the
    whole line is encoded again, so exactly the same documents are refused as by ``encode_line``."""
    if not all(type(k) is str for k in table):
        return [encode_line({"t": name, "set": table})]
    get, key_text = raws.get, json.encoder.encode_basestring  # how dumps spells a str key
    docs = ",".join([f"{key_text(key)}:{e[1] if (e := get(id(doc))) is not None and e[0] is doc else _dumps(doc)}"
                     for key, doc in table.items()]).encode("utf-8")
    if b"NaN" in docs or b"Infinity" in docs:
        return [encode_line({"t": name, "set": table})]
    head = b'{"t":' + _dumps(name).encode("utf-8") + b',"set":{'
    crc = zlib.crc32(b"}}", zlib.crc32(docs, zlib.crc32(head)))  # the checksum of the whole line body
    return [head, docs, b'},"c":%d}\n' % crc]


# --------------------------------------------------------------------------- storage


class JournalStorage(Storage):
    """TinyDB storage: tables in memory, each write appended to the journal and fsynced.

    ``fd`` is ``None`` for a read-only storage. ``valid_size`` is where the last complete commit ends;
    anything after it (a torn write) is cut off before the next append.
    """

    def __init__(self, path: Path, tables: Tables, *, fd: int | None, valid_size: int, file_size: int,
                 lines: int) -> None:
        self.path = Path(path)
        self._tables = tables
        self._fd = fd
        self._size = valid_size
        self._tail_dirty = file_size != valid_size
        self.lines = lines
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
        self._tables.pop(name, None)

    def append(self, changes: list[dict]) -> None:
        """Append one commit (one or more change lines) and fsync. On any failure the file is cut
        back to its previous size and ``NotSavedError`` (an ``OSError``) is raised."""
        if self._fd is None:
            raise PermissionError(errno.EBADF, "会话文件以只读方式打开，不能保存", str(self.path))
        if self._broken:
            raise NotSavedError(errno.EIO, f"未保存：{self._broken}", str(self.path))
        last = len(changes) - 1
        payload = b"".join(encode_line({**c, "more": True} if i < last else c)
                           for i, c in enumerate(changes))  # TypeError/ValueError before any I/O
        fd = self._fd
        try:
            if self._tail_dirty:
                os.ftruncate(fd, self._size)
                sync_file(fd)
                self._tail_dirty = False
            _write_all(fd, payload)
            sync_file(fd)
        except BaseException as exc:
            self._cut_back()
            if isinstance(exc, OSError):
                raise NotSavedError(exc.errno or errno.EIO, f"未保存：{exc.strerror or exc}",
                                    str(self.path)) from exc
            raise
        self._size += len(payload)
        self.lines += len(changes)

    def _cut_back(self) -> None:
        try:
            os.ftruncate(self._fd, self._size)
        except OSError as exc:
            self._broken = f"写入失败后无法恢复文件长度（{exc.strerror}），请重新打开会话"
            return
        with contextlib.suppress(OSError):
            sync_file(self._fd)

    def reopen(self, fd: int, size: int, lines: int) -> None:
        """Switch to a freshly written file (after compaction)."""
        old, self._fd = self._fd, fd
        if old is not None:
            os.close(old)
        self._size, self._tail_dirty, self.lines, self._broken = size, False, lines, None


# --------------------------------------------------------------------------- table


class _Tracker(MutableMapping):
    """The mapping an updater sees: int keys over the live table's str keys. Remembers the original
    value of each key it touches so the change can be journaled — or undone."""

    __slots__ = ("_live", "_orig", "_orig_json", "_cleared")

    def __init__(self, live: dict[str, dict]) -> None:
        self._live = live
        self._orig: dict[str, Any] = {}
        self._orig_json: dict[str, str] = {}  # keys only read (maybe mutated in place): their JSON
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
        self._orig_json.pop(k, None)
        self._live[k] = value

    def __delitem__(self, key: Any) -> None:
        k = str(key)
        if k not in self._live:
            raise KeyError(key)
        self._touch(k)
        self._orig_json.pop(k, None)
        del self._live[k]

    def pop(self, key: Any, *default: Any) -> Any:
        k = str(key)
        if k not in self._live:
            if default:
                return default[0]
            raise KeyError(key)
        self._touch(k)
        self._orig_json.pop(k, None)
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
        self._orig_json.clear()
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
        storage = self._storage
        if not isinstance(storage, JournalStorage):  # pragma: no cover - misuse
            return super()._update_table(updater)
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

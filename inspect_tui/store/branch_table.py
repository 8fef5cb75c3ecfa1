"""The branches list of a session file, kept beside it so a large session shows its list at once.

Reading a session of 100,000 records — decoding its JSON and indexing every record — takes
seconds; its branches list is a few kilobytes. After the app has read a session in full it stores
the list (the title and one ``BranchRow`` per branch) in a small cache file named by the SHA-256
of the session file's *committed* bytes (``committed_hash``: everything but a seal line that is
exactly the seal belonging there, so a copy left unsealed by a crash and the same copy closed
cleanly share one list). The next open hashes the file (a tenth of reading it), shows the stored
list, and reads the session in full behind it; keys that need the records wait for them.

A stored list can only ever stand for the exact bytes it was made from: any change to the file (a
save, a merge, a hand edit, a torn copy) gives another hash and the list is not used. An entry also
carries a fingerprint of the code that made it (``code_fingerprint``) and an HMAC-SHA256 under the
cache's own random key (``.key``, mode 0600), so a list edited by hand, damaged, copied from
another machine or made by other code is ignored, never shown. Everything here is best effort: a cache that cannot be read or written
costs time, never data — the session itself is always read in full before anything is changed.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import inspect_tui
from inspect_tui.core.branch_rows import BranchRow
from inspect_tui.store import keyed_cache
from inspect_tui.store.keyed_cache import KEY_FILE as KEY_FILE  # where the folder's key lives

if TYPE_CHECKING:
    from inspect_tui.core.scoring import BranchResult
    from inspect_tui.store.session import Session

CACHE_ENV = "INSPECT_TUI_TABLES"  # another cache folder (tests, a shared machine)
TABLE_FORMAT = 1  # bump when the shape or meaning of an entry changes
_CHUNK = 1 << 20
_SEAL_MAX = 200  # bytes: a seal line is ~70


@dataclass(frozen=True)
class BranchTable:
    """What the branches screen shows before the session is read: its title's parts and the rows."""

    group: str
    date: str
    role: str
    inspector: str
    checklist_title: str
    rows: tuple[BranchRow, ...]

    @property
    def merged(self) -> bool:
        return self.role == "leader"

    def to_json(self) -> dict[str, Any]:
        return {"group": self.group, "date": self.date, "role": self.role, "inspector": self.inspector,
                "checklist_title": self.checklist_title, "rows": [r.to_json() for r in self.rows]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BranchTable:
        texts = [data[k] for k in ("group", "date", "role", "inspector", "checklist_title")]
        if not all(isinstance(t, str) for t in texts):
            raise ValueError("not a branch table")
        return cls(*texts, rows=tuple(BranchRow.from_json(r) for r in data["rows"]))


def default_cache_dir() -> Path:
    return keyed_cache.cache_folder(CACHE_ENV, "branch-tables")


def committed_hash(path: Path) -> str:
    """SHA-256 of the file's bytes, leaving out a last line that is exactly this file's seal for
    this place (its line number and the checksum of the line before it). Read in chunks: a large
    file is never held in memory twice."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        first = f.readline(4096)
        f.seek(max(0, size - _SEAL_MAX))
        seal = _Seal.at_end(first, f.read(), size)
        f.seek(0)
        prefix = seal.prefix if seal is not None else size
        sha, count = hashlib.sha256(), 0
        while f.tell() < prefix and (chunk := f.read(min(_CHUNK, prefix - f.tell()))):
            sha.update(chunk)
            count += chunk.count(b"\n")
        if seal is not None and seal.fits(first, count):
            return sha.hexdigest()
        while chunk := f.read(_CHUNK):
            sha.update(chunk)
        return sha.hexdigest()


def committed_hash_of(data: bytes) -> str:
    """``committed_hash`` of bytes already read (the list then stands for exactly what was parsed).
    One call into SHA-256, which lets go of the interpreter's lock: a thread can hash while another
    parses."""
    first = data[:data.find(b"\n", 0, 4096) + 1 or 4096]
    seal = _Seal.at_end(first, data[-_SEAL_MAX:], len(data))
    if seal is not None and seal.fits(first, data.count(b"\n", 0, seal.prefix)):
        return hashlib.sha256(memoryview(data)[:seal.prefix]).hexdigest()
    return hashlib.sha256(data).hexdigest()


class _Seal(NamedTuple):
    """A last line that looks like a seal: where it starts, and the line before it."""

    prefix: int
    before: bytes
    line: bytes

    @classmethod
    def at_end(cls, first: bytes, tail: bytes, size: int) -> _Seal | None:
        lines = tail[:-1].rsplit(b"\n", 2) if tail.endswith(b"\n") else []
        if len(lines) >= 2 and lines[-1].startswith(b'{"seal":true,'):
            return cls(size - len(lines[-1]) - 1, lines[-2], lines[-1] + b"\n")
        return None

    def fits(self, first: bytes, lines: int) -> bool:
        """Whether it is exactly the seal of this file (header ``first``) after ``lines`` lines."""
        from inspect_tui.store.lines import Chain, line_crc

        with contextlib.suppress(ValueError, KeyError, TypeError):
            return Chain(str(json.loads(first)["id"]), lines + 1, line_crc(self.before)).seal() == self.line
        return False


@functools.cache
def code_fingerprint() -> str:
    """The app's version and a hash of the core's and the store's source (reading, indexing and
    scoring records all live there): a list made by other code — another release, or a change to
    the scoring rules between two runs of a development copy — is never shown."""
    root = Path(inspect_tui.__file__).parent
    sha = hashlib.sha256(inspect_tui.__version__.encode())
    for source in sorted([*root.glob("core/*.py"), *root.glob("store/*.py")]):
        with contextlib.suppress(OSError):
            sha.update(source.name.encode() + b"\0" + source.read_bytes())
    return sha.hexdigest()


def entry_path(cache: Path, key: str) -> Path:
    return cache / f"{key}.t{TABLE_FORMAT}.json"


def read_table(key: str, cache: Path | None = None) -> BranchTable | None:
    """The stored list of the file whose committed bytes hash to ``key``; None when there is none,
    or it cannot be used (another version's, edited, damaged, filed under another name)."""
    cache = cache or default_cache_dir()
    content = keyed_cache.read_entry(cache, entry_path(cache, key), key)
    try:
        if content is None or content["code"] != code_fingerprint():
            return None
        return BranchTable.from_json(content["table"])
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def write_table(key: str, table: BranchTable, cache: Path | None = None) -> None:
    """Best effort: failing costs the next open time only."""
    cache = cache or default_cache_dir()
    keyed_cache.write_entry(cache, entry_path(cache, key), key, {"code": code_fingerprint(), "table": table.to_json()})


def results_of(session: Session) -> dict[str, BranchResult]:
    """Every branch scored as the branches list shows it: an inspector's copy by their own records,
    the leader's merged file by everyone's."""
    mine = session.meta.role != "leader"
    return {b.id: session.result(b.id, mine_only=mine) for b in session.branches()}


def list_of_bytes(path: Path, data: bytes) -> BranchTable | None:
    """The list of the session in ``data`` (the bytes of ``path``), read read-only; None for a
    follow-up (回头看) session, whose list is another. A file that is not a readable session raises
    the ``UserError`` its opening would."""
    from inspect_tui.store.session import Session  # ~0.1 s of imports, not needed for a stored list
    from inspect_tui.store.session_file import SessionFile

    with SessionFile.of_bytes(path, data) as file:
        session = Session(file)
        return None if session.is_followup() else table_of(session, results_of(session))


def remember_list(path: Path, session: Session, cache: Path | None = None) -> None:
    """Best effort: store the list of ``session``, read from ``path`` whose bytes it still has (a
    merge's output, read back by its digest helper), so its first opening shows the list at once."""
    with contextlib.suppress(OSError, ValueError):
        write_table(committed_hash(path), table_of(session, results_of(session)), cache)


def table_of(session: Session, results: dict[str, BranchResult]) -> BranchTable:
    """The list as the branches screen shows ``session`` scored as ``results``."""
    return BranchTable(group=session.meta.group, date=session.meta.date.isoformat(), role=session.meta.role,
                       inspector=session.meta.inspector, checklist_title=session.checklist.title,
                       rows=tuple(row_of(session, results[b.id]) for b in session.branches()))


def row_of(session: Session, result: BranchResult) -> BranchRow:
    """One branch's row; in the leader's merged view with its open points — the items the inspectors
    disagree on, plus the records edited in two places at once."""
    if session.meta.role != "leader":
        return BranchRow.of(result)
    conflicts = sum(1 for rec in session.records(result.branch) if rec.conflict)
    return BranchRow.of(result, len(result.unsettled) + conflicts)

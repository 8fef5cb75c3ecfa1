"""Record versions and the merge lattice.

Every record (an observation, a score, an interview …) is stored as the set of its *maximal*
versions. Each version carries a version vector ``vv`` — one counter per replica (one copy of the
session file on one laptop) — so that for two versions we can tell whether one edit *saw* the other
(its vector dominates) or whether they were made concurrently. Merging two copies is then:

    union of versions, keep those not strictly dominated by another.

That operation is commutative, associative and idempotent by construction, so inspectors' files
can be merged in any order, any number of times, and a merged file can be merged back into a copy
without changing anything. A record with more than one maximal version is a *conflict*: it is never
resolved silently; the next edit made by someone who has seen all siblings dominates them all.
Deletions are versions with ``deleted: true`` (tombstones), so they merge like edits.

Each version also carries ``h``, a hash of its content: a hand-edited file is caught when loaded.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

VersionDoc = dict[str, Any]
RecordDoc = dict[str, Any]  # {"id": str, "versions": [VersionDoc, ...]} sorted by "h"

_HASHED = ("kind", "data", "author", "by", "at", "vv", "deleted")
_HASHED_SORTED = tuple(sorted(_HASHED))  # same canonical JSON; the encoder's key sort has less to do


_DEFAULT = json.JSONEncoder().default  # raises the usual "Object of type X is not JSON serializable"
_SLOW_CANONICAL = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode
_C_MAKE_ENCODER: Any = getattr(json.encoder, "c_make_encoder", None)
_LOCAL = threading.local()  # one C encoder per thread: its markers dict is per-call state


def canonical_str(obj: Any) -> str:
    """``canonical`` before UTF-8 encoding: exactly ``json.dumps(obj, ensure_ascii=False,
    sort_keys=True, separators=(",", ":"))``.

    Why not just call ``json.dumps``: every version hash is checked on every load and merge (50k per
    leader's merge), and ``dumps`` pays for a new ``JSONEncoder``, ``iterencode`` and a new C encoder
    object per call. This calls json's own C encoder, built once per thread with the very arguments
    ``iterencode`` would pass it, so the bytes — and every existing hash — are unchanged. Its
    ``markers`` dict (circular-reference check) empties itself on success and is emptied here after
    a failure, so errors are the same too. Without the C accelerator: ``dumps``'s own path."""
    if _C_MAKE_ENCODER is None or isinstance(obj, str):  # pragma: no cover - CPython has the accelerator
        return _SLOW_CANONICAL(obj)
    encode, markers = canonical_encoder()
    assert encode is not None
    try:
        return "".join(encode(obj, 0))
    except BaseException:
        markers.clear()
        raise


def canonical_encoder() -> tuple[Callable[[Any, int], list[str]] | None, dict]:
    """This thread's C encoder behind ``canonical_str`` and its ``markers`` dict, for loops over tens
    of thousands of versions (``merge.check_records``): ``"".join(encode(obj, 0))`` is
    ``canonical_str(obj)`` for a dict ``obj``; after an exception the caller must clear ``markers``.
    ``None`` encoder without json's C accelerator."""
    try:
        return _LOCAL.encoder
    except AttributeError:
        pass
    markers: dict = {}
    encode = None if _C_MAKE_ENCODER is None else _C_MAKE_ENCODER(
        markers, _DEFAULT, json.encoder.encode_basestring, None, ":", ",", True, False, True)
    _LOCAL.encoder = encode, markers
    return encode, markers


def canonical(obj: Any) -> bytes:
    """The canonical JSON of ``obj`` (sorted keys, no spaces, UTF-8): what hashes are taken over."""
    return canonical_str(obj).encode()


def version_hash(v: Mapping[str, Any]) -> str:
    """The content hash ``h`` of a version: SHA-256 of the canonical JSON of its hashed fields."""
    return hashlib.sha256(canonical_str({k: v.get(k) for k in _HASHED}).encode()).hexdigest()[:24]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def make_version(*, kind: str, data: Mapping[str, Any], author: str, by: str, replica: str,
                 seen: Iterable[VersionDoc] = (), deleted: bool = False, at: str | None = None) -> VersionDoc:
    """A new version by ``by`` on ``replica`` that has seen (and so supersedes) ``seen``."""
    vv: dict[str, int] = {}
    for s in seen:
        for r, n in s["vv"].items():
            vv[r] = max(vv.get(r, 0), n)
    vv[replica] = vv.get(replica, 0) + 1
    v: VersionDoc = {"kind": kind, "data": dict(data), "author": author, "by": by,
                     "at": at or now_iso(), "vv": vv, "deleted": deleted}
    v["h"] = version_hash(v)
    return v


def dominates(a: Mapping[str, int], b: Mapping[str, int]) -> bool:
    """True when vector ``a`` has seen everything ``b`` has, and more."""
    return a != b and all(a.get(r, 0) >= n for r, n in b.items())


def join_versions(*groups: Iterable[VersionDoc]) -> list[VersionDoc]:
    """The maximal versions of the union, deduplicated by hash, in a canonical order."""
    by_hash: dict[str, VersionDoc] = {}
    for g in groups:
        for v in g:
            by_hash.setdefault(v["h"], v)
    pool = list(by_hash.values())
    if len(pool) > 1:
        pool = [v for v in pool if not any(dominates(o["vv"], v["vv"]) for o in pool if o is not v)]
    return sorted(pool, key=lambda v: v["h"])


def join_records(a: Mapping[str, RecordDoc], b: Mapping[str, RecordDoc]) -> dict[str, RecordDoc]:
    """Merge two id → record maps (the lattice join)."""
    out = dict(a)
    for rid, doc in b.items():
        mine = out.get(rid)
        out[rid] = doc if mine is None else {"id": rid, "versions": join_versions(mine["versions"], doc["versions"])}
    return out


def winner(versions: list[VersionDoc]) -> VersionDoc:
    """The version to *show* while a conflict is open: the latest by time, ties by hash. Showing one
    is not settling: callers check ``len(versions) > 1`` and mark the record as conflicted."""
    if len(versions) == 1:
        return versions[0]
    return max(versions, key=lambda v: (v["at"], v["h"]))


def digest(records: Iterable[RecordDoc]) -> str:
    """A short fingerprint of a session's records, equal for equal record sets in any order."""
    h = hashlib.sha256()
    for doc in sorted(records, key=lambda d: d["id"]):
        h.update(canonical({"id": doc["id"], "v": sorted(v["h"] for v in doc["versions"])}))
    return h.hexdigest()[:16]


def bad_hashes(records: Iterable[RecordDoc]) -> list[str]:
    """Ids of records with a version whose content no longer matches its hash (hand-edited)."""
    return [doc["id"] for doc in records if any(v.get("h") != version_hash(v) for v in doc["versions"])]

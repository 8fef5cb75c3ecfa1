"""The group leader's merge, as pure functions: check the inputs, match branches, join the records.

The merge *rule* lives in :mod:`inspect_tui.core.versions` (the version-vector lattice: union of
versions, keep the maximal ones). This module builds the leader's merge on it:

* **Verification** — every version's content hash is recomputed (``bad_hashes``); a hand-edited
  file is refused by name before anything is joined.
* **Compatibility** — all inputs must use the same checklist (id, version *and* content hash). A
  mismatch is refused naming both versions and the items that differ (a full item-by-item diff when
  both checklists can be found, else the items each file's records use that the other lacks).
  Inputs of one visit plan share ``visit_id`` and must then agree on group and date. Inputs with
  *different* ``visit_id`` (inspectors who each started their own session from the checklist) may be
  merged only when the leader confirms branch matching; they must still agree on the date and on the
  group name (compared after normalisation).
* **Branch matching** (:mod:`inspect_tui.core.branch_matching`) — branches are the same branch when they have the same id. Otherwise two
  branch records whose names (and units) are equal after :func:`branch_key` are *proposed* as one
  branch; the leader confirms. Applying a match rewrites every reference to the alias id
  (``data.branch``, slot ids such as ``observation/<branch>/…``, an observation id in
  ``data.source``) to the *canonical* id — the smallest id of the matched group that has a branch
  record among the inputs — and drops the alias branch record. The rewrite is a pure function of
  (record, alias map), and the alias map is computed from the *set* of inputs (plus aliases already
  confirmed in earlier merges, carried in the merge log), so the result does not depend on the order
  of the inputs: merge stays commutative, associative and idempotent.
* **Join** — a fold of :func:`versions.join_versions` per record id, with per-input statistics:
  records read, new (the input brought an id or a version the earlier inputs lacked), already
  present (nothing new), and conflicts (records of this input that are conflicted in the result —
  counted on the final result, so this column does not depend on input order either).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

import orjson

from inspect_tui.core.branch_matching import BranchMatch as BranchMatch
from inspect_tui.core.branch_matching import BranchMatching as BranchMatching
from inspect_tui.core.branch_matching import branch_key as branch_key
from inspect_tui.core.branch_matching import logged_aliases as logged_aliases
from inspect_tui.core.branch_matching import match_branches as match_branches
from inspect_tui.core.branch_matching import normalize_branch_name as normalize_branch_name
from inspect_tui.core.branch_matching import normalize_text as normalize_text
from inspect_tui.core.branch_matching import rewrite_doc
from inspect_tui.core.checklist import Checklist
from inspect_tui.core.meta import SessionMeta
from inspect_tui.core.versions import (
    _HASHED,
    _HASHED_SORTED,
    RecordDoc,
    VersionDoc,
    canonical_encoder,
    canonical_str,
    join_versions,
)
from inspect_tui.errors import Problem

MERGE_EVENT = "merge"

# ``fast_digest``/``fast_bad_hashes`` are tested to agree with ``versions.digest``/``versions.bad_hashes``
# exactly; they exist because a leader's merge checks ~50k versions and the generic versions are
# written for clarity, not for that volume.
_STR = json.encoder.encode_basestring  # JSON string literal, as json.dumps(..., ensure_ascii=False)
_QCQ = '","'  # between two hex hashes in a JSON list of strings
#: orjson's sorted compact JSON, tried first by ``check_records``: for plain JSON values the bytes of
#: ``canonical`` (tested over every character and float range) except where ``_not_canonical`` finds
#: a spot that may differ. The passthrough options make it refuse (``TypeError``) non-JSON types.
_FAST_DUMPS: Callable[..., bytes] | None = orjson.dumps
_FAST_OPTIONS = (orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_SUBCLASS
                 | orjson.OPT_PASSTHROUGH_DATACLASS)
_EXPONENT = re.compile(rb"\de-\d")


def _not_canonical(text: bytes) -> bool:
    """Whether orjson's ``text`` may not be json's: it holds ``null`` (also what orjson writes for
    NaN and infinities, json writes ``NaN``) or a float below 1e-4 (``0.00001``, ``1e-7``; json:
    ``1e-05``, ``1e-07``). A text that merely looks like these costs a canonical hash, nothing else.
    (Substring tests first: a regular expression over every version took as long as json's encoder.)"""
    return b"null" in text or b"0.0000" in text or (b"e-" in text and _EXPONENT.search(text) is not None)


def _digest_part(rid: str, vs: Sequence[VersionDoc], verified: bool) -> str:
    """One record's share of ``versions.digest``: the canonical JSON of ``{"id", "v"}``, spelled
    out when the hashes are known to be hex (ids are strings, so the bytes are identical)."""
    hs = [vs[0]["h"]] if len(vs) == 1 else sorted(v["h"] for v in vs)
    if hs and (verified or all(isinstance(x, str) and x.isascii() and x.isalnum() for x in hs)):
        return f'{{"id":{_STR(rid)},"v":["{_QCQ.join(hs)}"]}}'
    return canonical_str({"id": rid, "v": hs})


def fast_digest(records: Iterable[RecordDoc], *, verified: bool = False) -> str:
    """Same value as ``versions.digest``, hashed in one go — identical bytes, fewer calls.
    ``verified``: every ``h`` was checked against its content, so it is known to be hex."""
    parts = [_digest_part(doc["id"], doc["versions"], verified) for doc in sorted(records, key=itemgetter("id"))]
    return hashlib.sha256("".join(parts).encode()).hexdigest()[:16]


def digest_parts(parts: Mapping[str, str]) -> str:
    """``fast_digest`` from each record's part (``id`` → ``_digest_part``): the same value for
    records with distinct ids, without another pass over the records themselves."""
    return hashlib.sha256("".join([parts[k] for k in sorted(parts)]).encode()).hexdigest()[:16]


def check_records(records: Sequence[RecordDoc]) -> tuple[list[str], dict[str, str] | None]:
    """``fast_bad_hashes(records)`` and, in the same pass, each record's digest part (``None`` when
    ids repeat or a hash is bad). Why one pass: a second walk over 50k records in id order — what
    ``fast_digest`` does — costs as much again in cache misses as building the parts here. The
    hash is ``version_hash`` spelled out around this thread's C encoder (``canonical_encoder``),
    with the hashed fields in sorted order: the same bytes, ~25% less time at 50k versions.

    Each version is first written by orjson (``_FAST_DUMPS``, at half the cost of json's encoder):
    when those bytes hold nothing that orjson spells otherwise than json (``_not_canonical``), they
    *are* the canonical JSON, so their hash is the canonical one and the answer is the same. Only
    the rest — a ``null``, a tiny float, an integer beyond 64 bits, a character orjson refuses — is
    hashed the canonical way. (Accepting any orjson match would not do: a hand-made ``h`` over
    orjson's ``null`` for a ``NaN`` would pass here and be refused by every later check.)"""
    encode, markers = canonical_encoder()
    if encode is None:  # pragma: no cover - no C accelerator
        bad_ids = fast_bad_hashes(records)
        return bad_ids, None if bad_ids else _parts_of(records)
    sha, join, hashed = hashlib.sha256, "".join, _HASHED_SORTED
    fast, options, odd = _FAST_DUMPS, _FAST_OPTIONS, _not_canonical
    bad: list[str] = []
    parts: dict[str, str] = {}
    try:
        for doc in records:
            vs = doc["versions"]
            for v in vs:
                get = v.get
                h = get("h")
                content = {k: get(k) for k in hashed}
                if fast is not None:
                    try:
                        text = fast(content, option=options)
                    except TypeError:  # orjson.JSONEncodeError: a value it does not write
                        pass
                    else:
                        if not odd(text):
                            if h != sha(text).hexdigest()[:24]:
                                bad.append(doc["id"])
                                break
                            continue
                if h != sha(join(encode(content, 0)).encode()).hexdigest()[:24]:
                    bad.append(doc["id"])
                    break
            else:
                if not bad:
                    rid = doc["id"]
                    parts[rid] = (f'{{"id":{_STR(rid)},"v":["{vs[0]["h"]}"]}}' if len(vs) == 1
                                  else _digest_part(rid, vs, True))
    except BaseException:
        markers.clear()  # see canonical_encoder
        raise
    return bad, (parts if len(parts) == len(records) else None)  # a bad record has no part


def _parts_of(records: Sequence[RecordDoc]) -> dict[str, str] | None:
    parts = {doc["id"]: _digest_part(doc["id"], doc["versions"], True) for doc in records}
    return parts if len(parts) == len(records) else None


def fast_bad_hashes(records: Iterable[RecordDoc], known_good: set[str] | None = None) -> list[str]:
    """Same value as ``versions.bad_hashes``: every version is re-hashed (one C-encoder call and one
    SHA-256 each, no per-call encoder set-up). Hashes in ``known_good`` are trusted without being
    recomputed and the good ones found are added to it — only for a caller that knows those hashes
    belong to content it already checked. Without it nothing is skipped: two versions with one ``h``
    and different content (a hand-edited copy) must both be checked."""
    sha = hashlib.sha256
    hashed = _HASHED
    bad: list[str] = []
    for doc in records:
        for v in doc["versions"]:
            h = v.get("h")
            if known_good is not None and h in known_good:
                continue
            if h != sha(canonical_str({k: v.get(k) for k in hashed}).encode()).hexdigest()[:24]:
                bad.append(doc["id"])
                break
            if known_good is not None:
                known_good.add(h)
    return bad


@dataclass(frozen=True)
class Source:
    """One input of a merge: a session file already read (``name`` is how messages refer to it)."""

    name: str
    meta: SessionMeta
    records: Sequence[RecordDoc]
    log: Sequence[Mapping[str, Any]] = ()
    digest: str = ""  # ``fast_digest(records)`` when the reader already took it, else "" (computed on use)
    parts: Mapping[str, str] | None = None  # ``check_records``'s digest parts, when the reader has them
    sha256: str = ""  # of the file's bytes as read, for the merge log


@dataclass
class SourceStats:
    name: str
    inspector: str
    read: int = 0
    new: int = 0
    present: int = 0
    conflicts: int = 0
    digest: str = ""


@dataclass
class MergeResult:
    records: dict[str, RecordDoc]
    stats: list[SourceStats]
    aliases: dict[str, str] = field(default_factory=dict)
    dropped_branches: list[str] = field(default_factory=list)
    verified: bool = False  # every input version's hash was checked (so hashes are hex)
    #: Digest parts of the records taken unchanged from an input (the rest are built on use).
    parts: dict[str, str] | None = None

    @property
    def conflicts(self) -> list[str]:
        return sorted(rid for rid, doc in self.records.items() if len(doc["versions"]) > 1)

    _digest: str | None = None

    def digest(self) -> str:
        if self._digest is None:
            if self.parts is None:
                self._digest = fast_digest(self.records.values(), verified=self.verified)
            else:
                parts = self.parts
                for rid, doc in self.records.items():
                    if rid not in parts:
                        parts[rid] = _digest_part(rid, doc["versions"], self.verified)
                self._digest = digest_parts(parts)
        return self._digest


# --- verification -----------------------------------------------------------------------------------


def verify_source(src: Source, known_good: set[str] | None = None) -> list[Problem]:
    """Problems with one input's records: versions whose content no longer matches their hash."""
    bad = fast_bad_hashes(src.records, known_good)
    return bad_hash_problems(src.name, bad) if bad else []


def bad_hash_problems(name: str, bad: Sequence[str]) -> list[Problem]:
    """The refusal of input ``name`` whose records ``bad`` fail their content hash."""
    shown = "、".join(bad[:5]) + (f" 等 {len(bad)} 条" if len(bad) > 5 else "")
    return [Problem(name, f"内容校验值不符（文件可能被手工修改或损坏）：{shown}")]


# --- checklist and visit compatibility --------------------------------------------------------------


def checklist_differences(a: Checklist, b: Checklist) -> list[str]:
    """Item-level differences from checklist ``a`` to ``b``, in words."""
    ia = {i.id: i for i in a.items()}
    ib = {i.id: i for i in b.items()}
    out = [f"{i}（仅 {a.version} 有）" for i in ia if i not in ib]
    out += [f"{i}（仅 {b.version} 有）" for i in ib if i not in ia]
    for i in ia:
        if i in ib and ia[i] != ib[i]:
            x, y = ia[i], ib[i]
            what = [k for k in ("title", "full_marks", "scoring", "steps", "problems", "rectification")
                    if getattr(x, k) != getattr(y, k)]
            out.append(f"{i}（{'、'.join(what) or '内容'}不同）")
    if not out and (a.areas != b.areas or a.ratings != b.ratings or a.questions != b.questions):
        out.append("（项目相同；评分档次、领域或通用问题不同）")
    return out


def items_used(records: Iterable[RecordDoc]) -> set[str]:
    used = set()
    for doc in records:
        for v in doc["versions"]:
            item = v["data"].get("item")
            if isinstance(item, str):
                used.add(item)
    return used


def check_compatible(sources: Sequence[Source], checklists: Iterable[Checklist] = ()) -> list[Problem]:
    """Why these inputs cannot be merged (empty when they can). ``checklists`` are the checklists
    known to the caller (shipped ones, ``--checklist`` files) used to name the differing items."""
    problems: list[Problem] = []
    if not sources:
        return problems
    known = {(c.id, c.version, c.content_hash()): c for c in checklists}
    ref0 = sources[0].meta.checklist
    for src in sources[1:]:
        ref = src.meta.checklist
        if ref == ref0:
            continue
        a, b = known.get((ref0.id, ref0.version, ref0.hash)), known.get((ref.id, ref.version, ref.hash))
        if ref.id != ref0.id:
            diff = [f"清单编号不同：{ref0.id} / {ref.id}"]
        elif a is not None and b is not None:
            diff = checklist_differences(a, b)
        else:
            ua, ub = items_used(sources[0].records), items_used(src.records)
            cl_items = {i.id for i in (a or b).items()} if (a or b) else None
            if cl_items is not None:
                extra = sorted((ub if a else ua) - cl_items)
                diff = [f"{i}（不在 {(a or b).version} 中）" for i in extra]
            else:
                diff = [f"{i}（仅 {sources[0].name} 用到）" for i in sorted(ua - ub)]
                diff += [f"{i}（仅 {src.name} 用到）" for i in sorted(ub - ua)]
            diff = diff or ["找不到两个版本的清单文件，无法逐项比较（记录中用到的项目相同）"]
        shown = "；".join(diff[:12]) + (f"；等 {len(diff)} 处" if len(diff) > 12 else "")
        problems.append(Problem(
            src.name,
            f"检查清单版本不同：本文件为 {ref.id} {ref.version}（{ref.hash}），"
            f"{sources[0].name} 为 {ref0.id} {ref0.version}（{ref0.hash}）；不同的项目：{shown}"))
    metas = [s.meta for s in sources]
    if len({m.date for m in metas}) > 1:
        days = "；".join(f"{s.name}：{s.meta.date.isoformat()}" for s in sources)
        problems.append(Problem(sources[0].name, f"观摩日期不一致，不能合并：{days}"))
    group_key = normalize_text if len({m.visit_id for m in metas}) > 1 else (lambda g: g)
    if len({group_key(m.group) for m in metas}) > 1:
        groups = "；".join(f"{s.name}：{s.meta.group}" for s in sources)
        problems.append(Problem(sources[0].name, f"观摩小组不一致，不能合并：{groups}"))
    return problems


def visit_ids(sources: Sequence[Source]) -> list[str]:
    return sorted({s.meta.visit_id for s in sources})


# --- branch matching --------------------------------------------------------------------------------

def merge_sources(sources: Sequence[Source], aliases: Mapping[str, str] | None = None,
                  progress: Callable[[int, int], None] | None = None, *, verified: bool = False) -> MergeResult:
    """Join the records of all ``sources`` (after applying ``aliases``), with per-input statistics.
    ``verified``: the caller has checked every version's hash (``verify_source``)."""
    aliases = dict(aliases or {})
    acc: dict[str, RecordDoc] = {}
    stats: list[SourceStats] = []
    ids_per_source: list[set[str]] = []
    dropped: set[str] = set()
    total = len(sources)
    # Digest parts of records taken as they are from an input that came with parts (read_sources).
    parts: dict[str, str] | None = {} if verified and all(s.parts is not None for s in sources) else None
    for n, src in enumerate(sources):
        st = SourceStats(src.name, src.meta.inspector, read=len(src.records),
                         digest=src.digest or fast_digest(src.records, verified=verified))
        ids: set[str] = set()
        for doc in src.records:
            original = doc
            if aliases:
                moved = rewrite_doc(doc, aliases)
                if moved is None:
                    dropped.add(doc["id"])
                    st.present += 1
                    continue
                doc = moved
            rid = doc["id"]
            ids.add(rid)
            mine = acc.get(rid)
            if mine is None:
                vs = doc["versions"]
                if len(vs) == 1:
                    # A record passed on unchanged is the input's own document (never modified here:
                    # joins build new ones), so a writer can reuse the text it was read from.
                    acc[rid] = doc if len(doc) == 2 else {"id": rid, "versions": list(vs)}
                    if parts is not None and doc is original and src.parts is not None and rid in src.parts:
                        parts[rid] = src.parts[rid]
                else:
                    acc[rid] = {"id": rid, "versions": join_versions(vs)}
                st.new += 1
                continue
            old = mine["versions"]
            theirs = doc["versions"]
            if len(old) == 1 and len(theirs) == 1 and old[0]["h"] == theirs[0]["h"]:
                st.present += 1
                continue
            joined = join_versions(old, theirs)
            if [v["h"] for v in joined] == [v["h"] for v in old]:
                st.present += 1
            else:
                acc[rid] = {"id": rid, "versions": joined}
                if parts is not None:
                    parts.pop(rid, None)
                st.new += 1
        stats.append(st)
        ids_per_source.append(ids)
        if progress:
            progress(n + 1, total)
    conflicted = {rid for rid, doc in acc.items() if len(doc["versions"]) > 1}
    for st, ids in zip(stats, ids_per_source, strict=True):
        st.conflicts = len(ids & conflicted)
    used = {alias: canon for alias, canon in aliases.items() if alias in dropped or canon in acc}
    return MergeResult(acc, stats, used, sorted(dropped), verified, parts)


def merged_meta(sources: Sequence[Source], leader: str, replica: str | None = None) -> SessionMeta:
    """The leader's meta for the merged file: the shared visit data, the leader's name, a new replica.
    With several visit ids (matched independent sessions) the smallest is kept, and the report limit
    most inputs give (the longer on a tie), so the choice does not depend on the order of the inputs."""
    base = min(sources, key=lambda s: (s.meta.visit_id, s.meta.role != "leader", s.name)).meta
    names: list[str] = []
    for s in sources:
        names += [*s.meta.inspectors, s.meta.inspector]
    names = [n for n in dict.fromkeys(names) if n != leader]
    limits = Counter(s.meta.report_limit_minutes for s in sources)
    meta = base.for_inspector(leader, role="leader")
    limit = max(limits, key=lambda minutes: (limits[minutes], minutes))
    update: dict[str, Any] = {"inspectors": (*names, leader), "report_limit_minutes": limit}
    if replica:
        update["replica"] = replica
    return meta.model_copy(update=update)

"""Branch matching for the leader's merge: which branches of different files are one branch, and
the rewrite of every reference to an alias id onto its canonical id.

Branches are the same branch when they have the same id. Otherwise branch records whose names (and
units) are equal after :func:`branch_key` are *proposed* as one branch, and the leader confirms.
The rewrite (:func:`rewrite_doc`) is a pure function of (record, alias map), and the alias map is
computed from the *set* of inputs (plus aliases confirmed in earlier merges, carried in the merge
log), so the merge's result does not depend on the order of its inputs.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from inspect_tui.core.records import Kind
from inspect_tui.core.versions import RecordDoc, VersionDoc, version_hash


class MergeInput(Protocol):
    """What matching reads of a merge input (``core.merge.Source``): its name, records and log."""

    name: str
    records: Sequence[RecordDoc]
    log: Sequence[Mapping[str, Any]]


@dataclass(frozen=True)
class BranchMatch:
    """Branches with different ids proposed (or confirmed) as one: ``members`` are (id, name, files)."""

    canonical: str
    name: str
    members: tuple[tuple[str, str, tuple[str, ...]], ...]

    def describe(self) -> str:
        others = "；".join(f"{name}〔{rid}〕（{'、'.join(files)}）" for rid, name, files in self.members
                          if rid != self.canonical)
        return f"{self.name}〔{self.canonical}〕 ← {others}"


@dataclass(frozen=True)
class BranchMatching:
    confirmed: dict[str, str]  # alias id -> canonical id, from earlier merges (always applied)
    proposed: dict[str, str]  # alias id -> canonical id, by name: applied only when the leader agrees
    matches: tuple[BranchMatch, ...]  # the proposed groups, for display
    ambiguous: tuple[str, ...] = ()  # normalised names that one file uses for several branches

    def aliases(self, apply_proposed: bool) -> dict[str, str]:
        return {**self.confirmed, **self.proposed} if apply_proposed else dict(self.confirmed)


_PREFIXES = ("中国共产党", "中共")
_SUFFIXES = ("党支部委员会", "支部委员会", "党总支部", "党总支", "联合党支部", "党支部", "联合支部", "支部")


def normalize_text(text: str) -> str:
    """NFKC, lower case, without spaces, punctuation and symbols."""
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] not in "PSZC")


def normalize_branch_name(name: str) -> str:
    """The key two spellings of one branch share: ``省财政厅 办公室党支部`` = ``省财政厅办公室支部``."""
    text = normalize_text(name)
    for p in _PREFIXES:
        if text.startswith(p) and len(text) > len(p):
            text = text[len(p):]
            break
    for s in _SUFFIXES:
        if text.endswith(s) and len(text) > len(s):
            text = text[: -len(s)]
            break
    return text


def branch_key(name: str, unit: str = "") -> str:
    """What two branch records must share to be proposed as one branch: the normalised name,
    prefixed by the normalised unit when the name does not already contain it (two "办公室党支部"
    of different units are different branches)."""
    key = normalize_branch_name(name)
    u = normalize_text(unit)
    return key if not u or u in key else f"{u}|{key}"


def logged_aliases(logs: Iterable[Iterable[Mapping[str, Any]]]) -> dict[str, str]:
    """Branch aliases confirmed in earlier merges (``branch_aliases`` of merge log entries)."""
    out: dict[str, str] = {}
    for log in logs:
        for entry in log:
            aliases = entry.get("branch_aliases") if isinstance(entry, Mapping) else None
            if isinstance(aliases, Mapping):
                out.update({str(k): str(v) for k, v in aliases.items()})
    return out


class _Union:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def groups(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for x in list(self.parent):
            out.setdefault(self.find(x), set()).add(x)
        return out


def match_branches(sources: Sequence[MergeInput]) -> BranchMatching:
    """Confirmed aliases (from merge logs) and name-based proposals, computed from the set of inputs."""
    branches: dict[str, dict[str, Any]] = {}  # id -> {"names": set, "files": set}
    live_names: dict[str, str] = {}
    keys: dict[str, str] = {}
    per_file: dict[tuple[str, str], set[str]] = {}  # (file, key) -> ids
    for src in sources:
        for doc in src.records:
            rid = doc["id"]
            vs = doc["versions"]
            if not vs or vs[0]["kind"] != Kind.BRANCH:
                continue
            info = branches.setdefault(rid, {"files": set()})
            info["files"].add(src.name)
            live = [v for v in vs if not v["deleted"]]
            if live:
                data = max(live, key=lambda v: (v["at"], v["h"]))["data"]
                name, key = data["name"], branch_key(data["name"], data.get("unit", ""))
                live_names[rid] = min(live_names.get(rid, name), name)
                keys[rid] = min(keys.get(rid, key), key)
                per_file.setdefault((src.name, key), set()).add(rid)

    confirmed_raw = logged_aliases(s.log for s in sources)
    known = _Union()
    for a, c in confirmed_raw.items():
        known.union(a, c)
    by_key: dict[str, set[str]] = {}
    for rid, key in keys.items():
        by_key.setdefault(key, set()).add(rid)
    # A name one file uses for several branches cannot be matched by name when another file has it too.
    ambiguous = sorted({key for (_f, key), ids in per_file.items() if len(ids) > 1 and by_key[key] - ids})
    proposed_u = _Union()
    for a, c in confirmed_raw.items():
        proposed_u.union(a, c)
    for key, ids in by_key.items():
        if key in ambiguous or len(ids) < 2:
            continue
        first, *rest = sorted(ids)
        for other in rest:
            proposed_u.union(first, other)

    def canon(group: set[str]) -> str:
        present = sorted(g for g in group if g in branches)
        return present[0] if present else min(group)

    confirmed: dict[str, str] = {}
    for group in known.groups().values():
        c = canon(group)
        confirmed.update({g: c for g in group if g != c})
    proposed: dict[str, str] = {}
    matches = []
    for group in proposed_u.groups().values():
        c = canon(group)
        fresh = {g: c for g in group if g != c and confirmed.get(g) != c}
        if not fresh:
            continue
        proposed.update({g: c for g in group if g != c})
        members = tuple((g, live_names.get(g, "?"), tuple(sorted(branches[g]["files"])))
                        for g in sorted(group) if g in branches)
        matches.append(BranchMatch(c, live_names.get(c, "?"), members))
    matches.sort(key=lambda m: (m.name, m.canonical))
    return BranchMatching(confirmed, proposed, tuple(matches), tuple(ambiguous))


def _rewrite_str(s: str, aliases: Mapping[str, str]) -> str:
    if s in aliases:
        return aliases[s]
    if "/" in s:
        for alias, canon in aliases.items():
            token = f"/{alias}/"
            if token in s:
                return s.replace(token, f"/{canon}/")
    return s


def rewrite_doc(doc: RecordDoc, aliases: Mapping[str, str]) -> RecordDoc | None:
    """``doc`` with branch references moved to canonical ids; ``None`` for an alias branch record.
    A pure function of (doc, aliases): the same input gives the same versions and hashes anywhere."""
    if not aliases:
        return doc
    rid = doc["id"]
    vs = doc["versions"]
    if vs and vs[0]["kind"] == Kind.BRANCH:
        return None if rid in aliases else doc
    hit = {v["data"].get("branch") for v in vs} & aliases.keys()
    if not hit:
        return doc
    aliases = {a: aliases[a] for a in hit}
    new_versions: list[VersionDoc] = []
    for v in vs:
        data = v["data"]
        moved = {k: new for k in ("branch", "source")
                 if isinstance(val := data.get(k), str) and (new := _rewrite_str(val, aliases)) != val}
        if moved:
            nv = {**v, "data": {**data, **moved}}
            nv["h"] = version_hash(nv)
            new_versions.append(nv)
        else:
            new_versions.append(v)
    new_id = _rewrite_str(rid, aliases)
    return {"id": new_id, "versions": sorted(new_versions, key=lambda v: v["h"])}


# --- the join ---------------------------------------------------------------------------------------

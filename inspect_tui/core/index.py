"""An in-memory index over a session's records, by branch and kind.

The store holds record docs (sets of versions); the UI and the analysis want "the current value of
each record, grouped by branch". This index gives that in O(1) per update so a save never rescans
the session.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from inspect_tui.core.records import Kind
from inspect_tui.core.versions import RecordDoc, VersionDoc, winner

_KINDS = {k.value: k for k in Kind}  # a dict lookup: ``Kind(x)`` per record was a fifth of opening


@dataclass(frozen=True)
class Rec:
    """The current value of one record. ``conflict`` is true while concurrent versions are open."""

    id: str
    kind: Kind
    data: dict[str, Any]
    author: str
    by: str
    at: str
    deleted: bool
    versions: tuple[VersionDoc, ...]

    @property
    def conflict(self) -> bool:
        return len(self.versions) > 1

    @property
    def branch(self) -> str:
        return self.id if self.kind is Kind.BRANCH else self.data["branch"]

    @classmethod
    def of(cls, doc: RecordDoc) -> Rec:
        """The record's current value. Built without the frozen ``__init__`` (eight
        ``object.__setattr__`` calls): opening a session makes one ``Rec`` per record."""
        versions = doc["versions"]
        v = winner(versions)
        rec = object.__new__(cls)
        object.__setattr__(rec, "__dict__", {
            "id": doc["id"], "kind": _KINDS[v["kind"]], "data": v["data"], "author": v["author"], "by": v["by"],
            "at": v["at"], "deleted": v["deleted"], "versions": tuple(versions)})
        return rec


class RecordIndex:
    def __init__(self, docs: Iterable[RecordDoc] = ()) -> None:
        self._all: dict[str, Rec] = {}
        self._by_branch: dict[str, dict[str, Rec]] = defaultdict(dict)
        self.changes: dict[str, int] = defaultdict(int)  # per branch: bumped on every applied change
        for doc in docs:
            self.apply(doc)

    def apply(self, doc: RecordDoc) -> Rec:
        rec = Rec.of(doc)
        self._all[rec.id] = rec
        branch = rec.branch
        self._by_branch[branch][rec.id] = rec
        self.changes[branch] += 1
        return rec

    def get(self, record_id: str) -> Rec | None:
        """The record, including a deleted one (callers building on it need its versions)."""
        return self._all.get(record_id)

    def live(self, record_id: str) -> Rec | None:
        rec = self._all.get(record_id)
        return None if rec is None or rec.deleted else rec

    def __len__(self) -> int:
        return len(self._all)

    def of_branch(self, branch: str, kind: Kind | None = None) -> list[Rec]:
        recs = self._by_branch.get(branch, {}).values()
        return [r for r in recs if not r.deleted and (kind is None or r.kind is kind)]

    def branches(self) -> list[Rec]:
        recs = [r for r in self._all.values() if r.kind is Kind.BRANCH and not r.deleted]
        return sorted(recs, key=lambda r: (r.data.get("order", 0), r.data["name"]))

    def conflicts(self) -> list[Rec]:
        return [r for r in self._all.values() if r.conflict]

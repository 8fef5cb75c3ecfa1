"""One finding, however many inspectors wrote it down.

Inspectors visiting a branch together often record the same problem (highlight, suggestion) in
their own copies; after the leader's merge the session holds it several times. Everything that
counts or lists findings — the branch table, the review, ``session show``, the PDFs, the workbooks —
goes through :func:`fold`, so a problem recorded by three inspectors is one problem everywhere,
and nothing an inspector recorded is lost: the folded entry keeps every member record, with its
id, author and evidence.

Two records fold when they are of the same kind, for the same branch, with the same text once
normalised (:func:`normalise`: full/half width, case, whitespace, punctuation, zero-width and
bidi marks ignored) and either the same checklist item or no item on one side — an inspector who
did not tag the item wrote the same finding as the one who did. An untagged record whose text
matches findings under *several* items stays on its own: which one it meant is not ours to guess.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from inspect_tui.core.index import Rec
from inspect_tui.core.records import Kind

FOLDED_KINDS = (Kind.PROBLEM, Kind.HIGHLIGHT, Kind.SUGGESTION)
_DROPPED_CATEGORIES = ("P", "Z", "C")  # punctuation, separators, controls/format (zero-width, bidi)


@functools.lru_cache(maxsize=16384)  # the same texts are compared again on every re-score
def normalise(text: str) -> str:
    """The comparison key of a finding's text: NFKC (full-width → half-width), case-folded, without
    whitespace, punctuation or invisible characters. Text made only of those keeps its stripped form,
    so "！！" and "？？" stay different findings."""
    n = unicodedata.normalize("NFKC", text).casefold()
    key = "".join(ch for ch in n if not ch.isspace() and unicodedata.category(ch)[0] not in _DROPPED_CATEGORIES)
    return key or n.strip()


@dataclass(frozen=True)
class Folded:
    """One finding: its members are the records that say it, earliest first."""

    kind: Kind
    branch: str
    item: str | None
    key: str
    members: tuple[Rec, ...]

    @property
    def text(self) -> str:
        """As the earliest inspector wrote it."""
        return self.members[0].data["text"].strip()

    @property
    def record_ids(self) -> tuple[str, ...]:
        return tuple(r.id for r in self.members)

    @property
    def authors(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.author for r in self.members))

    @property
    def evidence(self) -> tuple[str, ...]:
        """Every member's evidence, repeats folded the same way as the texts."""
        seen: dict[str, str] = {}
        for r in self.members:
            ev = (r.data.get("evidence") or "").strip()
            if ev:
                seen.setdefault(normalise(ev), ev)
        return tuple(seen.values())

    @property
    def sources(self) -> tuple[str, ...]:
        """Ids of the observations the members were promoted from."""
        return tuple(dict.fromkeys(s for r in self.members if (s := r.data.get("source"))))

    @property
    def at(self) -> str:
        return self.members[0].at


def _order(r: Rec) -> tuple[str, str]:
    return (r.at, r.id)


def fold(records: Iterable[Rec], kinds: Iterable[Kind] = FOLDED_KINDS) -> list[Folded]:
    """The findings of ``kinds`` among ``records`` (live ones; others are ignored), folded, in the
    order of each finding's earliest record."""
    wanted = set(kinds)
    groups: dict[tuple[Kind, str, str | None, str], list[Rec]] = {}
    for r in records:
        if r.kind in wanted and not r.deleted:
            groups.setdefault((r.kind, r.branch, r.data.get("item") or None, normalise(r.data["text"])), []).append(r)
    tagged: dict[tuple[Kind, str, str], list[tuple[Kind, str, str | None, str]]] = {}
    for key in groups:
        if key[2] is not None:
            tagged.setdefault((key[0], key[1], key[3]), []).append(key)
    for key in [k for k in groups if k[2] is None]:
        homes = tagged.get((key[0], key[1], key[3]), [])
        if len(homes) == 1:
            groups[homes[0]] += groups.pop(key)
    out = [Folded(kind=k[0], branch=k[1], item=k[2], key=k[3], members=tuple(sorted(members, key=_order)))
           for k, members in groups.items()]
    return sorted(out, key=lambda f: _order(f.members[0]))


def count_folded(records: Iterable[Rec], kind: Kind = Kind.PROBLEM) -> int:
    """How many distinct findings of ``kind``: the number every view prints."""
    return len(fold(records, (kind,)))


def folded_by_record(folded: Iterable[Folded]) -> dict[str, Folded]:
    """Each member record's id → its folded finding (to follow a link such as a demand's problem)."""
    return {rid: f for f in folded for rid in f.record_ids}

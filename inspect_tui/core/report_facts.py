"""What a summary report needs from one session, and nothing more: per branch, its scores (from
``analyse_branch``), interview counts, problems, highlights and unsettled points.

Reports across branches, groups and provinces are computed from these facts only, so the same
numbers reach the PDF, the workbook, the app and the CLI, and a report over hundreds of sessions
can work from a compact digest (plain JSON, see ``to_json`` / ``from_json``) instead of re-reading
whole session files. Facts hold no rule of their own: ratings, ranks and rates are derived from
the checklist by ``core.report``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from inspect_tui.core.checklist import Checklist
from inspect_tui.core.disagreements import branch_disagreements
from inspect_tui.core.folding import fold
from inspect_tui.core.history import KIND_LABELS
from inspect_tui.core.index import Rec, RecordIndex
from inspect_tui.core.records import Kind
from inspect_tui.core.scoring import BranchResult, analyse_branch

FACTS_FORMAT = 3  # bump when the shape or meaning of the facts changes: cached digests are then rebuilt


_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f\x7f-\x9f]+")


def norm_text(text: str) -> str:
    """Whitespace and control characters collapsed to one space: the identity of a typed text (two
    inspectors typing the same thing), and nothing a printer or a spreadsheet cannot show."""
    return _SPACE_OR_CONTROL.sub(" ", text).strip()


@dataclass(frozen=True)
class ProblemFact:
    item: str | None
    text: str
    evidence: str = ""
    suggestion: str = ""


@dataclass(frozen=True)
class HighlightFact:
    item: str | None
    text: str


@dataclass(frozen=True)
class BranchFacts:
    id: str
    name: str
    unit: str
    total: float
    scored: int  # items with a value; the branch is evaluated when every item has one
    items: tuple[float | None, ...]  # per checklist item, in checklist order
    areas: tuple[float, ...]  # per checklist area
    interviews: int
    asked: int  # interviews judged adequate or not
    adequate: int
    problems: tuple[ProblemFact, ...] = ()
    highlights: tuple[HighlightFact, ...] = ()
    unsettled: tuple[str, ...] = ()  # "检查项（分数、看）" per unsettled item, then each edit conflict
    group: str = ""
    source: str = ""  # the session file the branch comes from

    @property
    def evaluated(self) -> bool:
        return self.scored == len(self.items)

    @property
    def awareness(self) -> float | None:
        return self.adequate / self.asked if self.asked else None


@dataclass(frozen=True)
class SessionFacts:
    source: str
    visit_id: str
    group: str
    date: str
    inspectors: tuple[str, ...]
    checklist: tuple[str, str, str]  # id, version, content hash
    branches: tuple[BranchFacts, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        """Plain data (what ``dataclasses.asdict`` gives, at a fifth of its cost: one per session parsed)."""
        return {"format": FACTS_FORMAT, **vars(self),
                "branches": [{**vars(b), "problems": [dict(vars(p)) for p in b.problems],
                              "highlights": [dict(vars(h)) for h in b.highlights]} for b in self.branches]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SessionFacts:
        if data.get("format") != FACTS_FORMAT:
            raise ValueError("digest format differs")
        branches = tuple(
            BranchFacts(**{**b, "items": tuple(b["items"]), "areas": tuple(b["areas"]),
                           "problems": tuple(ProblemFact(**p) for p in b["problems"]),
                           "highlights": tuple(HighlightFact(**h) for h in b["highlights"]),
                           "unsettled": tuple(b["unsettled"])})
            for b in data["branches"])
        return cls(source=data["source"], visit_id=data["visit_id"], group=data["group"], date=data["date"],
                   inspectors=tuple(data["inspectors"]), checklist=tuple(data["checklist"]), branches=branches)


def conflict_label(checklist: Checklist, rec: Rec) -> str:
    """An unresolved concurrent edit, named as the leader finds it: kind, item, what it says."""
    titles = {i.id: i.title for i in checklist.items()}
    item = rec.data.get("item")
    where = f"·{titles[item]}" if item in titles else ""
    text = norm_text(str(rec.data.get("text") or rec.data.get("question") or rec.data.get("name") or ""))[:30]
    return f"{KIND_LABELS[rec.kind]}{where}{'「' + text + '」' if text else ''}（{len(rec.versions)} 个并存版本，编辑冲突未解决）"


def branch_facts(checklist: Checklist, branch: Rec, records: list[Rec], *, group: str, source: str,
                 result: BranchResult | None = None, conflicts: Iterable[Rec] = ()) -> BranchFacts:
    """The facts of one branch; problems and highlights several inspectors typed alike count once.
    ``conflicts``: the branch's records (deleted ones included) with more than one maximal version —
    until someone who has seen every version settles them, the scores shown are one version's guess,
    so they are unsettled like a disagreement."""
    result = result or analyse_branch(checklist, branch, records)
    suggestions: dict[str | None, list[str]] = {}
    for r in records:
        if r.kind is Kind.SUGGESTION:
            suggestions.setdefault(r.data.get("item"), []).append(norm_text(r.data["text"]))
    folded = fold(records, (Kind.PROBLEM, Kind.HIGHLIGHT))  # the same findings, and count, as everywhere else
    problems = [ProblemFact(f.item, norm_text(f.text), norm_text("；".join(f.evidence)),
                            "；".join(dict.fromkeys(suggestions.get(f.item, []))))
                for f in folded if f.kind is Kind.PROBLEM]
    highlights = [HighlightFact(f.item, norm_text(f.text)) for f in folded if f.kind is Kind.HIGHLIGHT]
    fields: dict[str, list[str]] = {}
    for d in branch_disagreements(checklist, branch, records, result=result):
        fields.setdefault(d.item_title, []).append(d.field_label)
    interviews = sum(1 for r in records if r.kind is Kind.INTERVIEW)
    return BranchFacts(
        id=branch.id, name=norm_text(branch.data["name"]), unit=norm_text(branch.data.get("unit", "")),
        total=result.total,
        scored=result.scored_items, items=tuple(i.value for i in result.items),
        areas=tuple(a.score for a in result.areas), interviews=interviews, asked=result.asked,
        adequate=result.adequate, problems=tuple(problems), highlights=tuple(highlights),
        unsettled=(*(f"{title}（{'、'.join(f)}）" for title, f in fields.items()),
                   *(conflict_label(checklist, r) for r in conflicts)),
        group=group, source=source)


def session_facts(meta: Any, checklist: Checklist, index: RecordIndex, source: str) -> SessionFacts:
    """Facts of every branch of a session (``meta``: its ``SessionMeta``)."""
    conflicts: dict[str, list[Rec]] = {}
    for r in index.conflicts():
        conflicts.setdefault(r.branch, []).append(r)
    branches = tuple(branch_facts(checklist, b, index.of_branch(b.id), group=meta.group, source=source,
                                  conflicts=sorted(conflicts.get(b.id, ()), key=lambda r: r.id))
                     for b in index.branches())
    return SessionFacts(source=source, visit_id=meta.visit_id, group=meta.group, date=meta.date.isoformat(),
                        inspectors=tuple(meta.inspectors),
                        checklist=(checklist.id, checklist.version, checklist.content_hash()), branches=branches)

"""Disagreements between inspectors, shown side by side, and the group's verdicts that settle them.

``analyse_branch`` decides *whether* an item is unsettled (scores differ, or look/check statuses
differ, and no verdict covers that field). This module says *who said what*: for each unsettled
field, every inspector's value with their note and evidence, so the leader compares them instead of
seeing an average. A verdict is an ordinary record (``Kind.VERDICT`` with the deterministic
``verdict_id(branch, item, field)``), saved through ``Session.save``: it carries author and time and
merges like every other record — two leaders settling the same point concurrently give a conflict,
never two verdicts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from inspect_tui.core.checklist import Checklist
from inspect_tui.core.format import fmt_score
from inspect_tui.core.index import Rec, RecordIndex
from inspect_tui.core.labels import FIELD_LABELS, status_label
from inspect_tui.core.records import STATUS_LABELS, Kind, Status, verdict_id
from inspect_tui.core.scoring import BranchResult, ItemResult, analyse_branch
from inspect_tui.core.steps import Step
from inspect_tui.errors import UserError

if TYPE_CHECKING:
    from inspect_tui.store.session import Session

FIELDS = ("score", "look", "check")
_STATUS_WORDS = {**{s.value: s for s in Status}, **{label: s for s, label in STATUS_LABELS.items()}}


@dataclass(frozen=True)
class Opinion:
    """One inspector's value for one field of one item."""

    inspector: str
    value: float | str  # a score, or a Status value
    note: str = ""
    record_id: str | None = None
    at: str = ""
    derived: bool = False  # a score suggested from the inspector's observations, not typed

    @property
    def label(self) -> str:
        if isinstance(self.value, str):
            return STATUS_LABELS[Status(self.value)]
        return fmt_score(self.value) + ("（按观察推算）" if self.derived else "")


@dataclass(frozen=True)
class Disagreement:
    branch: str
    branch_name: str
    item: str
    item_title: str
    field: str
    opinions: tuple[Opinion, ...]
    verdict: Rec | None = None

    @property
    def settled(self) -> bool:
        return self.verdict is not None

    @property
    def field_label(self) -> str:
        return FIELD_LABELS[self.field]

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.branch, self.item, self.field)

    def opinion_of(self, inspector: str) -> Opinion | None:
        return next((o for o in self.opinions if o.inspector == inspector), None)

    @property
    def verdict_label(self) -> str:
        if self.verdict is None:
            return ""
        d = self.verdict.data
        return status_label(d.get("status")) if self.field != "score" else fmt_score(d.get("score")) \
            if d.get("score") is not None else "—"


def _note(rec: Rec) -> str:
    parts = [rec.data.get("note") or "", rec.data.get("evidence") or ""]
    return "；".join(p for p in parts if p)


def branch_disagreements(checklist: Checklist, branch: Rec, records: Iterable[Rec], *,
                         include_settled: bool = False, result: BranchResult | None = None) -> list[Disagreement]:
    """Every field of every item of ``branch`` on which inspectors differ, in checklist order
    (``result``: the branch's ``analyse_branch`` over the same records, when the caller has it)."""
    records = list(records)
    result = result or analyse_branch(checklist, branch, records)
    scores: dict[tuple[str, str], Rec] = {}
    observations: dict[tuple[str, str, str], Rec] = {}
    verdicts: dict[tuple[str, str], Rec] = {}
    for r in records:
        if r.kind is Kind.SCORE:
            scores[(r.data["item"], r.author)] = r
        elif r.kind is Kind.OBSERVATION:
            observations[(r.data["item"], r.data["step"], r.author)] = r
        elif r.kind is Kind.VERDICT:
            verdicts[(r.data["item"], r.data["field"])] = r
    out: list[Disagreement] = []
    for ir in result.items:
        out += _item_disagreements(branch, ir, scores, observations, verdicts, include_settled)
    return out


def _item_disagreements(branch: Rec, ir: ItemResult, scores: dict, observations: dict, verdicts: dict,
                        include_settled: bool) -> list[Disagreement]:
    item = ir.item.id
    found: list[Disagreement] = []
    if len(set(ir.scores.values())) > 1:
        ops = []
        for author, value in sorted(ir.scores.items()):
            rec = scores.get((item, author))
            typed = rec is not None and rec.data.get("score") is not None
            ops.append(Opinion(author, value, _note(rec) if typed else "", rec.id if typed else None,
                               rec.at if typed else "", derived=not typed))
        found.append(Disagreement(branch.id, branch.data["name"], item, ir.item.title, "score", tuple(ops),
                                  verdicts.get((item, "score"))))
    for step in (Step.LOOK, Step.CHECK):
        judged = {a: s for (a, st), s in ir.statuses.items() if st is step}
        if len(set(judged.values())) > 1:
            ops = []
            for author, status in sorted(judged.items()):
                rec = observations[(item, step.value, author)]  # a status comes from an observation
                ops.append(Opinion(author, status.value, _note(rec), rec.id, rec.at))
            found.append(Disagreement(branch.id, branch.data["name"], item, ir.item.title, step.value,
                                      tuple(ops), verdicts.get((item, step.value))))
    return [d for d in found if include_settled or not d.settled]


def list_disagreements(checklist: Checklist, index: RecordIndex, *, branch: str | None = None,
                       include_settled: bool = False) -> list[Disagreement]:
    """Disagreements of one branch (by id) or of every branch, in visit order."""
    branches = index.branches()
    if branch is not None:
        branches = [b for b in branches if b.id == branch]
    out: list[Disagreement] = []
    for b in branches:
        out += branch_disagreements(checklist, b, index.of_branch(b.id), include_settled=include_settled)
    return out


def numbered_inspectors(inspectors: Iterable[str], found: Iterable[Disagreement], leader: str = "") -> list[str]:
    """The one numbering of inspectors for adopting a value: the session's inspectors in their order
    (the leader left out), then anyone else with an opinion. The merge table's number keys, the
    settle dialog and ``disagreements``/``settle --from N`` all use it."""
    names = [n for n in inspectors if n != leader]
    others = sorted({o.inspector for d in found for o in d.opinions} - set(names))
    return [*names, *others]


def format_disagreement(d: Disagreement, numbering: list[str] | None = None, number: int | None = None) -> str:
    lines = [f"  {f'{number}. ' if number else ''}{d.item_title}（{d.field_label}）"]
    numbering = numbering or sorted(o.inspector for o in d.opinions)
    width = max(len(o.inspector) for o in d.opinions)
    for n, name in enumerate(numbering, 1):
        o = d.opinion_of(name)
        if o is None:
            continue
        pad = "　" * (width - len(o.inspector))
        lines.append(f"    {n}. {o.inspector}{pad}：{o.label}" + (f" — {o.note}" if o.note else ""))
    if d.verdict is not None:
        v = d.verdict
        lines.append(f"    ✔ 小组裁定：{d.verdict_label}（{v.by}，{v.at[:16].replace('T', ' ')}）"
                     + (f" 理由：{v.data['reason']}" if v.data.get("reason") else ""))
    return "\n".join(lines)


def item_number(checklist: Checklist, item_id: str) -> int:
    """An item's 1-based position in its checklist: what the app and ``disagreements`` print."""
    return next(n for n, i in enumerate(checklist.items(), 1) if i.id == item_id)


def find_item(checklist: Checklist, text: str) -> Any:
    """A checklist item by its number (as printed), its id or its exact title; ``UserError`` otherwise."""
    text = str(text).strip()
    items = checklist.items()
    if text.isdigit() and 1 <= int(text) <= len(items):
        return items[int(text) - 1]
    found = [i for i in items if text in (i.id, i.title)]
    if len(found) == 1:
        return found[0]
    raise UserError(f"清单 {checklist.id} {checklist.version} 中没有项目“{text}”",
                    hint="用 disagreements 列出的项目序号，或项目名称。")


def find_branch(index: RecordIndex, text: str) -> Rec:
    """A branch by id, 1-based position, exact name or normalised name; ``UserError`` otherwise."""
    from inspect_tui.core.merge import normalize_branch_name

    text = text.strip()
    branches = index.branches()
    rec = index.live(text)
    if rec is not None and rec.kind is Kind.BRANCH:
        return rec
    if text.isdigit() and 1 <= int(text) <= len(branches):
        return branches[int(text) - 1]
    exact = [b for b in branches if b.data["name"] == text]
    if len(exact) == 1:
        return exact[0]
    key = normalize_branch_name(text)
    loose = [b for b in branches if normalize_branch_name(b.data["name"]) == key]
    if len(loose) == 1:
        return loose[0]
    listing = "；".join(f"{n}. {b.data['name']}" for n, b in enumerate(branches, 1))
    raise UserError(f"找不到支部“{text}”" + ("（有多个同名支部，请用编号）" if loose else ""),
                    hint=f"本会话的支部：{listing}" if branches else "本会话还没有支部。")


def parse_value(checklist: Checklist, item: str, field: str, value: Any) -> dict[str, Any]:
    """The verdict payload part for a typed value: ``{"score": x}`` or ``{"status": s}``."""
    if field == "score":
        try:
            score = float(value)
        except (TypeError, ValueError):
            raise UserError(f"分数“{value}”不是数字") from None
        full = checklist.item(item).full_marks
        if not 0 <= score <= full:
            raise UserError(f"分数 {fmt_score(score)} 超出范围：项目 {item} 满分 {fmt_score(full)}")
        return {"score": score}
    status = _STATUS_WORDS.get(str(value).strip().lower())  # lower() leaves the Chinese labels as they are
    if status is None:
        raise UserError(f"“{value}”不是有效的判断", hint="可用：符合、部分符合、不符合、不适用（meets/partly/not/na）")
    return {"status": status.value}


def inspector_value(checklist: Checklist, index: RecordIndex, branch: str, item: str, field: str,
                    inspector: str) -> Any:
    """What ``inspector`` recorded for this field (a score or a status value); ``UserError`` if nothing."""
    b = index.live(branch)
    result = analyse_branch(checklist, b, index.of_branch(branch)).item(item)
    if field == "score":
        found: dict[str, Any] = dict(result.scores)
    else:
        found = {a: s.value for (a, st), s in result.statuses.items() if st.value == field}
    if inspector not in found:
        who = "、".join(sorted(found)) or "（无人记录）"
        raise UserError(f"{inspector} 没有记录该项的{FIELD_LABELS[field]}", hint=f"有记录的观摩员：{who}")
    return found[inspector]


def settle(session: Session, branch: str, item: str, field: str, *, value: Any = None,
           chosen_from: str | None = None, reason: str = "") -> Rec:
    """Record the group's verdict for one field of one item (pick an inspector's value, or give a
    value and a reason). Saved durably through ``Session.save`` like every other record."""
    if field not in FIELDS:
        raise UserError(f"未知字段“{field}”", hint="可用：score（分数）、look（看）、check（查）")
    cl = session.checklist
    item = find_item(cl, item).id
    b = session.index.live(branch)
    if b is None or b.kind is not Kind.BRANCH:
        raise UserError(f"会话中没有支部“{branch}”")
    reason = (reason or "").strip()
    if (value is None) == (chosen_from is None):
        raise UserError("请给出裁定值（附理由），或指定采纳哪位观摩员的值")
    if chosen_from is not None:
        picked = inspector_value(cl, session.index, branch, item, field, chosen_from)
        part = {"score": float(picked)} if field == "score" else {"status": picked}
        reason = reason or f"采纳{chosen_from}的意见"
    else:
        part = parse_value(cl, item, field, value)
        if not reason:
            raise UserError("直接给出裁定值时须写明理由（--reason）")
    data = {"branch": branch, "item": item, "field": field, "reason": reason, "chosen_from": chosen_from, **part}
    return session.save(Kind.VERDICT, data, verdict_id(branch, item, field))

"""The rectification ledger (整改台账): one entry per item of every issued notice, and its state.

An entry (``ledger_entry`` record) is the item as issued; everything that happens to it afterwards
is a ``ledger_change`` record — measures reported, evidence attached, checked, struck off (销号),
re-opened. Changes are only ever added, so copies carried to the branches merge by union like any
other records, and the history of an item is its list of changes. The item's *state* is the fold
of its changes in time order (ties by id, so every laptop folds the same way).

The rules of the ledger live here, for the CLI, the app, the workbook import and the fold alike:

* which status may follow which (``ALLOWED``);
* 已销号 only with evidence (files or text) and a named checker with the date of the check;
* 未通过 only with a reason and a new deadline; a struck-off item changes only by re-opening it.

A change that breaks a rule is refused when it is made. Two changes made concurrently on two
laptops can each be valid alone and contradict each other once merged (one inspector strikes an
item off while another fails it): the fold keeps the first, and the second is listed as a conflict
on the item (never dropped) for the leader to settle with a new change.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from inspect_tui.core.index import Rec
from inspect_tui.core.labels import CATEGORY_LABELS
from inspect_tui.core.labels import LEDGER_FIELD_LABELS as FIELD_LABELS
from inspect_tui.core.labels import LEDGER_STATUS_LABELS as STATUS_LABELS
from inspect_tui.core.records import Category, Kind, LedgerStatus

S = LedgerStatus
ALLOWED: Mapping[LedgerStatus, frozenset[LedgerStatus]] = {
    S.OPEN: frozenset({S.IN_PROGRESS, S.TO_CHECK, S.CLOSED, S.FAILED}),
    S.IN_PROGRESS: frozenset({S.OPEN, S.TO_CHECK, S.CLOSED, S.FAILED}),
    S.TO_CHECK: frozenset({S.IN_PROGRESS, S.CLOSED, S.FAILED}),
    S.FAILED: frozenset({S.IN_PROGRESS, S.TO_CHECK, S.CLOSED}),
    S.CLOSED: frozenset({S.FAILED}),
}
DONE = frozenset({S.TO_CHECK, S.CLOSED})  # the branch reports the work finished
IMMEDIATE_DAYS = 7  # a deadline within a week of the visit reads as 立行立改


def status_of(text: str) -> LedgerStatus:
    """A status by key or label (``closed`` or ``已销号``); ``ValueError`` names the valid ones."""
    text = text.strip()
    for s, label in STATUS_LABELS.items():
        if text in (s.value, label):
            return s
    raise ValueError(f"“{text}”不是台账状态（应为 {'、'.join(STATUS_LABELS.values())}）")


def category_of(text: str) -> Category:
    text = text.strip()
    for c, label in CATEGORY_LABELS.items():
        if text in (c.value, label):
            return c
    raise ValueError(f"“{text}”不是整改类别（应为 {'、'.join(CATEGORY_LABELS.values())}）")


def ref_of(entry_id: str) -> str:
    """The short id people type and read: ``<发文字号>/<序号>``."""
    return entry_id.partition("/")[2] or entry_id


@dataclass(frozen=True)
class LedgerItem:
    """An entry with its changes folded in: what the ledger shows for one item."""

    id: str
    branch: str
    notice_no: str
    visit_id: str
    no: int
    item: str | None
    item_title: str
    area: str
    problem: str
    requirement: str
    category: Category
    responsible: str
    original_deadline: date | None
    deadline: date | None
    status: LedgerStatus = S.OPEN
    measures: str = ""
    completed_on: date | None = None
    evidence_text: str = ""
    evidence_files: tuple[str, ...] = ()
    checker: str = ""
    checked_on: date | None = None
    note: str = ""
    reason: str = ""
    closed_on: date | None = None
    changes: tuple[Rec, ...] = ()
    conflicts: tuple[tuple[Rec, str], ...] = ()

    @property
    def ref(self) -> str:
        return ref_of(self.id)

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def category_label(self) -> str:
        return CATEGORY_LABELS[self.category]

    def days_left(self, today: date) -> int | None:
        """Days until the deadline (negative: overdue); None when struck off or without a deadline."""
        if self.status is S.CLOSED or self.deadline is None:
            return None
        return (self.deadline - today).days

    def overdue(self, today: date) -> bool:
        left = self.days_left(today)
        return left is not None and left < 0 and self.status is not S.TO_CHECK

    def on_time(self) -> bool:
        """Finished (reported done, or struck off) no later than the original deadline. A check
        date alone is no finish date: outside a strike-off it is the date of a failed check."""
        done = self.completed_on or self.closed_on
        if self.status not in DONE or done is None:
            return False
        return self.original_deadline is None or done <= self.original_deadline


def entry_data(notice: Mapping[str, Any], item: Mapping[str, Any], branch: str) -> dict[str, Any]:
    """A ledger entry's data from one item of a notice's canonical data (embedded JSON or rebuilt)."""
    deadline = item.get("deadline")
    category = Category.DEADLINE
    if deadline is None:
        category = Category.ONGOING
    elif (date.fromisoformat(deadline) - date.fromisoformat(notice["date"])).days <= IMMEDIATE_DAYS:
        category = Category.IMMEDIATE
    return {"branch": branch, "notice_no": notice["doc_no"], "visit_id": notice["visit_id"], "no": int(item["no"]),
            "item": item.get("item_id") or None, "item_title": item.get("item", ""), "area": item.get("area", ""),
            "problem": item.get("problem", ""), "requirement": item["requirement"], "category": category.value,
            "responsible": item.get("responsible", ""), "deadline": deadline}


def check_change(item: LedgerItem, change: Mapping[str, Any]) -> str | None:
    """Why ``change`` may not be applied to ``item`` now, or None when it may."""
    new = change.get("status")
    new = LedgerStatus(new) if new is not None else None
    if item.status is S.CLOSED and new is not S.FAILED:
        return "该事项已销号，只能以“未通过”重新打开（需写明原因和新的整改时限）"
    if new is not None and new is not item.status and new not in ALLOWED[item.status]:
        return f"不能从“{STATUS_LABELS[item.status]}”直接改为“{STATUS_LABELS[new]}”"
    after = apply_fields(item, change)
    if new is S.CLOSED:
        missing = [w for w, ok in (("佐证材料或佐证说明", after.evidence_files or after.evidence_text.strip()),
                                   ("核查人", (change.get("checker") or "").strip()),
                                   ("核查日期", change.get("checked_on"))) if not ok]
        if missing:
            return "销号需要" + "、".join(missing)
    if new is S.FAILED:
        missing = [w for w, ok in (("未通过原因", (change.get("reason") or "").strip()),
                                   ("新的整改时限", change.get("deadline"))) if not ok]
        if missing:
            return "判为未通过需要" + "、".join(missing)
    return _dates_out_of_order(item, after, new, _day(change.get("checked_on")))


def _dates_out_of_order(item: LedgerItem, after: LedgerItem, new: LedgerStatus | None,
                        checked: date | None) -> str | None:
    """Dates that cannot all be true: a check before the work it checks was reported done, a
    re-opening before the 销号 it reverses, a new deadline not after the check that set it."""
    if checked is None or new not in (S.CLOSED, S.FAILED):
        return None
    if new is S.CLOSED and after.completed_on is not None and checked < after.completed_on:
        return f"核查日期 {checked} 早于完成时间 {after.completed_on}"
    if new is S.FAILED and item.closed_on is not None and checked < item.closed_on:
        return f"核查日期 {checked} 早于该事项的销号日期 {item.closed_on}"
    if new is S.FAILED and after.deadline is not None and after.deadline <= checked:
        return f"新的整改时限 {after.deadline} 应晚于核查日期 {checked}"
    return None


def _day(value: Any) -> date | None:
    return value if isinstance(value, date) or value is None else date.fromisoformat(value)


def apply_fields(item: LedgerItem, change: Mapping[str, Any]) -> LedgerItem:
    """``item`` with the change's values (and status) applied; no rule is checked here."""
    updates: dict[str, Any] = {}
    for key in ("measures", "evidence_text", "checker", "note", "reason", "responsible"):
        if change.get(key) is not None:
            updates[key] = change[key]
    for key in ("completed_on", "checked_on", "deadline"):
        if change.get(key) is not None:
            updates[key] = _day(change[key])
    if change.get("category") is not None:
        updates["category"] = Category(change["category"])
    files = tuple(change.get("evidence_files") or ())
    if files:
        updates["evidence_files"] = tuple(dict.fromkeys((*item.evidence_files, *files)))
    if change.get("status") is not None:
        updates["status"] = LedgerStatus(change["status"])
        if updates["status"] is S.CLOSED:
            updates["closed_on"] = _day(change.get("checked_on"))
        elif item.status is S.CLOSED:
            updates["closed_on"] = None
        if updates["status"] is S.FAILED:
            updates["completed_on"] = None  # the work reported finished did not pass its check
    return replace(item, **updates)


def fold(entry: Rec, changes: Iterable[Rec]) -> LedgerItem:
    """The item's state: its changes applied in time order; a change that breaks a rule at its
    place in that order (a concurrent contradiction) is kept aside as a conflict."""
    d = entry.data
    deadline = _day(d.get("deadline"))
    item = LedgerItem(id=entry.id, branch=d["branch"], notice_no=d["notice_no"], visit_id=d["visit_id"], no=d["no"],
                      item=d.get("item"), item_title=d.get("item_title", ""), area=d.get("area", ""),
                      problem=d.get("problem", ""), requirement=d["requirement"], category=Category(d["category"]),
                      responsible=d.get("responsible", ""), original_deadline=deadline, deadline=deadline)
    applied: list[Rec] = []
    conflicts: list[tuple[Rec, str]] = []
    for c in sorted(changes, key=lambda r: (r.at, r.id)):
        why = check_change(item, c.data)
        if why:
            conflicts.append((c, why))
            continue
        item = apply_fields(item, c.data)
        applied.append(c)
    return replace(item, changes=tuple(applied), conflicts=tuple(conflicts))


@dataclass
class Ledger:
    """Every item of a follow-up session, by branch, in notice order."""

    items: list[LedgerItem] = field(default_factory=list)

    def of_branch(self, branch: str) -> list[LedgerItem]:
        return [i for i in self.items if i.branch == branch]

    def get(self, ref_or_id: str) -> LedgerItem | None:
        key = ref_or_id.strip()
        return next((i for i in self.items if key in (i.id, i.ref)), None)

    def branches(self) -> list[str]:
        return list(dict.fromkeys(i.branch for i in self.items))


def notice_order(notice_no: str) -> list[str | int]:
    """Notices in number order: 〔2026〕2号 before 〔2026〕10号, which a plain string sort reverses."""
    return [int(part) if k % 2 else part for k, part in enumerate(re.split(r"(\d+)", notice_no))]


def build_ledger(records: Iterable[Rec]) -> Ledger:
    """The ledger from a session's live records (entries and changes; everything else ignored)."""
    entries: list[Rec] = []
    changes: dict[str, list[Rec]] = {}
    for r in records:
        if r.kind is Kind.LEDGER_ENTRY:
            entries.append(r)
        elif r.kind is Kind.LEDGER_CHANGE:
            changes.setdefault(r.data["entry"], []).append(r)
    entries.sort(key=lambda r: (notice_order(r.data["notice_no"]), r.data["no"]))
    return Ledger([fold(e, changes.get(e.id, ())) for e in entries])


@dataclass(frozen=True)
class Counts:
    """Per branch (or group) figures; rates are None when there is nothing to divide by."""

    total: int
    closed: int
    pending: int  # not yet struck off
    overdue: int
    done: int  # 待核查 or 已销号
    on_time: int
    due: int  # items whose original deadline has passed, or that are done

    @property
    def completion_rate(self) -> float | None:  # 整改完成率
        return self.done / self.total if self.total else None

    @property
    def on_time_rate(self) -> float | None:  # 按期完成率: of the items due by today
        return self.on_time / self.due if self.due else None

    @property
    def closed_rate(self) -> float | None:  # 销号率
        return self.closed / self.total if self.total else None


def counts(items: Iterable[LedgerItem], today: date) -> Counts:
    items = list(items)
    due = [i for i in items if i.status in DONE or (i.original_deadline is not None and i.original_deadline < today)]
    return Counts(total=len(items), closed=sum(i.status is S.CLOSED for i in items),
                  pending=sum(i.status is not S.CLOSED for i in items), overdue=sum(i.overdue(today) for i in items),
                  done=sum(i.status in DONE for i in items), on_time=sum(i.on_time() for i in due), due=len(due))


def days_text(item: LedgerItem, today: date) -> str:
    """剩 5 天 / 今天到期 / 逾期 3 天 / — : the one wording for the app, the PDFs and the workbook notes."""
    left = item.days_left(today)
    if left is None:
        return "—"
    if left > 0:
        return f"剩 {left} 天"
    return "今天到期" if left == 0 else f"逾期 {-left} 天"


def change_summary(data: Mapping[str, Any]) -> str:
    """A change in words for ``session log``."""
    parts = []
    if data.get("status"):
        parts.append(f"状态→{STATUS_LABELS[LedgerStatus(data['status'])]}")
    for key in ("measures", "evidence_text", "completed_on", "checker", "checked_on", "note", "reason", "deadline",
                "responsible"):
        if data.get(key) not in (None, ""):
            parts.append(f"{FIELD_LABELS[key]}：{str(data[key])[:30]}")
    if data.get("category"):
        parts.append(f"整改类别：{CATEGORY_LABELS[Category(data['category'])]}")
    if data.get("evidence_files"):
        parts.append("佐证材料：" + "、".join(data["evidence_files"])[:60])
    return "，".join(parts) or "（无改动）"

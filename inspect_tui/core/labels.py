"""Every word the app, the CLI and the PDFs use for a status, a kind of record or a field.

One table per fact, so "no status yet" reads 未记录 on every screen and in every printout, and a
rectification demand is 整改要求 wherever it appears.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from inspect_tui.core.records import STATUS_LABELS, Category, Kind, LedgerStatus, Status

NO_STATUS = "未记录"
NO_VALUE = "—"

KIND_LABELS: Mapping[Kind, str] = {
    Kind.BRANCH: "支部", Kind.STEP_NOTE: "环节记录", Kind.CLAIM: "汇报认定", Kind.OBSERVATION: "观察",
    Kind.INTERVIEW: "访谈", Kind.SCORE: "评分", Kind.HIGHLIGHT: "亮点", Kind.PROBLEM: "问题",
    Kind.SUGGESTION: "建议", Kind.RECTIFICATION: "整改要求", Kind.VERDICT: "小组裁定",
    Kind.DOC_NUMBER: "发文字号", Kind.LEDGER_ENTRY: "整改台账事项", Kind.LEDGER_CHANGE: "整改台账变更",
}
FEEDBACK_KINDS: tuple[Kind, ...] = (Kind.HIGHLIGHT, Kind.PROBLEM, Kind.SUGGESTION, Kind.RECTIFICATION)

FIELD_LABELS: Mapping[str, str] = {"score": "分数", "look": "看", "check": "查"}
ADEQUATE_LABELS: Mapping[bool | None, str] = {True: "答对", False: "未答对", None: "未判定"}

STATUS_STYLE: Mapping[str, str] = {"meets": "green", "partly": "yellow", "not": "red", "na": "dim"}
STATUS_MARK: Mapping[str | None, str] = {"meets": "✓", "partly": "◐", "not": "✗", "na": "–", None: " "}

LEDGER_STATUS_LABELS: Mapping[LedgerStatus, str] = {
    LedgerStatus.OPEN: "未整改", LedgerStatus.IN_PROGRESS: "整改中", LedgerStatus.TO_CHECK: "待核查",
    LedgerStatus.CLOSED: "已销号", LedgerStatus.FAILED: "未通过"}
CATEGORY_LABELS: Mapping[Category, str] = {Category.IMMEDIATE: "立行立改", Category.DEADLINE: "限期整改",
                                           Category.ONGOING: "长期坚持"}
LEDGER_FIELD_LABELS: Mapping[str, str] = {
    "ref": "台账编号", "branch": "支部", "notice_no": "通知书文号", "no": "序号", "item": "检查项",
    "area": "方面", "problem": "存在问题", "requirement": "整改要求", "category": "整改类别",
    "responsible": "责任人", "deadline": "整改时限", "status": "状态", "measures": "整改措施及完成情况",
    "completed_on": "完成时间", "evidence_text": "佐证说明", "evidence_files": "佐证材料",
    "checker": "核查人", "checked_on": "核查日期", "note": "核查意见", "reason": "未通过原因",
    "closed_on": "销号日期", "days_left": "剩余天数",
}

ROLES = ("支部书记", "支部副书记", "组织委员", "宣传委员", "纪检委员", "支部委员", "普通党员", "入党积极分子")


def status_label(value: Any) -> str:
    """A stored status in words; anything that is not a status (None, a hand-edited value) is 未记录."""
    try:
        return STATUS_LABELS[Status(value)]
    except ValueError:
        return NO_STATUS


def adequate_label(value: Any) -> str:
    return ADEQUATE_LABELS.get(value if isinstance(value, bool) else None, ADEQUATE_LABELS[None])


def field_key(text: str) -> str:
    """A disagreement field by its key or its label (``score`` or ``分数``); unknown text is returned
    unchanged so the caller's own check reports it."""
    text = text.strip()
    by_label = {label: key for key, label in FIELD_LABELS.items()}
    return by_label.get(text, text)


#: A branch not every item of which has a value: never rated on its partial total.
UNRATED = "未评"

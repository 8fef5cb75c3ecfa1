"""整改台账.xlsx: the ledger as a workbook organisation departments filter and forward, and the
same workbook read back after branches have filled in their progress.

Written through ``workbook.write_xlsx`` (frozen headers, filters, real dates). Read back with
openpyxl, every row is checked before anything is applied — the ledger id exists, dates are dates,
a status is one a branch may report and a transition the ledger allows — and every problem is
reported as ``FILE!SHEET!CELL: message``. One wrong row and nothing is imported.

What a branch may fill in: 状态 (未整改 / 整改中 / 待核查), 整改措施及完成情况, 完成时间, 佐证说明,
责任人. Striking off (已销号) and failing (未通过) are the checker's, made in the follow-up itself.
A change to what the notice said (problem, demand, deadline…) is not imported, and each such cell is
named, so that nobody believes an edited deadline was taken.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from inspect_tui.core.labels import LEDGER_FIELD_LABELS as FIELD_LABELS
from inspect_tui.core.labels import LEDGER_STATUS_LABELS as STATUS_LABELS
from inspect_tui.core.ledger import Ledger, LedgerItem, S, status_of
from inspect_tui.core.records import MAX_TEXT, Kind
from inspect_tui.errors import Problem, UserError, file_error
from inspect_tui.export.printable import neutralise as as_printed
from inspect_tui.export.workbook import DATE, INT, Column, Sheet
from inspect_tui.store.followup import change_data, ledger_of

SHEET = "整改台账"
COLUMNS: list[tuple[str, Column]] = [
    ("ref", Column(FIELD_LABELS["ref"], 26)), ("branch", Column(FIELD_LABELS["branch"], 22)),
    ("notice_no", Column(FIELD_LABELS["notice_no"], 20)), ("no", Column(FIELD_LABELS["no"], 6, INT)),
    ("item", Column(FIELD_LABELS["item"], 18)), ("problem", Column(FIELD_LABELS["problem"], 30)),
    ("requirement", Column(FIELD_LABELS["requirement"], 30)), ("category", Column(FIELD_LABELS["category"], 10)),
    ("responsible", Column(FIELD_LABELS["responsible"], 10)), ("deadline", Column(FIELD_LABELS["deadline"], 12, DATE)),
    ("status", Column(FIELD_LABELS["status"], 9)), ("measures", Column(FIELD_LABELS["measures"], 34)),
    ("completed_on", Column(FIELD_LABELS["completed_on"], 12, DATE)),
    ("evidence_text", Column(FIELD_LABELS["evidence_text"], 24)),
    ("evidence_files", Column(FIELD_LABELS["evidence_files"], 24)), ("checker", Column(FIELD_LABELS["checker"], 9)),
    ("checked_on", Column(FIELD_LABELS["checked_on"], 12, DATE)), ("note", Column(FIELD_LABELS["note"], 24)),
    ("reason", Column(FIELD_LABELS["reason"], 20)), ("closed_on", Column(FIELD_LABELS["closed_on"], 12, DATE)),
    ("days_left", Column(FIELD_LABELS["days_left"], 9, INT)),
]
EDITABLE = ("status", "measures", "completed_on", "evidence_text", "responsible")
MAX_LISTED = 50  # bad cells listed one by one; a sheet dragged down 20,000 rows needs no 20,000 lines
#: What the notice said: fixed once issued, so a change to one of them in a returned workbook is named.
NOTICE_COLUMNS = ("branch", "notice_no", "no", "item", "problem", "requirement", "category", "deadline")
BRANCH_STATUSES = (S.OPEN, S.IN_PROGRESS, S.TO_CHECK)


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def row_of(item: LedgerItem, branch_name: str, today: date) -> list[Any]:
    values = {"ref": item.ref, "branch": branch_name, "notice_no": item.notice_no, "no": item.no,
              "item": item.item_title, "problem": item.problem, "requirement": item.requirement,
              "category": item.category_label, "responsible": item.responsible, "deadline": _iso(item.deadline),
              "status": item.status_label, "measures": item.measures, "completed_on": _iso(item.completed_on),
              "evidence_text": item.evidence_text, "evidence_files": "；".join(item.evidence_files),
              "checker": item.checker, "checked_on": _iso(item.checked_on), "note": item.note, "reason": item.reason,
              "closed_on": _iso(item.closed_on), "days_left": item.days_left(today)}
    return [values[k] for k, _ in COLUMNS]


def ledger_sheet(ledger: Ledger, names: dict[str, str], today: date) -> Sheet:
    return Sheet(SHEET, [c for _, c in COLUMNS], [row_of(i, names.get(i.branch, i.branch), today) for i in ledger.items])


# --- reading back --------------------------------------------------------------------------------

def _text(v: Any) -> str:
    return "" if v is None else str(v).strip()


def _date(v: Any) -> date | None:
    if v is None or v == "":
        return None
    if isinstance(v, datetime):
        return v.date()
    if isinstance(v, date):
        return v
    return date.fromisoformat(str(v).strip())


def _read(path: Path) -> tuple[str, list[tuple[int, list[Any]]]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except FileNotFoundError:
        raise file_error(path, "文件不存在") from None
    except Exception as exc:  # noqa: BLE001 - zip, XML and format errors: all "not a workbook"
        raise file_error(path, f"不是可读取的 xlsx 工作簿（{type(exc).__name__}）") from None
    try:
        ws = wb[SHEET] if SHEET in wb.sheetnames else wb.worksheets[0]
        rows = [(n, list(r)) for n, r in enumerate(ws.iter_rows(values_only=True), 1)]
        return ws.title, rows
    finally:
        wb.close()


def _shown(value: Any) -> str:
    """A cell's value as the comparison of a read-back workbook sees it (dates as ISO, text as printed)."""
    if isinstance(value, date | datetime):
        return _iso(_date(value)) or ""
    return as_printed(_text(value))


def plan_import(session: Any, path: str | Path, today: date | None = None) -> tuple[list[dict[str, Any]], list[str]]:
    """The changes a filled-in ledger workbook asks for, and the cells changed in columns a branch
    may not change (not imported); ``UserError`` listing every bad cell."""
    from openpyxl.utils import get_column_letter

    path, today = Path(path), today or date.today()
    title, rows = _read(path)
    problems: list[Problem] = []

    def bad(row: int, col: int, message: str) -> None:
        problems.append(Problem(f"{path}!{title}!{get_column_letter(col + 1)}{row}", message))

    if not rows:
        raise file_error(path, f"工作表 {title} 是空的")
    header = [_text(h) for h in rows[0][1]]
    where: dict[str, int] = {}
    for key in ("ref", *EDITABLE):
        label = FIELD_LABELS[key]
        if label in header:
            where[key] = header.index(label)
        elif key == "ref":
            raise UserError(f"{path}!{title}!A1: 缺少“{label}”列", problems=[
                Problem(f"{path}!{title}!A1", f"缺少“{label}”列（请使用本工具导出的整改台账）")])
    if len(where) == 1:
        raise UserError(f"{path}!{title}!A1: 没有可导入的列", problems=[Problem(
            f"{path}!{title}!A1", "没有支部可填写的列（" + "、".join(FIELD_LABELS[k] for k in EDITABLE) + "）")])
    ledger = ledger_of(session)
    names = {b.id: b.data["name"] for b in session.branches()}
    fixed = [(i, header.index(c.header)) for i, (key, c) in enumerate(COLUMNS) if key in NOTICE_COLUMNS and c.header in header]
    ignored: list[str] = []
    seen: dict[str, int] = {}
    changes = []
    for n, row in rows[1:]:
        row = row + [None] * (len(header) - len(row))
        ref = _text(row[where["ref"]])
        if not ref and all(v in (None, "") for v in row):
            continue
        item = ledger.get(ref)
        if item is None:
            bad(n, where["ref"], f"台账中没有事项“{ref}”" if ref else "台账编号为空")
            continue
        if ref in seen:
            bad(n, where["ref"], f"事项 {ref} 重复（已在第 {seen[ref]} 行）")
            continue
        seen[ref] = n
        expected = row_of(item, names.get(item.branch, item.branch), today)
        ignored += [f"{path}!{title}!{get_column_letter(col + 1)}{n}：“{header[col]}”不能在表中修改，此处的改动未导入"
                    for i, col in fixed if _shown(row[col]) != _shown(expected[i])]
        fields: dict[str, Any] = {}
        for key, col in where.items():
            if key == "ref":
                continue
            value = row[col]
            try:
                if key == "status":
                    status = status_of(_text(value)) if _text(value) else item.status
                    if status is not item.status:
                        if status not in BRANCH_STATUSES:
                            raise ValueError(f"“{STATUS_LABELS[status]}”须由核查人在回头看中核定，支部只能填"
                                             + "、".join(STATUS_LABELS[s] for s in BRANCH_STATUSES))
                        fields["status"] = status.value
                elif key == "completed_on":
                    d = _date(value)
                    if d is not None and d > today:
                        raise ValueError(f"完成时间 {d} 晚于今天，不能预先登记")
                    if d != item.completed_on and d is not None:
                        fields[key] = d.isoformat()
                elif _shown(value) != as_printed(getattr(item, key)) and _text(value):
                    if len(_text(value)) > MAX_TEXT:
                        raise ValueError(f"太长：最多 {MAX_TEXT} 个字（现有 {len(_text(value))} 个）")
                    fields[key] = _text(value)
            except ValueError as exc:
                bad(n, col, str(exc) if key != "completed_on" or "晚于今天" in str(exc)
                    else f"“{_text(value)}”不是 YYYY-MM-DD 格式的日期")
        if not fields:
            continue
        try:
            changes.append(change_data(item, fields))
        except UserError as exc:
            bad(n, where.get("status", where["ref"]), exc.message)
    if problems:
        shown = problems[:MAX_LISTED] + ([Problem(str(path), f"……另有 {len(problems) - MAX_LISTED} 处错误未列出")]
                                         if len(problems) > MAX_LISTED else [])
        raise UserError(f"{path}：{len(problems)} 处错误，未导入任何内容", problems=shown,
                        hint="请改正后重新导入。")
    return changes, ignored


def import_ledger(session: Any, path: str | Path) -> tuple[int, list[str]]:
    """Apply a filled-in workbook: all its changes in one durable batch, or none. Returns how many,
    and the cells whose changes were not imported (columns a branch may not change)."""
    changes, ignored = plan_import(session, path)
    session.save_many([(Kind.LEDGER_CHANGE, c) for c in changes])
    return len(changes), ignored

"""The follow-up's outputs, all from the ledger (one source of truth) and one injectable "today":

* 整改台账.xlsx — every item, every field, 剩余天数 (``ledger_book``);
* 回头看情况反馈-<支部>.pdf — per branch: each item's status, what was checked, the verdict; items
  not passed carry their new deadline;
* 整改落实情况汇总.pdf — 整改完成率, 按期完成率, 销号率 per branch and in total, the overdue list, and
  problems found again at the re-visit (the same checklist item still failing there);
* 整改提醒书-<支部>.pdf — per branch with items due within N days or overdue.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

from inspect_tui.core.format import fmt_rate
from inspect_tui.core.index import Rec
from inspect_tui.core.labels import CATEGORY_LABELS
from inspect_tui.core.ledger import Counts, Ledger, LedgerItem, S, counts, days_text
from inspect_tui.core.naming import output_name
from inspect_tui.core.records import Kind
from inspect_tui.export.documents import cn_date
from inspect_tui.export.printable import printable
from inspect_tui.store.evidence import display_name
from inspect_tui.store.followup import ledger_of
from inspect_tui.store.session import Session

LEDGER_FILE = "整改台账.xlsx"
SUMMARY_FILE = "整改落实情况汇总.pdf"


def _cn(d: date | None) -> str:
    return cn_date(d) if d else "—"


def verdict(i: LedgerItem, today: date) -> str:
    if i.status is S.CLOSED:
        return f"已销号（{_cn(i.closed_on)}，核查人 {i.checker}）"
    if i.status is S.FAILED:
        return f"未通过：{i.reason}。新的整改时限 {_cn(i.deadline)}"
    return f"{i.status_label}，{days_text(i, today)}"


def _rates(c: Counts) -> dict[str, str]:
    return {"completion": fmt_rate(c.completion_rate), "on_time": fmt_rate(c.on_time_rate),
            "closed": fmt_rate(c.closed_rate)}


def branch_context(name: str, items: list[LedgerItem], today: date, group: str) -> dict[str, Any]:
    c = counts(items, today)
    return {"title": "回头看情况反馈", "group": group, "branch": name, "day": _cn(today),
            "notices": "、".join(dict.fromkeys(i.notice_no for i in items)),
            "tally": f"{c.total} 项：已销号 {c.closed}，未销号 {c.pending}，逾期 {c.overdue}",
            "items": [{"no": n, "problem": i.problem or i.item_title, "requirement": i.requirement,
                       "category": CATEGORY_LABELS[i.category], "deadline": _cn(i.original_deadline),
                       "status": i.status_label, "measures": i.measures,
                       "evidence": "；".join(filter(None, [i.evidence_text, *map(display_name, i.evidence_files)])),
                       "note": i.note, "verdict": verdict(i, today)} for n, i in enumerate(items, 1)]}


def found_again(ledger: Ledger, records: Iterable[Rec]) -> list[tuple[LedgerItem, str]]:
    """Items whose checklist item still fails at the re-visit: a problem recorded on it, or an
    observation judged partly/not met, in the follow-up session; or the check itself failed it."""
    seen: dict[tuple[str, str], str] = {}
    for r in records:
        item = r.data.get("item")
        if not item:
            continue
        if r.kind is Kind.PROBLEM:
            seen.setdefault((r.data["branch"], item), r.data["text"])
        elif r.kind is Kind.OBSERVATION and r.data.get("status") in ("partly", "not"):
            seen.setdefault((r.data["branch"], item), r.data.get("note") or "看/查判定未达到")
    out = []
    for i in ledger.items:
        if i.item and (i.branch, i.item) in seen:
            out.append((i, seen[(i.branch, i.item)]))
        elif i.status is S.FAILED:
            out.append((i, f"核查未通过：{i.reason}"))
    return out


def summary_context(session: Session, ledger: Ledger, names: dict[str, str], today: date) -> dict[str, Any]:
    total = counts(ledger.items, today)
    branches = []
    for b in ledger.branches():
        c = counts(ledger.of_branch(b), today)
        branches.append({"name": names.get(b, b), "c": c, **_rates(c)})
    records = [r for b in session.branches() for r in session.records(b.id)]
    return {"title": "整改落实情况汇总", "group": session.meta.group, "branch": "", "day": _cn(today),
            "n_branches": len(branches), "total": total, "rates": _rates(total), "branches": branches,
            "overdue": [{"branch": names.get(i.branch, i.branch), "requirement": i.requirement,
                         "deadline": _cn(i.deadline), "responsible": i.responsible, "days": days_text(i, today)}
                        for i in ledger.items if i.overdue(today)],
            "again": [{"branch": names.get(i.branch, i.branch), "item": i.item_title, "problem": i.problem,
                       "found": found} for i, found in found_again(ledger, records)]}


def reminder_items(items: list[LedgerItem], today: date, within: int) -> list[LedgerItem]:
    """Items not yet struck off or awaiting check whose deadline is within ``within`` days or past."""
    return [i for i in items if i.status not in (S.CLOSED, S.TO_CHECK)
            and (left := i.days_left(today)) is not None and left <= within]


def reminder_context(name: str, items: list[LedgerItem], today: date, group: str, within: int) -> dict[str, Any]:
    late = sum(i.overdue(today) for i in items)
    lead = (f"已逾期 {late} 项" if late else "") + ("，" if late and late < len(items) else "") + (
        f"{within} 天内到期 {len(items) - late} 项" if late < len(items) else "")
    return {"title": "整改提醒书", "group": group, "branch": name, "day": _cn(today), "lead": lead,
            "items": [{"ref": i.ref, "requirement": i.requirement, "deadline": _cn(i.deadline),
                       "responsible": i.responsible, "days": days_text(i, today), "status": i.status_label}
                      for i in items]}


def export_followup(session_path: str | Path, output_dir: str | Path, *, today: date, within: int = 7,
                    only: set[str] = frozenset(), template_dir: str | Path | None = None,
                    workers: int | None = None) -> list[Path]:
    """Write the ledger workbook and the follow-up PDFs (spread over worker processes, like the
    visit export); returns the files written."""
    from inspect_tui.export.batch import default_workers, start_pool
    from inspect_tui.export.fonts import check_pdf_prerequisites
    from inspect_tui.export.ledger_book import ledger_sheet
    from inspect_tui.export.workbook import write_xlsx

    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    wanted = only or {"ledger", "branch", "summary", "reminder"}
    written: list[Path] = []
    with Session.open(session_path, readonly=True) as s:
        ledger = ledger_of(s)
        names = {b.id: b.data["name"] for b in s.branches()}
        group = s.meta.group
        pdfs: list[tuple[Path, str, dict[str, Any]]] = []
        if "ledger" in wanted:
            target = out / LEDGER_FILE
            write_xlsx(target, [ledger_sheet(ledger, names, today)])
            written.append(target)
        if "summary" in wanted:
            pdfs.append((out / SUMMARY_FILE, "followup_summary.html", summary_context(s, ledger, names, today)))
    for b in ledger.branches():
        items = ledger.of_branch(b)
        name = names.get(b, b)
        if "branch" in wanted:
            pdfs.append((out / output_name("回头看情况反馈", name), "followup_branch.html",
                         branch_context(name, items, today, group)))
        due = reminder_items(items, today, within)
        if "reminder" in wanted and due:
            pdfs.append((out / output_name("整改提醒书", name), "reminder.html",
                         reminder_context(name, due, today, group, within)))
    if pdfs:
        family = check_pdf_prerequisites()
        jobs = [(str(t), tpl, print_form(ctx), str(template_dir) if template_dir else None, family)
                for t, tpl, ctx in pdfs]
        n = workers if workers is not None else default_workers(len(jobs))
        if n > 1 and len(jobs) > 1:
            pool = start_pool(n, template_dir=template_dir, family=family)
            try:
                written += [Path(p) for p in pool.map(render_page, *zip(*jobs, strict=True))]
            finally:
                pool.shutdown(cancel_futures=True)
        else:
            written += [Path(render_page(*job)) for job in jobs]
    return written


def print_form(value: Any) -> Any:
    """Every text in a context as it prints (``printable``: bidi and zero-width characters dropped,
    a character no font has as a visible placeholder), so what someone typed never stops an export."""
    if isinstance(value, str):
        return printable(value)[0]
    if isinstance(value, dict):
        return {k: print_form(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [print_form(v) for v in value]
    return value


def render_page(target: str, template: str, context: dict[str, Any], template_dir: str | None, family: str) -> str:
    """One PDF from one template and context, written atomically (run in a worker process)."""
    from inspect_tui.export.render import render_html, write_pdf

    pdf = write_pdf(render_html(template, context, template_dir), template_dir=template_dir, font_family=family)
    path = Path(target)
    tmp = path.with_name(".part-" + path.name)
    tmp.write_bytes(pdf)
    tmp.replace(path)
    return target

"""The internal 分歧与裁定清单: every point the inspectors disagreed on, who said what, and the
group's verdict — for the leader only.

Individual inspectors' values are internal: they never appear in the feedback or the notice that
go to the branch. This list is where they are printed, marked 内部资料 on every page.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inspect_tui.core.disagreements import list_disagreements
from inspect_tui.export.documents import cn_date
from inspect_tui.export.printable import Printer

DISPUTES = "disputes"
DISPUTES_LABEL = "分歧与裁定清单"


@dataclass
class DisputesVM:
    context: dict[str, Any]
    warnings: list[str] = field(default_factory=list)


def build_disputes(session: Any) -> DisputesVM:
    """One list for the whole session, grouped by branch, settled and unsettled points alike."""
    p = Printer()
    found = list_disagreements(session.checklist, session.index, include_settled=True)
    branches: dict[str, dict[str, Any]] = {}
    for d in found:
        b = branches.setdefault(d.branch, {"name": p("支部", d.branch_name), "rows": []})
        v = d.verdict
        b["rows"].append({
            "no": len(b["rows"]) + 1, "item": p("检查项", d.item_title), "field": d.field_label,
            "opinions": [{"who": p("观摩员", o.inspector), "value": o.label, "note": p("说明", o.note)}
                         for o in d.opinions],
            "settled": d.settled, "verdict": d.verdict_label,
            "by": p("裁定人", v.by) if v is not None else "", "at": cn_date(v.at[:10]) if v is not None else "",
            "reason": p("裁定理由", v.data.get("reason") or "") if v is not None else "",
        })
    open_count = sum(1 for d in found if not d.settled)
    context = {"title": DISPUTES_LABEL, "group": p("观摩小组", session.meta.group), "date": cn_date(session.meta.date),
               "branch": "", "internal": True, "branches": list(branches.values()), "total": len(found), "open": open_count}
    return DisputesVM(context, p.warnings)


def export_disputes(session_path: str | Path, output_dir: str | Path, *,
                    template_dir: str | Path | None = None) -> tuple[Path, list[str]]:
    """Write the list into ``output_dir``; returns its path and any printing warnings."""
    from inspect_tui.core.naming import output_name
    from inspect_tui.errors import UserError
    from inspect_tui.export.render import RenderReport, render_disputes
    from inspect_tui.store.journal import replace_file
    from inspect_tui.store.session import Session

    with Session.open(session_path, readonly=True) as session:
        vm = build_disputes(session)
    report = RenderReport()
    pdf = render_disputes(vm, template_dir=template_dir, report=report)
    out = Path(output_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        target = out / output_name(DISPUTES_LABEL, vm.context["group"])
        replace_file(target, pdf)
    except OSError as exc:
        raise UserError(f"{output_dir}: 无法写入：{exc.strerror}") from None
    return target, report.warnings

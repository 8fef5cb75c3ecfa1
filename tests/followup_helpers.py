"""A small issued visit for the follow-up tests: two branches, three demands, notices exported."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from inspect_tui.core.checklist_load import load_default_checklist
from inspect_tui.core.records import Kind
from inspect_tui.export.batch import export_session
from inspect_tui.store.session import new_session

VISIT_DAY = date(2026, 11, 20)
TODAY = date(2026, 12, 10)  # the fixed "today" of every follow-up test
DEMANDS = {
    "第一党支部": [("pol-01", "三会一课记录不全", "补齐近一年会议记录", "2026-11-25", "张明"),
              ("pol-02", "主题党日流于形式", "制定主题党日年度计划", "2026-12-31", "李红")],
    "第二党支部": [("pol-01", "党员大会未按期召开", "按季度召开党员大会并存档", "2026-12-05", "王强")],
}


def make_visit(folder: Path) -> Path:
    """A visit session with issued-ready demands (one inspector, so nothing to settle)."""
    cl = load_default_checklist()
    with new_session(folder, group="第三观摩小组", day=VISIT_DAY, inspector="组长", checklist=cl,
                     branches=list(DEMANDS), path=folder / "visit.jsonl") as s:
        for b in s.branches():
            for item, problem, req, deadline, who in DEMANDS[b.data["name"]]:
                pid = s.save(Kind.PROBLEM, {"branch": b.id, "item": item, "text": problem}).id
                s.save(Kind.RECTIFICATION, {"branch": b.id, "item": item, "problem": pid, "requirement": req,
                                            "deadline": deadline, "responsible": who})
        return s.path


def issue_notices(visit: Path, out: Path) -> list[Path]:
    summary = export_session(visit, out, kinds=("notice",), workers=1)
    files = [Path(f) for f in summary.files]
    assert len(files) == 2, summary
    return sorted(files)

"""A one-inspector visit with recorded demands, for the notice and ``verify`` tests."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from inspect_tui.core.checklist_load import load_default_checklist
from inspect_tui.core.records import Kind
from inspect_tui.store.session import new_session

DAY = date(2026, 11, 20)
# (problem, requirement, responsible, days): every deadline and every responsible differs.
ROWS = [("会议记录缺少参会人员签名", "补齐近一年会议记录的签名", "张红梅", 30),
        ("党费收缴台账未按月登记", "建立按月登记的党费台账", "李志刚", 45),
        ("活动室制度未上墙", "将组织生活制度上墙公示", "王海燕", 60)]


def make_visit(folder: Path, branches: dict[str, list[tuple[str, str, str, int]]]) -> Path:
    """A one-inspector session: per branch, (problem, requirement, responsible, days) rows."""
    cl = load_default_checklist()
    items = cl.items()
    with new_session(folder, group="第一观摩组", day=DAY, inspector="王建国", checklist=cl,
                     branches=list(branches)) as s:
        for b in s.branches():
            for n, (problem, requirement, who, days) in enumerate(branches[b.data["name"]]):
                item = items[n % len(items)].id
                pid = s.save(Kind.PROBLEM, {"branch": b.id, "item": item, "text": problem}).id
                s.save(Kind.RECTIFICATION, {"branch": b.id, "item": item, "problem": pid, "requirement": requirement,
                                            "deadline": (DAY + timedelta(days=days)).isoformat(), "responsible": who})
        return Path(s.path)

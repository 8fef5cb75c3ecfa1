"""Follow-up (回头看) timings: 40 branches, 400 ledger items.

Usage:  .venv/bin/python bench/followup_bench.py [--branches 40] [--per-branch 10] [--repeat 3]

A visit of 40 branches with 10 demands each is numbered (as ``export notice`` numbers it, without
rendering), a follow-up is started from it and given up to two changes per item (seven in ten
reported done, then half of all struck off and a few failed; the rest open, so reminders are due). Measured, each beside its baseline in the same run:

* opening in the app to the first usable screen: the follow-up's branch list vs the visit's own
  branch list (the target: "as fast as a visit");
* the ledger workbook and every follow-up PDF (40 反馈, the 汇总, the 提醒书) — ours (ledger folded
  once, PDFs spread over worker processes like the visit export) vs naive (the ledger rebuilt for
  every document, one PDF after another in one process). The visit exports' budget is 20 s for
  80 PDFs (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from inspect_tui.cli import main as cli  # noqa: E402
from inspect_tui.core.checklist_load import load_default_checklist  # noqa: E402
from inspect_tui.core.ledger import S  # noqa: E402
from inspect_tui.core.records import Kind  # noqa: E402
from inspect_tui.store.followup import change_data, ledger_of  # noqa: E402
from inspect_tui.store.session import Session, new_session  # noqa: E402
from inspect_tui.tui.app import make_app  # noqa: E402

TODAY = date(2026, 12, 10)


def build(folder: Path, branches: int, per_branch: int) -> tuple[Path, Path]:
    from inspect_tui.export.batch import plan_export

    cl = load_default_checklist()
    items = cl.items()
    names = [f"第{n + 1}党支部" for n in range(branches)]
    with new_session(folder, group="第三观摩小组", day=date(2026, 11, 20), inspector="组长", checklist=cl,
                     branches=names, path=folder / "visit.jsonl") as s:
        for b in s.branches():
            for k in range(per_branch):
                item = items[k % len(items)]
                pid = s.save(Kind.PROBLEM, {"branch": b.id, "item": item.id, "text": f"{item.title}存在不足 {k}"}).id
                s.save(Kind.RECTIFICATION, {"branch": b.id, "item": item.id, "problem": pid,
                                            "requirement": f"对照标准整改“{item.title}”并建立长效机制",
                                            "deadline": f"2026-12-{1 + k * 3 % 28:02d}", "responsible": "张明"})
        plan_export(s, ("notice",))
        visit = s.path
    fu = folder / "fu.jsonl"
    assert cli(["followup", "new", "--session", str(visit), "-o", str(fu), "--inspector", "组长",
                "--date", TODAY.isoformat()]) == 0
    with Session.open(fu) as s:
        ledger = ledger_of(s)
        first = [(Kind.LEDGER_CHANGE, change_data(i, {"status": S.TO_CHECK, "measures": "已制定措施并落实",
                                                      "evidence_text": "会议记录、制度文件"}))
                 for n, i in enumerate(ledger.items) if n % 10 >= 3]  # 3 in 10 still open: reminders
        s.save_many(first)
        ledger = ledger_of(s)
        second = []
        for n, i in enumerate(ledger.items):
            if n % 10 < 3:
                continue
            if n % 2 == 0:
                second.append(change_data(i, {"status": S.CLOSED, "checker": "赵核", "checked_on": "2026-12-08"}))
            elif n % 7 == 1:
                second.append(change_data(i, {"status": S.FAILED, "reason": "措施未落实", "deadline": "2027-01-31"}))
        s.save_many([(Kind.LEDGER_CHANGE, c) for c in second])
    return visit, fu


async def first_screen(path: Path, screen_name: str, table_id: str) -> float:
    t = time.perf_counter()
    app = make_app(path, sessions_dir=path.parent)
    app.today = TODAY
    async with app.run_test(size=(120, 40)) as pilot:
        while True:
            screen = app.screen
            if type(screen).__name__ == screen_name and screen.query(table_id) \
                    and screen.query_one(table_id).row_count:
                break
            await pilot.pause(0.002)
        elapsed = time.perf_counter() - t
        await pilot.press("ctrl+q")
    return elapsed


def _cpu() -> float:
    """CPU seconds of this process and its reaped children (the worker pool, once shut down)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def open_parts(path: Path) -> tuple[float, float]:
    """The loading worker's two parts: ``Session.open``, then scoring (visit) or the ledger fold."""
    from inspect_tui.store.followup import is_followup
    from inspect_tui.tui.app import InspectApp

    t = time.perf_counter()
    session = Session.open(path, readonly=True)
    t1 = time.perf_counter()
    if is_followup(session):
        ledger_of(session)
    else:
        InspectApp.compute_results(session)
    t2 = time.perf_counter()
    session.close()
    return t1 - t, t2 - t1


def ours(fu: Path, out: Path) -> tuple[float, float]:
    """Wall seconds, and CPU seconds (independent of other load on the machine)."""
    from inspect_tui.export.followup_export import export_followup

    t, c = time.perf_counter(), _cpu()
    export_followup(fu, out, today=TODAY)
    return time.perf_counter() - t, _cpu() - c


def naive(fu: Path, out: Path) -> tuple[float, float]:
    """Ledger rebuilt from the session for every document; one PDF after another, one process."""
    from inspect_tui.export import followup_export as fe
    from inspect_tui.export.fonts import check_pdf_prerequisites
    from inspect_tui.export.ledger_book import ledger_sheet
    from inspect_tui.export.workbook import write_xlsx

    t, c = time.perf_counter(), _cpu()
    family = check_pdf_prerequisites()
    out.mkdir(parents=True, exist_ok=True)
    with Session.open(fu, readonly=True) as s:
        names = {b.id: b.data["name"] for b in s.branches()}
        write_xlsx(out / fe.LEDGER_FILE, [ledger_sheet(ledger_of(s), names, TODAY)])
        fe.render_page(str(out / fe.SUMMARY_FILE), "followup_summary.html",
                       fe.summary_context(s, ledger_of(s), names, TODAY), None, family)
        for b in s.branches():
            items = ledger_of(s).of_branch(b.id)
            fe.render_page(str(out / f"b-{b.id[-8:]}.pdf"), "followup_branch.html",
                           fe.branch_context(names[b.id], items, TODAY, s.meta.group), None, family)
            due = fe.reminder_items(ledger_of(s).of_branch(b.id), TODAY, 7)
            if due:
                fe.render_page(str(out / f"r-{b.id[-8:]}.pdf"), "reminder.html",
                               fe.reminder_context(names[b.id], due, TODAY, s.meta.group, 7), None, family)
    return time.perf_counter() - t, _cpu() - c


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--branches", type=int, default=40)
    ap.add_argument("--per-branch", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        visit, fu = build(folder, args.branches, args.per_branch)
        with Session.open(fu, readonly=True) as s:
            n_items, n_records = len(ledger_of(s).items), len(s.file)
        fu_open = min(asyncio.run(first_screen(fu, "FollowupBranchesScreen", "#fu-branches"))
                      for _ in range(args.repeat))
        visit_open = min(asyncio.run(first_screen(visit, "BranchesScreen", "#branches")) for _ in range(args.repeat))
        fu_parts = min(open_parts(fu) for _ in range(args.repeat))
        visit_parts = min(open_parts(visit) for _ in range(args.repeat))
        ours(fu, folder / "warm")
        files = len(list((folder / "warm").glob("*")))
        ours_t, ours_cpu = min(ours(fu, folder / f"o{n}") for n in range(args.repeat))
        naive_t, naive_cpu = naive(fu, folder / "naive")
    print(f"{args.branches} branches, {n_items} ledger items, {n_records} records in the follow-up session\n")
    print("| measure | ours | baseline |")
    print("|---|---|---|")
    print(f"| first usable screen, best of {args.repeat} | {fu_open * 1000:.0f} ms (follow-up branch list) "
          f"| {visit_open * 1000:.0f} ms (the visit's branch list) |")
    print(f"| · of which, in the worker: Session.open / ledger fold (follow-up) vs score all (visit) "
          f"| {fu_parts[0] * 1000:.0f} ms / {fu_parts[1] * 1000:.0f} ms "
          f"| {visit_parts[0] * 1000:.0f} ms / {visit_parts[1] * 1000:.0f} ms |")
    print(f"| 整改台账.xlsx + {files - 1} follow-up PDFs, best of {args.repeat} | {ours_t:.1f} s "
          f"| {naive_t:.1f} s (naive: ledger per document, one process) |")
    print(f"| CPU time for that job (independent of other load) | {ours_cpu:.1f} s "
          f"({ours_cpu / (files - 1):.2f} s per PDF; ideal wall on 2 idle cores {ours_cpu / 2:.1f} s) "
          f"| {naive_cpu:.1f} s |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

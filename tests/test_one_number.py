"""One number everywhere: a merged session where several inspectors recorded the same problems shows
the same problem count, score and rating in ``session show``, the feedback PDF and the app's branch
table — and lists each folded problem once."""

from __future__ import annotations

import asyncio
import io
import re
from pathlib import Path

import pytest
from pypdf import PdfReader
from rich.console import Console

from inspect_tui.cli import main
from inspect_tui.core.checklist_load import load_default_checklist
from inspect_tui.core.demo import generate
from inspect_tui.core.folding import fold
from inspect_tui.core.format import fmt_rate, fmt_score
from inspect_tui.core.records import Kind
from inspect_tui.export import fonts
from inspect_tui.export.batch import plan_export
from inspect_tui.export.render import render_feedback
from inspect_tui.store.merge_files import merge_files
from inspect_tui.store.session import Session
from inspect_tui.store.session_file import write_session
from inspect_tui.tui.app import make_app

DUPLICATES = ["活动室被挪作他用", " 活动室被挪作他用。", "活动室被挪作他用！"]  # three inspectors, one finding


@pytest.fixture(scope="module")
def merged(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("merged")
    cl = load_default_checklist()
    copies = generate(cl, branches=3, inspectors=3, seed=5)
    paths = []
    for n, c in enumerate(copies):
        p = folder / f"copy{n}.jsonl"
        write_session(p, c.meta.model_dump(mode="json"), c.records, [])
        with Session.open(p) as s:
            first = s.branches()[0]
            s.save(Kind.PROBLEM, {"branch": first.id, "item": cl.items()[0].id, "text": DUPLICATES[n],
                                  "evidence": f"观摩员{n}所见"})
        paths.append(p)
    out = folder / "merged.jsonl"
    merge_files(paths, out, leader="组长")
    return out


def test_merged_session_has_folded_duplicates(merged):
    with Session.open(merged, readonly=True) as s:
        first = s.branches()[0]
        raw = s.records(first.id, Kind.PROBLEM)
        r = s.result(first.id)
        assert r.problems == len(fold(raw)) < len(raw)
        (dup,) = [f for f in fold(raw) if "活动室被挪作他用" in f.text]
        assert len(dup.members) == 3 and len(dup.evidence) == 3


def _expected(merged: Path) -> dict[str, tuple[int, str, str, str]]:
    with Session.open(merged, readonly=True) as s:
        return {b.data["name"]: (r.problems, fmt_score(r.total), r.rating.label, fmt_rate(r.awareness))
                for b in s.branches() for r in [s.result(b.id)]}


def test_session_show_prints_the_folded_count_and_the_shared_formats(merged, capsys):
    expected = _expected(merged)
    assert main(["session", "show", str(merged)]) == 0
    out = capsys.readouterr().out
    for name, (problems, total, rating, aware) in expected.items():
        (line,) = [ln for ln in out.splitlines() if "问题" in ln and (ln.endswith(name) or f"{name}  未定" in ln)]
        assert re.search(rf"问题\s+{problems}\b", line), line
        assert f" {total}/" in line and rating in line and aware in line, line


@pytest.mark.skipif(fonts.find_cjk_font() is None or not fonts.harfbuzz_subset_available(),
                    reason="needs a Chinese font and libharfbuzz-subset")
def test_feedback_pdf_prints_the_same_numbers_and_lists_each_problem_once(merged, tmp_path):
    expected = _expected(merged)
    with Session.open(merged, readonly=True) as s:
        tasks, _, _ = plan_export(s, kinds=["feedback"], draft=True)
    for t in tasks:
        path = tmp_path / t.filename
        path.write_bytes(render_feedback(t.vm))
        text = re.sub(r"\s+", "", "".join(p.extract_text() or "" for p in PdfReader(str(path)).pages))
        problems, total, rating, aware = expected[t.branch_name]
        assert f"发现问题{problems}个" in text
        assert sum(len(g["entries"]) for g in t.vm.context["problems"]) == problems
        assert re.search(rf"合计（评定等次：{rating}）\d+{re.escape(total)}", text)
        assert aware in text
        if t.branch_name == next(iter(expected)):
            assert text.count("活动室被挪作他用") == 1


def test_app_branch_table_shows_the_same_numbers(merged):
    expected = _expected(merged)

    async def run() -> dict[str, tuple[str, str, str]]:
        app = make_app(merged, sessions_dir=merged.parent)
        async with app.run_test(size=(120, 40)) as pilot:
            for _ in range(200):
                if type(app.screen).__name__ == "BranchesScreen":
                    break
                await pilot.pause(0.02)
            await pilot.pause()
            table = app.screen.query_one("#branches")
            rows = {}
            for b in app.session.branches():
                rows[b.data["name"]] = tuple(str(table.get_cell(b.id, key)) for key in ("problems", "total", "rating"))
            await pilot.press("v")  # the review of the first branch, as the feedback reads
            for _ in range(100):
                if type(app.screen).__name__ == "ReviewScreen":
                    break
                await pilot.pause(0.02)
            console = Console(file=io.StringIO(), width=200)
            console.print(app.screen.build())
            review = console.file.getvalue()
            return rows, review

    rows, review = asyncio.run(run())
    for name, (problems, total, rating, _aware) in expected.items():
        assert rows[name] == (str(problems), total, rating)
    problems, total, _rating, aware = next(iter(expected.values()))
    assert f"得分 {total}/" in review and f"发现问题 {problems} 个" in review and aware in review
    assert review.count("活动室被挪作他用") == 1


def test_report_and_workbook_facts_count_the_same_problems(merged):
    from inspect_tui.core.report_facts import session_facts

    expected = _expected(merged)
    with Session.open(merged, readonly=True) as s:
        facts = session_facts(s.meta, s.checklist, s.index, str(merged))
    for b in facts.branches:
        problems, total, _rating, _aware = expected[b.name]
        assert (len(b.problems), fmt_score(b.total)) == (problems, total)

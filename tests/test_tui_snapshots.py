"""SVG snapshots of the main screens at 80×24 and 120×40, including long Chinese text.

Regenerate after an intended change with ``pytest tests/test_tui_snapshots.py --snapshot-update``
and look at the report it writes. The session is filled deterministically through ``Session`` (the
UI's own calls), with a few long notes; the tests run in a temporary folder so no absolute path
appears on screen.
"""

from __future__ import annotations

import os
import random
from datetime import date, datetime
from pathlib import Path

import pytest

from inspect_tui.core.checklist_load import load_default_checklist
from inspect_tui.core.records import Kind, claim_id, observation_id, score_id, step_note_id
from inspect_tui.core.steps import Step
from inspect_tui.store.session import Session, new_session
from inspect_tui.tui.app import make_app

LONG_NOTE = ("书记汇报了本支部推进标准化规范化建设的主要做法：一是坚持“第一议题”制度，支委会、党员大会均先学习最新指示精神；"
             "二是把党建责任清单细化到每名支委，按季度对账销号；三是主题党日与业务攻坚相结合，形成了可复制的经验。"
             "汇报中对组织生活会、民主评议党员的具体程序讲得不够，对照检查材料存在雷同现象。")
LONG_PROBLEM = "组织生活会对照检查材料内容雷同、照搬照抄，批评与自我批评辣味不足，会后整改措施停留在“加强学习”等表态，缺少具体时限和责任人"
FIXED = datetime(2026, 11, 20, 18, 30).timestamp()


BRANCHES = ["省财政厅办公室党支部", "省教育厅人事处党支部", "省卫生健康委规划处党支部", "省交通运输厅综合处党支部",
            "省自然资源厅法规处党支部", "第1联合党支部"]
ROLES = ["支部书记", "普通党员", "支部委员", "入党积极分子"]


def fill(s: Session, rng: random.Random) -> None:
    """A plausible visit recorded through the same ``Session`` calls the UI makes (not ``core.demo``,
    so that these pictures change only when the screens do)."""
    cl, me = s.checklist, s.meta.inspector
    for n, b in enumerate(s.branches()[:5]):
        bid = b.id
        s.update(Kind.STEP_NOTE, step_note_id(bid, Step.REPORT, me), branch=bid, step="report",
                 text="汇报条理清楚，介绍了三会一课和主题党日的做法。", seconds=600 + 60 * n, done=True)
        for item in cl.items()[:8]:
            s.update(Kind.CLAIM, claim_id(bid, item.id, me), branch=bid, item=item.id, claimed=True)
        for step in (Step.LOOK, Step.CHECK):
            if n >= 4 and step is Step.CHECK:
                continue
            for item in cl.items_for(step):
                status = rng.choice(["meets"] * 6 + ["partly", "not", "na"])
                s.update(Kind.OBSERVATION, observation_id(bid, item.id, step, me), branch=bid, item=item.id,
                         step=step.value, status=status, note="" if status == "meets" else item.problems[0],
                         evidence="会议记录" if step is Step.CHECK else "")
            s.update(Kind.STEP_NOTE, step_note_id(bid, step, me), branch=bid, step=step.value, done=True)
        if n >= 3:
            continue
        for q in cl.all_questions()[n:n + 6]:
            s.save(Kind.INTERVIEW, {"branch": bid, "role": rng.choice(ROLES), "question_id": q.id,
                                    "question": q.text, "answer": "能说出要点", "adequate": rng.random() < 0.8})
        for item in cl.items()[:20]:
            s.update(Kind.SCORE, score_id(bid, item.id, me), branch=bid, item=item.id,
                     score=item.full_marks - rng.choice([0, 0, 0, 0.5, 1]))
        s.save(Kind.HIGHLIGHT, {"branch": bid, "text": "把党建责任清单细化到每名支委，按季度对账销号。"})
        s.save(Kind.PROBLEM, {"branch": bid, "item": cl.items()[4].id, "text": cl.items()[4].problems[0],
                              "evidence": "组织生活会会议记录"})
        s.save(Kind.SUGGESTION, {"branch": bid, "item": cl.items()[4].id, "text": "建议规范会议记录格式。"})
        s.save(Kind.RECTIFICATION, {"branch": bid, "item": cl.items()[4].id, "requirement": cl.items()[4].rectification,
                                    "deadline": "2026-12-31", "responsible": "支部书记"})
        for step in (Step.ASK, Step.EVALUATE):
            s.update(Kind.STEP_NOTE, step_note_id(bid, step, me), branch=bid, step=step.value, done=True)


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    cl = load_default_checklist()
    s = new_session("sessions", group="第三观摩小组", day=date(2026, 11, 20), inspector="王建国", checklist=cl,
                    branches=BRANCHES)
    path = s.path
    with s:
        fill(s, random.Random(7))
        b = s.branches()[0].id
        me = s.meta.inspector
        s.update(Kind.STEP_NOTE, step_note_id(b, Step.REPORT, me), text=LONG_NOTE)
        first_look = cl.items_for(Step.LOOK)[0].id
        s.update(Kind.OBSERVATION, observation_id(b, first_look, Step.LOOK, me), status="partly",
                 note="活动室与会议室合用，制度上墙但标识不够醒目，党务公开栏内容仍为上一季度")
        s.save(Kind.PROBLEM, {"branch": b, "item": cl.items()[10].id, "text": LONG_PROBLEM,
                              "evidence": "2026年组织生活会会议记录及对照检查材料（抽查 5 份）"})
    os.utime(path, (FIXED, FIXED))
    return path


async def _opened(pilot) -> None:
    for _ in range(200):
        if type(pilot.app.screen).__name__ == "BranchesScreen":
            break
        await pilot.pause(0.02)
    await pilot.pause()


def run_keys(*keys: str):
    async def before(pilot) -> None:
        await _opened(pilot)
        await pilot.press(*keys)
        await pilot.pause()
    return before


def app_for(path: Path | None):
    return make_app(path, sessions_dir=Path("sessions"))


def test_sessions_screen_80x24(demo, snap_compare):
    assert snap_compare(app_for(None), terminal_size=(80, 24))


def test_branches_80x24(demo, snap_compare):
    assert snap_compare(app_for(demo), terminal_size=(80, 24), run_before=run_keys())


def test_branches_120x40(demo, snap_compare):
    assert snap_compare(app_for(demo), terminal_size=(120, 40), run_before=run_keys())


def test_report_long_chinese_80x24(demo, snap_compare):
    assert snap_compare(app_for(demo), terminal_size=(80, 24), run_before=run_keys("enter"))


def test_look_80x24(demo, snap_compare):
    assert snap_compare(app_for(demo), terminal_size=(80, 24), run_before=run_keys("enter", "f3"))


def test_check_120x40(demo, snap_compare):
    assert snap_compare(app_for(demo), terminal_size=(120, 40), run_before=run_keys("enter", "f3", "f3", "down"))


def test_ask_120x40(demo, snap_compare):
    assert snap_compare(app_for(demo), terminal_size=(120, 40), run_before=run_keys("enter", "f3", "f3", "f3"))


def test_evaluate_80x24(demo, snap_compare):
    assert snap_compare(app_for(demo), terminal_size=(80, 24), run_before=run_keys("enter", "f3", "f3", "f3", "f3"))


def test_evaluate_120x40(demo, snap_compare):
    assert snap_compare(app_for(demo), terminal_size=(120, 40), run_before=run_keys("enter", "f3", "f3", "f3", "f3"))


def test_review_long_chinese_80x24(demo, snap_compare):
    assert snap_compare(app_for(demo), terminal_size=(80, 24), run_before=run_keys("v", "down", "down", "down"))


def test_new_session_form_80x24(demo, snap_compare):
    async def before(pilot) -> None:
        await pilot.press("n")
        await pilot.pause()
        pilot.app.screen.query_one("#date").value = "2026-11-20"
        await pilot.press(*"第三观摩小组")
        await pilot.pause()

    assert snap_compare(app_for(None), terminal_size=(80, 24), run_before=before)


def test_light_theme_branches_80x24(demo, snap_compare):
    assert snap_compare(app_for(demo), terminal_size=(80, 24), run_before=run_keys("ctrl+t"))


def test_ask_80x24(demo, snap_compare):
    assert snap_compare(app_for(demo), terminal_size=(80, 24), run_before=run_keys("enter", "4"))


def test_help_80x24(demo, snap_compare):
    assert snap_compare(app_for(demo), terminal_size=(80, 24), run_before=run_keys("enter", "2", "f1"))


def test_export_80x24(demo, snap_compare):
    assert snap_compare(app_for(demo), terminal_size=(80, 24), run_before=run_keys("e"))


def test_export_120x40(demo, snap_compare):
    assert snap_compare(app_for(demo), terminal_size=(120, 40), run_before=run_keys("e"))


def inspectors_copies(folder: Path) -> list[Path]:
    """Three inspectors' copies of one visit of two branches: they disagree on some items, and two of
    them changed the first branch's unit, each in their own way (an edit conflict once merged)."""
    from inspect_tui.core.demo import generate
    from inspect_tui.store.session_file import write_session

    copies = generate(load_default_checklist(), branches=2, inspectors=3, seed=5)
    paths = []
    for copy in copies:
        path = folder / f"2026-11-20-第三观摩小组-{copy.meta.inspector}.jsonl"
        write_session(path, copy.meta.model_dump(mode="json"), copy.records, [])
        paths.append(path)
    for path, unit in zip(paths[:2], ("省商务厅", "省商务厅机关"), strict=True):
        with Session.open(path) as s:
            s.update(Kind.BRANCH, s.branches()[0].id, unit=unit)
    return paths


@pytest.fixture
def group_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The three inspectors' copies (see ``inspectors_copies``) and another group's file, in ``sessions``."""
    from inspect_tui.core.demo import generate
    from inspect_tui.store.session_file import write_session

    monkeypatch.chdir(tmp_path)
    folder = Path("sessions")
    folder.mkdir()
    inspectors_copies(folder)
    copy = generate(load_default_checklist(), branches=2, inspectors=3, seed=5)[0]
    other = copy.meta.model_copy(update={"group": "第九观摩小组"})
    write_session(folder / "2026-11-20-第九观摩小组-孙.jsonl", other.model_dump(mode="json"), copy.records, [])
    for p in folder.iterdir():
        os.utime(p, (FIXED, FIXED))
    return folder


def merged_keys(*keys: str):
    async def before(pilot) -> None:
        for _ in range(200):
            if type(pilot.app.screen).__name__ == "SessionsScreen":
                break
            await pilot.pause(0.02)
        await pilot.press("m")
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press(*keys)
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.pause()
        status = pilot.app.screen.query_one("#merge-status")
        status.update(str(status.render()).split("摘要")[0])  # the digest changes with the clock
    return before


def test_merge_files_80x24(group_folder, snap_compare):
    assert snap_compare(app_for(None), terminal_size=(80, 24), run_before=merged_keys())


def test_merge_disagreements_80x24(group_folder, snap_compare):
    assert snap_compare(app_for(None), terminal_size=(80, 24), run_before=merged_keys("m", "tab", "tab"))


def test_merge_disagreements_120x40(group_folder, snap_compare):
    assert snap_compare(app_for(None), terminal_size=(120, 40), run_before=merged_keys("m"))


def test_summary_80x24(demo, snap_compare):
    assert snap_compare(app_for(demo), terminal_size=(80, 24), run_before=run_keys("s"))


def test_summary_120x40(demo, snap_compare):
    assert snap_compare(app_for(demo), terminal_size=(120, 40), run_before=run_keys("s"))


@pytest.fixture
def merged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The leader's merged session of ``inspectors_copies``: disagreements and an edit conflict."""
    from inspect_tui.store.merge_files import merge_files

    monkeypatch.chdir(tmp_path)
    folder = Path("sessions")
    folder.mkdir()
    report = merge_files(inspectors_copies(folder), folder / "合并结果.jsonl", leader="李组长")
    assert report.conflicts == 1
    for p in folder.iterdir():
        os.utime(p, (FIXED, FIXED))
    return report.output


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_merged_branches(merged, snap_compare, size):
    """The leader's branch list counts, per branch, the points still to settle."""
    assert snap_compare(app_for(merged), terminal_size=size, run_before=run_keys())


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_merged_review(merged, snap_compare, size):
    """A merged branch's review lists the items the inspectors disagree on and the edit conflict."""
    assert snap_compare(app_for(merged), terminal_size=size, run_before=run_keys("v"))

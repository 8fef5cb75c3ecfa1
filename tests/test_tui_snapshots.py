"""SVG snapshots of the main screens at 80×24 and 120×40, including long Chinese text.

Regenerate after an intended change with ``pytest tests/test_tui_snapshots.py --snapshot-update``
and look at the report it writes. The session is the deterministic demo visit (``core.demo``) plus
a few long notes; the tests run in a temporary folder so no absolute path appears on screen.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pytest

from inspect_tui.core.checklist_load import load_default_checklist
from inspect_tui.core.demo import generate
from inspect_tui.core.records import Kind, observation_id, step_note_id
from inspect_tui.core.steps import Step
from inspect_tui.store.session import Session
from inspect_tui.store.session_file import write_session
from inspect_tui.tui.app import make_app

LONG_NOTE = ("书记汇报了本支部推进标准化规范化建设的主要做法：一是坚持“第一议题”制度，支委会、党员大会均先学习最新指示精神；"
             "二是把党建责任清单细化到每名支委，按季度对账销号；三是主题党日与业务攻坚相结合，形成了可复制的经验。"
             "汇报中对组织生活会、民主评议党员的具体程序讲得不够，对照检查材料存在雷同现象。")
LONG_PROBLEM = "组织生活会对照检查材料内容雷同、照搬照抄，批评与自我批评辣味不足，会后整改措施停留在“加强学习”等表态，缺少具体时限和责任人"
FIXED = datetime(2026, 11, 20, 18, 30).timestamp()


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    cl = load_default_checklist()
    copy = generate(cl, branches=6, inspectors=1, seed=7)[0]
    path = Path("sessions") / "2026-11-20-第三观摩小组-王建国.jsonl"
    path.parent.mkdir()
    write_session(path, copy.meta.model_dump(mode="json"), copy.records, [])
    with Session.open(path) as s:
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
    assert snap_compare(app_for(demo), terminal_size=(120, 40), run_before=run_keys("enter", "4"))


def test_evaluate_80x24(demo, snap_compare):
    assert snap_compare(app_for(demo), terminal_size=(80, 24), run_before=run_keys("enter", "5"))


def test_evaluate_120x40(demo, snap_compare):
    assert snap_compare(app_for(demo), terminal_size=(120, 40), run_before=run_keys("enter", "5"))


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

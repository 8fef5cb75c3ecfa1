from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from inspect_tui.core.checklist import Checklist

TINY = {
    "id": "tiny", "title": "小清单", "version": "1", "full_marks": 20,
    "ratings": [{"label": "优秀", "min": 90, "level": "excellent"}, {"label": "达标", "min": 60, "level": "pass"},
                {"label": "不达标", "min": 0, "level": "fail"}],
    "areas": [
        {"id": "a1", "title": "组织生活", "full_marks": 12, "items": [
            {"id": "i1", "title": "三会一课", "full_marks": 6,
             "steps": {"check": {"prompt": "查记录", "records": ["会议记录"]},
                       "look": {"prompt": "看现场"},
                       "ask": {"prompt": "问党员", "questions": [{"id": "q1", "text": "支部多久开一次党员大会？"}]},
                       "evaluate": {"prompt": "按记录完整程度评分"}},
             "problems": ["记录不全"], "rectification": "补齐记录"},
            {"id": "i2", "title": "主题党日", "full_marks": 6, "scoring": {"method": "all_or_nothing"},
             "steps": {"check": {"prompt": "查活动记录"}, "evaluate": {"prompt": "全部符合才得分"}},
             "problems": ["流于形式"], "rectification": "结合业务开展"}]},
        {"id": "a2", "title": "基础保障", "full_marks": 8, "items": [
            {"id": "i3", "title": "活动室", "full_marks": 8, "scoring": {"method": "deduct", "deduct_per": 3},
             "steps": {"look": {"prompt": "看活动室"}, "check": {"prompt": "查使用记录"},
                       "evaluate": {"prompt": "每项不足扣 3 分"}},
             "problems": ["无固定场所"], "rectification": "落实场所"}]},
    ],
}


@pytest.fixture
def fresh(tmp_path: Path) -> tuple[Path, str]:
    """A new session of 王建国 with two branches and no records yet: its path and the first branch."""
    from inspect_tui.core.checklist_load import load_default_checklist
    from inspect_tui.store.session import new_session

    s = new_session(tmp_path / "sessions", group="第三观摩小组", day=date(2026, 11, 20), inspector="王建国",
                    checklist=load_default_checklist(), branches=["省财政厅办公室党支部", "省教育厅人事处党支部"])
    path, branch = s.path, s.branches()[0].id
    s.close()
    return path, branch


@pytest.fixture
def tiny_checklist() -> Checklist:
    return Checklist.model_validate(TINY)


# Defects raise in tests instead of being turned into crash reports (see inspect_tui/crash.py).
os.environ["INSPECT_TUI_DEBUG"] = "1"

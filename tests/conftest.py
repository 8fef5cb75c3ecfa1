from __future__ import annotations

import copy
import datetime as dt
import os
from pathlib import Path

import pytest

from inspect_tui.core.checklist import Checklist
from inspect_tui.core.checklist_load import load_default_checklist
from inspect_tui.core.records import Kind, score_id
from inspect_tui.store import branch_table
from inspect_tui.store.report_digest import CACHE_ENV
from inspect_tui.store.session import new_session


@pytest.fixture(autouse=True, scope="session")
def _digest_cache(tmp_path_factory) -> None:
    """Report digests written by merges and closing sessions go to a scratch folder, not the user's cache."""
    os.environ[CACHE_ENV] = str(tmp_path_factory.mktemp("digests"))
    os.environ[branch_table.CACHE_ENV] = str(tmp_path_factory.mktemp("branch-tables"))

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
    s = new_session(tmp_path / "sessions", group="第三观摩小组", day=dt.date(2026, 11, 20), inspector="王建国",
                    checklist=load_default_checklist(), branches=["省财政厅办公室党支部", "省教育厅人事处党支部"])
    path, branch = s.path, s.branches()[0].id
    s.close()
    return path, branch


@pytest.fixture
def tiny_checklist() -> Checklist:
    return Checklist.model_validate(TINY)


@pytest.fixture(autouse=True)
def _own_settings(tmp_path_factory, monkeypatch):
    """Each test remembers its own theme and last session, never the user's."""
    monkeypatch.setenv("INSPECT_TUI_CONFIG", str(tmp_path_factory.mktemp("config") / "settings.json"))


def tagged() -> Checklist:
    """The tiny checklist (i1 6, i2 6 | i3 8; 20 marks) with two tags and three classes."""
    data = copy.deepcopy(TINY)
    data["tags"] = [{"id": "t-pol", "title": "政治功能强"}, {"id": "t-base", "title": "作用发挥强"}]
    data["classes"] = [{"label": "先进", "min": 90}, {"label": "中间", "min": 70}, {"label": "后进", "min": 0}]
    data["areas"][0]["items"][0]["tags"] = ["t-pol"]
    data["areas"][0]["items"][1]["tags"] = ["t-base"]
    data["areas"][1]["items"][0]["tags"] = ["t-base"]
    return Checklist.model_validate(data)


FORMULA_PROBLEM = "=SUM(A1:A9) 记录不全"
MINUS_PROBLEM = "-3分 扣分原因不明"
PLUS_SUGGESTION = "+建议补齐签名"
AT_ANSWER = "@所有人 按时参加"


def small_session(folder: Path, name: str = "visit.jsonl", group: str = "第三观摩小组") -> Path:
    """Three branches on the tagged tiny checklist: 甲 20/20, 乙 14/20, 丙 not scored (未评)."""
    cl = tagged()
    with new_session(folder, group=group, day=dt.date(2026, 11, 20), inspector="张伟", checklist=cl,
                     branches=["甲支部", "乙支部", "丙支部"], path=folder / name) as s:
        me = s.meta.inspector
        a, b, _c = s.branches()
        for br, scores in ((a, (6, 6, 8)), (b, (3, 6, 5))):
            for item, score in zip(("i1", "i2", "i3"), scores, strict=True):
                s.save(Kind.SCORE, {"branch": br.id, "item": item, "score": score}, score_id(br.id, item, me))
        pid = s.save(Kind.PROBLEM, {"branch": a.id, "item": "i1", "text": FORMULA_PROBLEM, "evidence": "会议记录本"}).id
        s.save(Kind.SUGGESTION, {"branch": a.id, "item": "i1", "text": PLUS_SUGGESTION})
        s.save(Kind.RECTIFICATION, {"branch": a.id, "item": "i1", "problem": pid, "requirement": "补齐会议记录",
                                    "deadline": "2026-12-31", "responsible": "支部书记"})
        s.save(Kind.PROBLEM, {"branch": b.id, "item": "i3", "text": MINUS_PROBLEM})
        s.save(Kind.HIGHLIGHT, {"branch": a.id, "item": "i2", "text": "主题党日与业务攻坚结合"})
        s.save(Kind.INTERVIEW, {"branch": a.id, "role": "普通党员", "question": "支部多久开一次党员大会？",
                                "answer": AT_ANSWER, "adequate": True})
        s.save(Kind.INTERVIEW, {"branch": b.id, "role": "支部委员", "question": "支部多久开一次党员大会？",
                                "answer": "不清楚", "adequate": False})
        return s.path


# Defects raise in tests instead of being turned into crash reports (see inspect_tui/crash.py).
os.environ["INSPECT_TUI_DEBUG"] = "1"

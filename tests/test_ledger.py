"""The ledger's rules and its fold, against a fixed today; merge properties of ledger records."""

from __future__ import annotations

import itertools
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inspect_tui.core.index import Rec, RecordIndex
from inspect_tui.core.ledger import S, build_ledger, check_change, counts, days_text, fold
from inspect_tui.core.records import Kind, ledger_entry_id
from inspect_tui.core.versions import join_records, make_version

TODAY = date(2026, 12, 10)
EID = ledger_entry_id("第三观摩小组〔2026〕1号", 1)
ENTRY = {"branch": "branch/a", "notice_no": "第三观摩小组〔2026〕1号", "visit_id": "v1", "no": 1, "item": "pol-01",
         "item_title": "三会一课", "area": "组织生活", "problem": "记录不全", "requirement": "补齐记录",
         "category": "deadline", "responsible": "张明", "deadline": "2026-12-05"}


def rec(kind: Kind, rid: str, data: dict, at: str = "2026-12-01T09:00:00+08:00", by: str = "组长") -> Rec:
    return Rec(id=rid, kind=kind, data=data, author=by, by=by, at=at, deleted=False, versions=())


def change(n: int, at: str = "", by: str = "组长", **fields) -> Rec:
    return rec(Kind.LEDGER_CHANGE, f"ledger_change/{n}", {"branch": "branch/a", "entry": EID, **fields},
               at or f"2026-12-0{n}T09:00:00+08:00", by)


def entry() -> Rec:
    return rec(Kind.LEDGER_ENTRY, EID, ENTRY, "2026-11-20T00:00:00+00:00")


def test_days_left_and_overdue_against_a_fixed_today():
    item = fold(entry(), [])
    assert item.days_left(TODAY) == -5 and item.overdue(TODAY) and days_text(item, TODAY) == "逾期 5 天"
    assert days_text(item, date(2026, 12, 5)) == "今天到期" and days_text(item, date(2026, 12, 1)) == "剩 4 天"
    c = counts([item], TODAY)
    assert (c.total, c.overdue, c.pending, c.closed, c.completion_rate) == (1, 1, 1, 0, 0)


def test_strike_off_needs_evidence_and_a_checker():
    item = fold(entry(), [])
    assert "佐证" in check_change(item, {"status": "closed", "checker": "赵核", "checked_on": "2026-12-09"})
    assert "核查人" in check_change(item, {"status": "closed", "evidence_text": "会议记录已补", "checked_on": "2026-12-09"})
    assert check_change(item, {"status": "closed", "evidence_text": "会议记录已补", "checker": "赵核",
                               "checked_on": "2026-12-09"}) is None


def test_failed_needs_reason_and_new_deadline_and_closed_only_reopens():
    closed = fold(entry(), [change(1, status="to_check", evidence_text="已补"),
                            change(2, status="closed", checker="赵核", checked_on="2026-12-02")])
    assert closed.status is S.CLOSED and closed.closed_on == date(2026, 12, 2) and closed.days_left(TODAY) is None
    assert "只能以“未通过”重新打开" in check_change(closed, {"measures": "再补一份"})
    assert "原因" in check_change(closed, {"status": "failed", "deadline": "2027-01-10"})
    reopened = fold(entry(), [*closed.changes, change(3, status="failed", reason="记录系补写", deadline="2027-01-10")])
    assert reopened.status is S.FAILED and reopened.closed_on is None and reopened.deadline == date(2027, 1, 10)
    assert reopened.original_deadline == date(2026, 12, 5) and not reopened.overdue(TODAY)


def test_on_time_rate_counts_items_done_by_their_original_deadline():
    late = fold(entry(), [change(1, status="to_check", evidence_text="已补", completed_on="2026-12-08")])
    early = fold(entry(), [change(1, status="to_check", evidence_text="已补", completed_on="2026-12-04")])
    assert counts([late, early], TODAY).on_time_rate == 0.5 and counts([late, early], TODAY).completion_rate == 1


def test_concurrent_contradiction_is_kept_as_a_conflict_not_dropped():
    base = [change(1, status="to_check", evidence_text="已补")]
    a = change(2, at="2026-12-05T10:00:00+08:00", by="张伟", status="closed", checker="张伟", checked_on="2026-12-05")
    b = change(3, at="2026-12-05T10:01:00+08:00", by="李秀英", status="in_progress")
    item = fold(entry(), [*base, b, a])
    assert item.status is S.CLOSED
    assert [(c.id, "已销号" in why) for c, why in item.conflicts] == [(b.id, True)]


# --- merge properties ------------------------------------------------------------------------

FIELDS = st.sampled_from([
    {"status": "in_progress"}, {"status": "to_check", "evidence_text": "已补"}, {"measures": "已整改"},
    {"status": "closed", "checker": "赵核", "checked_on": "2026-12-06", "evidence_text": "见记录"},
    {"status": "failed", "reason": "未落实", "deadline": "2027-01-31"}, {"status": "open"},
])
ops = st.lists(st.one_of(st.tuples(st.just("change"), st.integers(0, 2), FIELDS),
                         st.tuples(st.just("sync"), st.integers(0, 2), st.integers(0, 2))), min_size=1, max_size=30)


def _entry_doc() -> dict:
    v = make_version(kind="ledger_entry", data=ENTRY, author="第三观摩小组", by="第三观摩小组", replica="notice",
                     at="2026-11-20T00:00:00.000+00:00")
    return {"id": EID, "versions": [v]}


def run(history) -> tuple[list[dict], set[str]]:
    copies: list[dict] = [{EID: _entry_doc()} for _ in range(3)]
    made: set[str] = set()
    for step, (kind, r, x) in enumerate(history):
        if kind == "sync":
            copies[r] = join_records(copies[r], copies[x])
            continue
        ledger = build_ledger(RecordIndex(copies[r].values()).of_branch("branch/a"))
        data = {"branch": "branch/a", "entry": EID, **x}
        if check_change(ledger.items[0], data):
            continue  # refused when made, as the CLI and the app refuse it
        rid = f"ledger_change/{step}"
        v = make_version(kind="ledger_change", data=data, author=f"i{r}", by=f"i{r}", replica=f"r{r}",
                         at=f"2026-12-05T09:{step // 60:02d}:{step % 60:02d}+08:00")
        copies[r] = {**copies[r], rid: {"id": rid, "versions": [v]}}
        made.add(rid)
    return copies, made


def state(records: dict):
    item = build_ledger(RecordIndex(records.values()).of_branch("branch/a")).items[0]
    return item.status, item.measures, item.deadline, [c.id for c in item.changes], [c.id for c, _ in item.conflicts]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops)
def test_ledger_merge_is_order_independent_and_loses_no_change(history):
    copies, made = run(history)
    results = set()
    for order in itertools.permutations(copies):
        merged: dict = {}
        for c in order:
            merged = join_records(merged, c)
        results.add(repr(state(merged)))
        assert join_records(merged, merged) == merged
        st_ = state(merged)
        assert set(st_[3]) | set(st_[4]) == made  # every change applied or surfaced as a conflict
    assert len(results) == 1


@pytest.mark.parametrize("text,expected", [("已销号", S.CLOSED), ("closed", S.CLOSED), (" 待核查 ", S.TO_CHECK)])
def test_status_by_label_or_key(text, expected):
    from inspect_tui.core.ledger import status_of

    assert status_of(text) is expected

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
    assert check_change(closed, {"measures": "再补一份"}) == "该事项已销号，只能以“未通过”重新打开（需写明原因和新的整改时限）"
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


# --- the rules one by one, against hand-made items ------------------------------------------------

def test_status_and_category_refuse_unknown_words_naming_the_valid_ones():
    from inspect_tui.core.ledger import category_of, status_of
    from inspect_tui.core.records import Category

    assert category_of(" 立行立改 ") is Category.IMMEDIATE and category_of("ongoing") is Category.ONGOING
    assert category_of("限期整改") is Category.DEADLINE
    with pytest.raises(ValueError, match="^“马上改”不是整改类别（应为 立行立改、限期整改、长期坚持）$"):
        category_of(" 马上改 ")
    with pytest.raises(ValueError, match="^“done”不是台账状态（应为 未整改、整改中、待核查、已销号、未通过）$"):
        status_of("done")


def test_ref_is_the_id_without_its_kind():
    from inspect_tui.core.ledger import ref_of

    assert ref_of(EID) == "第三观摩小组〔2026〕1号/1"
    assert ref_of("无斜杠") == "无斜杠"
    item = fold(entry(), [])
    assert (item.ref, item.status_label, item.category_label) == ("第三观摩小组〔2026〕1号/1", "未整改", "限期整改")
    assert item.responsible == "张明"


def test_entry_data_takes_the_category_from_the_deadline_a_week_counting_as_immediate():
    from inspect_tui.core.ledger import entry_data

    notice = {"date": "2026-11-20", "doc_no": "一组〔2026〕3号", "visit_id": "v9"}
    full = {"no": "2", "item_id": "pol-01", "item": "三会一课", "area": "组织生活", "problem": "记录不全",
            "requirement": "补齐记录", "responsible": "张明", "deadline": "2026-11-27"}
    assert entry_data(notice, full, "branch/x") == {
        "branch": "branch/x", "notice_no": "一组〔2026〕3号", "visit_id": "v9", "no": 2, "item": "pol-01",
        "item_title": "三会一课", "area": "组织生活", "problem": "记录不全", "requirement": "补齐记录",
        "category": "immediate", "responsible": "张明", "deadline": "2026-11-27"}
    assert entry_data(notice, {**full, "deadline": "2026-11-28"}, "b")["category"] == "deadline"
    bare = entry_data(notice, {"no": 1, "item_id": "", "requirement": "长期坚持学习"}, "b")
    assert {k: bare[k] for k in ("item", "item_title", "area", "problem", "responsible", "deadline", "category")} == {
        "item": None, "item_title": "", "area": "", "problem": "", "responsible": "", "deadline": None,
        "category": "ongoing"}


def test_days_left_overdue_and_their_wording_at_each_boundary():
    item = fold(entry(), [])  # deadline 2026-12-05
    assert [days_text(item, date(2026, 12, d)) for d in (4, 5, 6)] == ["剩 1 天", "今天到期", "逾期 1 天"]
    assert [item.overdue(date(2026, 12, d)) for d in (4, 5, 6)] == [False, False, True]
    reported = fold(entry(), [change(1, status="to_check", evidence_text="已补")])
    assert reported.days_left(TODAY) == -5 and not reported.overdue(TODAY)  # waiting for the check, not late
    failed = fold(entry(), [change(1, status="failed", reason="未落实", deadline="2026-12-08")])
    assert failed.overdue(TODAY) and days_text(failed, TODAY) == "逾期 2 天"
    ongoing = fold(rec(Kind.LEDGER_ENTRY, EID, {**ENTRY, "deadline": None}), [])
    assert ongoing.days_left(TODAY) is None and not ongoing.overdue(TODAY) and days_text(ongoing, TODAY) == "—"


def test_on_time_uses_the_finish_date_against_the_original_deadline():
    def at(**fields):
        return fold(entry(), [change(1, **fields)]).on_time()

    assert at(status="to_check", evidence_text="已补", completed_on="2026-12-05")  # on the day counts
    assert not at(status="to_check", evidence_text="已补", completed_on="2026-12-06")
    assert not at(status="to_check", evidence_text="已补")  # no date at all: unknown, not on time
    assert not at(status="in_progress", completed_on="2026-12-01")  # not reported done
    assert at(status="closed", evidence_text="已补", checker="赵核", checked_on="2026-12-05")
    assert not at(status="closed", evidence_text="已补", checker="赵核", checked_on="2026-12-06")
    ongoing = fold(rec(Kind.LEDGER_ENTRY, EID, {**ENTRY, "deadline": None}),
                   [change(1, status="to_check", evidence_text="已补", completed_on="2027-06-01")])
    assert ongoing.on_time()


CLOSE = {"status": "closed", "evidence_text": "会议记录已补", "checker": "赵核", "checked_on": "2026-12-09"}


@pytest.mark.parametrize(("before", "after", "allowed"), [
    ("open", "in_progress", True), ("open", "to_check", True), ("open", "failed", True), ("open", "closed", True),
    ("in_progress", "open", True), ("in_progress", "closed", True), ("to_check", "open", False),
    ("to_check", "in_progress", True), ("to_check", "closed", True), ("failed", "open", False),
    ("failed", "to_check", True), ("failed", "closed", True), ("closed", "to_check", False),
    ("closed", "open", False), ("closed", "failed", True), ("to_check", "to_check", True),
    ("failed", "failed", True)])
def test_which_status_may_follow_which(before, after, allowed):
    reach = {"open": [], "in_progress": [{"status": "in_progress"}], "to_check": [{"status": "to_check"}],
             "failed": [{"status": "failed", "reason": "未落实", "deadline": "2027-01-10"}], "closed": [CLOSE]}
    item = fold(entry(), [change(n, **c) for n, c in enumerate(reach[before], 1)])
    assert item.status is S(before)
    fields = {"closed": CLOSE, "failed": reach["failed"][0]}.get(after, {"status": after})
    why = check_change(item, fields)
    assert (why is None) is allowed
    if not allowed and before != "closed":
        from inspect_tui.core.ledger import STATUS_LABELS

        assert why == f"不能从“{STATUS_LABELS[S(before)]}”直接改为“{STATUS_LABELS[S(after)]}”"


def test_strike_off_and_failure_name_everything_missing():
    item = fold(entry(), [])
    assert check_change(item, {"status": "closed", "evidence_text": "  ", "checker": " "}) == \
        "销号需要佐证材料或佐证说明、核查人、核查日期"
    assert check_change(item, {"status": "failed", "reason": " "}) == "判为未通过需要未通过原因、新的整改时限"
    assert check_change(item, {"status": "failed", "reason": "未落实"}) == "判为未通过需要新的整改时限"
    assert check_change(item, {"status": "failed", "deadline": "2027-01-10"}) == "判为未通过需要未通过原因"
    assert check_change(item, {"status": "closed", "evidence_files": ["a.jpg"], "checker": "赵核",
                               "checked_on": "2026-12-09"}) is None  # a photo alone is evidence
    earlier = fold(entry(), [change(1, evidence_text="会议记录已补")])
    assert check_change(earlier, {"status": "closed", "checker": "赵核", "checked_on": "2026-12-09"}) is None
    checked_before = fold(entry(), [change(1, evidence_text="已补", checker="赵核", checked_on="2026-12-08")])
    assert check_change(checked_before, {"status": "closed"}) == "销号需要核查人、核查日期"  # named on the change
    assert check_change(item, {"measures": "已开会"}) is None


def test_changes_apply_their_fields_and_keep_the_rest():
    item = fold(entry(), [
        change(1, measures="已开会", evidence_text="记录", checker="赵核", note="初查", responsible="李四",
               completed_on="2026-12-03", checked_on="2026-12-04", deadline="2026-12-20", category="ongoing",
               evidence_files=["a.jpg", "b.jpg"]),
        change(2, measures=None, note="复查", evidence_files=["b.jpg", "c.jpg"]),
        change(3, status="failed", reason="签名缺", deadline="2027-01-10")])
    assert (item.measures, item.evidence_text, item.checker, item.note, item.responsible, item.reason) == (
        "已开会", "记录", "赵核", "复查", "李四", "签名缺")
    assert (item.completed_on, item.checked_on, item.deadline, item.original_deadline) == (
        None, date(2026, 12, 4), date(2027, 1, 10), date(2026, 12, 5))  # failed: no longer completed
    assert item.category.value == "ongoing" and item.evidence_files == ("a.jpg", "b.jpg", "c.jpg")
    assert item.status is S.FAILED and item.closed_on is None
    assert (item.branch, item.notice_no, item.visit_id, item.no, item.item, item.item_title, item.area,
            item.problem, item.requirement) == ("branch/a", "第三观摩小组〔2026〕1号", "v1", 1, "pol-01", "三会一课",
                                                "组织生活", "记录不全", "补齐记录")
    assert [c.id for c in item.changes] == ["ledger_change/1", "ledger_change/2", "ledger_change/3"]


def test_a_change_in_progress_keeps_a_struck_off_date_only_while_struck_off():
    closed = fold(entry(), [change(1, **CLOSE)])
    assert closed.closed_on == date(2026, 12, 9)
    reopened = fold(entry(), [change(1, **CLOSE), change(2, status="failed", reason="补写", deadline="2027-01-10"),
                              change(3, status="in_progress")])
    assert reopened.closed_on is None and reopened.status is S.IN_PROGRESS


def test_fold_orders_changes_by_time_then_id():
    same = "2026-12-03T09:00:00+08:00"
    later_id_first = [change(2, at=same, measures="第二"), change(1, at=same, measures="第一")]
    assert fold(entry(), later_id_first).measures == "第二"
    assert fold(entry(), [change(1, at="2026-12-04T09:00:00+08:00", measures="晚"),
                          change(2, at=same, measures="早")]).measures == "晚"


def test_build_ledger_sorts_entries_by_notice_and_number_and_finds_them_by_ref():
    def ent(notice: str, no: int, branch: str) -> Rec:
        return rec(Kind.LEDGER_ENTRY, ledger_entry_id(notice, no), {**ENTRY, "notice_no": notice, "no": no,
                                                                      "branch": branch})

    e10, e2 = ent("一组〔2026〕2号", 10, "branch/b"), ent("一组〔2026〕2号", 2, "branch/a")
    other = ent("一组〔2026〕10号", 1, "branch/b")  # notice 10 after notice 2, though "1" < "2" as text
    moved = rec(Kind.LEDGER_CHANGE, "ledger_change/9", {"branch": "branch/b", "entry": e10.id, "measures": "已改"})
    noise = rec(Kind.PROBLEM, "problem/1", {"branch": "branch/a", "text": "x"})
    ledger = build_ledger([other, noise, e10, moved, e2])
    assert [i.ref for i in ledger.items] == ["一组〔2026〕2号/2", "一组〔2026〕2号/10", "一组〔2026〕10号/1"]
    assert ledger.branches() == ["branch/a", "branch/b"]
    assert [i.ref for i in ledger.of_branch("branch/b")] == ["一组〔2026〕2号/10", "一组〔2026〕10号/1"]
    assert ledger.get(" 一组〔2026〕2号/10 ").measures == "已改" and ledger.get(e2.id).no == 2
    assert ledger.get("一组〔2026〕2号/3") is None


def test_counts_and_rates_of_a_branch():
    def item(deadline: str | None, *fields: dict):
        return fold(rec(Kind.LEDGER_ENTRY, EID, {**ENTRY, "deadline": deadline}),
                    [change(n, **f) for n, f in enumerate(fields, 1)])

    done = {"status": "to_check", "evidence_text": "已补"}
    items = [
        item("2026-12-05"),  # overdue, due
        item("2026-12-10"),  # due today: not yet due, not overdue
        item("2026-12-09", {**done, "completed_on": "2026-12-01"}),  # done on time
        item("2026-12-20", {**CLOSE, "checked_on": "2026-12-08"}),  # struck off early: due because done
        item("2026-12-03", {**CLOSE, "checked_on": "2026-12-06"}),  # struck off late
        item(None),  # ongoing
    ]
    c = counts(items, TODAY)
    assert (c.total, c.closed, c.pending, c.overdue, c.done, c.on_time, c.due) == (6, 2, 4, 1, 3, 2, 4)
    assert (c.completion_rate, c.on_time_rate, c.closed_rate) == (3 / 6, 2 / 4, 2 / 6)
    none = counts([], TODAY)
    assert (none.completion_rate, none.on_time_rate, none.closed_rate) == (None, None, None)
    assert counts([item("2026-12-20")], TODAY).on_time_rate is None


def test_change_summary_says_every_field_once_in_order():
    from inspect_tui.core.ledger import change_summary

    assert change_summary({"status": "failed", "measures": "已开会" * 12, "evidence_text": "", "completed_on": None,
                           "checker": "赵核", "checked_on": "2026-12-09", "note": "复查", "reason": "签名缺",
                           "deadline": "2027-01-10", "responsible": "李四", "category": "immediate",
                           "evidence_files": ["甲" * 56 + ".jpg", "b.jpg"]}) == (
        "状态→未通过，整改措施及完成情况：" + ("已开会" * 10) + "，核查人：赵核，核查日期：2026-12-09，核查意见：复查，"
        "未通过原因：签名缺，整改时限：2027-01-10，责任人：李四，整改类别：立行立改，佐证材料：" + "甲" * 56 + ".jpg")
    assert change_summary({"evidence_text": "照片三张", "evidence_files": ["a.jpg", "b.jpg"]}) == (
        "佐证说明：照片三张，佐证材料：a.jpg、b.jpg")
    assert change_summary({"completed_on": "2026-12-01"}) == "完成时间：2026-12-01"
    assert change_summary({"branch": "branch/a", "entry": EID, "evidence_files": []}) == "（无改动）"


def test_an_entry_without_its_optional_texts_reads_them_as_empty():
    minimal = {k: ENTRY[k] for k in ("branch", "notice_no", "visit_id", "no", "requirement", "category")}
    item = fold(rec(Kind.LEDGER_ENTRY, EID, minimal), [])
    assert (item.item, item.item_title, item.area, item.problem, item.responsible, item.deadline) == (
        None, "", "", "", "", None)


def test_a_failed_item_redone_is_not_on_time_by_its_first_dates():
    """Struck off in time, then failed at the 回头看 and redone after the deadline: neither the first
    completion nor the first check makes it on time."""
    first = [change(1, status="to_check", evidence_text="已补", completed_on="2026-12-01"),
             change(2, **{**CLOSE, "checked_on": "2026-12-02"}),
             change(3, status="failed", reason="记录系补写", deadline="2027-01-10", checker="赵核",
                    checked_on="2026-12-08")]
    failed = fold(entry(), first)
    assert failed.completed_on is None and failed.checked_on == date(2026, 12, 8) and not failed.on_time()
    redone = fold(entry(), [*first, change(4, status="to_check", evidence_text="重新补齐")])
    assert not redone.on_time()
    dated = fold(entry(), [*first, change(4, status="to_check", evidence_text="重新补齐", completed_on="2026-12-09")])
    assert dated.completed_on == date(2026, 12, 9) and not dated.on_time()
    assert counts([redone, dated], TODAY).on_time_rate == 0


def test_dates_that_cannot_all_be_true_are_refused():
    done = fold(entry(), [change(1, status="to_check", evidence_text="已补", completed_on="2026-12-04")])
    close = {"status": "closed", "checker": "赵核"}
    assert check_change(done, {**close, "checked_on": "2026-12-03"}) == "核查日期 2026-12-03 早于完成时间 2026-12-04"
    assert check_change(done, {**close, "checked_on": "2026-12-04"}) is None
    closed = fold(entry(), [*done.changes, change(5, **close, checked_on="2026-12-05")])
    reopen = {"status": "failed", "reason": "记录系补写", "deadline": "2027-01-10"}
    assert check_change(closed, {**reopen, "checked_on": "2026-12-04"}) == "核查日期 2026-12-04 早于该事项的销号日期 2026-12-05"
    assert check_change(closed, {**reopen, "checked_on": "2026-12-06", "deadline": "2026-12-06"}) \
        == "新的整改时限 2026-12-06 应晚于核查日期 2026-12-06"
    assert check_change(closed, {**reopen, "checked_on": "2026-12-06"}) is None


def test_a_check_or_completion_dated_after_today_is_not_recorded(tmp_path):
    from followup_helpers import make_visit

    from inspect_tui.errors import UserError
    from inspect_tui.export.batch import export_session
    from inspect_tui.export.followup_intake import Intake, notices_from_session
    from inspect_tui.store.followup import change_item, ledger_of, start_followup
    from inspect_tui.store.session import Session

    visit = make_visit(tmp_path)
    export_session(visit, tmp_path / "ex", kinds=("notice",), workers=1)
    with Session.open(visit, readonly=True) as v:
        intake = Intake()
        notices_from_session(v, intake)
        notices, checklist = intake.notices, v.checklist
    with start_followup(tmp_path / "fu.jsonl", notices, inspector="组长", day=TODAY, checklist=checklist) as s:
        ref = ledger_of(s).items[0].ref
        with pytest.raises(UserError, match="完成时间 2026-12-11 晚于今天（2026-12-10），不能预先登记"):
            change_item(s, ref, today=TODAY, completed_on="2026-12-11")
        change_item(s, ref, today=TODAY, completed_on="2026-12-10")
        assert ledger_of(s).items[0].completed_on == TODAY

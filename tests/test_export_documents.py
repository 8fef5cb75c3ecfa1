"""View-models and payloads: pure functions, no rendering."""

from __future__ import annotations

from datetime import date

import pytest

from inspect_tui.core.checklist_load import load_default_checklist
from inspect_tui.core.demo import generate
from inspect_tui.core.format import fmt_score as fmt_num
from inspect_tui.core.index import RecordIndex
from inspect_tui.core.records import Kind
from inspect_tui.core.scoring import analyse_branch
from inspect_tui.core.versions import join_records
from inspect_tui.export.documents import build_feedback, cn_date, cn_ordinal
from inspect_tui.export.notice import build_notice, notice_context, notice_hash, notice_items
from inspect_tui.export.qr import QRPayload


@pytest.fixture(scope="module")
def visit():
    cl = load_default_checklist()
    copies = generate(cl, branches=2, inspectors=3, seed=4)
    records: dict = {}
    for c in copies:
        records = join_records(records, {d["id"]: d for d in c.records})
    return cl, copies[0].meta, RecordIndex(records.values())


def test_formatting():
    assert cn_date(date(2026, 1, 5)) == "2026年1月5日" and cn_date("2026-12-31") == "2026年12月31日"
    assert cn_date(None) == "待定"
    assert fmt_num(12.5) == "12.5" and fmt_num(3.0) == "3" and fmt_num(2.333) == "2.33" and fmt_num(None) == "—"


def test_feedback_model_numbers_come_from_scoring(visit, tmp_path):
    cl, meta, index = visit
    branch = index.branches()[0]
    recs = index.of_branch(branch.id)
    result = analyse_branch(cl, branch, recs)
    vm = build_feedback(meta=meta, checklist=cl, branch=branch, records=recs, result=result,
                        session_path=tmp_path / "s.jsonl")
    ctx = vm.context
    assert ctx["total"] == fmt_num(result.total) and ctx["rating"] == result.rating.label
    assert [a["score"] for a in ctx["areas"]] == [fmt_num(a.score) for a in result.areas]
    assert ctx["problem_count"] == result.problems == sum(len(g["entries"]) for g in ctx["problems"])
    # numbering: （一） per area, 1. per problem; 亮点 and 建议 （一）（二）…
    assert [g["no"] for g in ctx["problems"]] == [f"（{cn_ordinal(n)}）" for n in range(1, len(ctx["problems"]) + 1)]
    for g in ctx["problems"]:
        assert [e["no"] for e in g["entries"]] == [f"{n}." for n in range(1, len(g["entries"]) + 1)]
    assert list(ctx["heads"].values())[:5] == ["一、总体评价", "二、得分情况", "三、亮点与经验做法", "四、存在问题", "五、意见建议"]
    # the branch never sees who said what: no inspector names, no per-inspector values
    flat = repr(ctx)
    assert not any(name in flat for name in meta.inspectors)
    assert ctx["evaluation"].startswith("经观摩")  # composed, since the leader wrote no 评 note


def test_cn_ordinal():
    assert [cn_ordinal(n) for n in (1, 9, 10, 11, 20, 21)] == ["一", "九", "十", "十一", "二十", "二十一"]


def test_notice_rows_are_recorded_demands_and_hash_is_stable(visit):
    cl, meta, index = visit
    branch = index.branches()[0]
    vm = build_notice(meta=meta, checklist=cl, branch=branch, records=index.of_branch(branch.id), number="某〔2026〕3号")
    assert vm is not None
    items = vm.data["items"]
    assert [i["no"] for i in items] == list(range(1, len(items) + 1))
    demands = {r.data["requirement"] for r in index.of_branch(branch.id, Kind.RECTIFICATION)}
    assert {i["requirement"] for i in items} <= demands  # nothing invented
    assert vm.data["doc_no"] == "某〔2026〕3号"
    assert vm.data["deadline"] == max(i["deadline"] for i in items if i["deadline"])
    again = build_notice(meta=meta, checklist=cl, branch=branch, records=list(reversed(index.of_branch(branch.id))),
                         number="某〔2026〕3号")
    assert notice_hash(again.data) == vm.sha256  # record order does not change the notice
    context, warnings = notice_context(vm.data)
    assert context["deadline"] == cn_date(vm.data["deadline"]) and not warnings
    # each row keeps its own demand's deadline (the earliest where identical demands were folded)
    recorded = index.of_branch(branch.id, Kind.RECTIFICATION)
    for item, row in zip(items, context["items"], strict=True):
        own = [str(d.data["deadline"]) for d in recorded if d.data["requirement"].strip() == item["requirement"]]
        assert item["deadline"] == min(own) and row["deadline_cn"] == cn_date(item["deadline"])
    assert len({i["deadline"] for i in items}) > 1  # rows' deadlines differ: a row given another's shows


def test_problem_without_demand_and_role_responsible_are_gaps(visit, tiny_checklist):
    from inspect_tui.core.index import Rec

    def rec(rid, kind, data):
        return Rec(id=rid, kind=kind, data=data, author="王", by="王", at=rid, deleted=False, versions=())

    records = [rec("p1", Kind.PROBLEM, {"branch": "b", "item": "i1", "text": "记录不全"}),
               rec("p2", Kind.PROBLEM, {"branch": "b", "item": "i2", "text": "流于形式"}),
               rec("r1", Kind.RECTIFICATION, {"branch": "b", "item": "i1", "problem": "p1", "requirement": "补齐记录",
                                              "deadline": None, "responsible": "支部书记"})]
    items, gaps = notice_items(tiny_checklist, records)
    assert [i["requirement"] for i in items] == ["补齐记录"]  # the checklist's default text is never added
    assert any("没有整改时限" in g for g in gaps)
    assert any("职务" in g and "支部书记" in g for g in gaps)
    assert any("流于形式" in g and "没有整改要求" in g for g in gaps)
    orphan = [rec("r2", Kind.RECTIFICATION, {"branch": "b", "item": "i3", "problem": None, "requirement": "落实场所",
                                              "deadline": "2026-12-31", "responsible": "张红梅"})]
    assert notice_items(tiny_checklist, orphan)[1] == ["第 1 项（活动室）的整改要求没有对应的问题记录"]


def test_no_problems_no_notice(visit):
    cl, meta, index = visit
    branch = index.branches()[0]
    clean = [r for r in index.of_branch(branch.id) if r.kind.value not in ("problem", "rectification")]
    assert build_notice(meta=meta, checklist=cl, branch=branch, records=clean, number=None) is None


def test_qr_payload_round_trip_with_odd_ids():
    p = QRPayload("20261120-abc-01", "visit 1/2&x=3", "branch/支部?", 7, "", "ab" * 32)
    text = p.encode()
    assert text.isascii() and QRPayload.decode(text) == p
    with pytest.raises(ValueError):
        QRPayload.decode("https://example.com/?no=1")
    signed = p.signed(b"k" * 32)
    assert QRPayload.decode(signed.encode()) == signed and signed.signature_valid(b"k" * 32)
    forged = QRPayload.decode(signed.encode().replace("&n=7", "&n=6"))
    assert not forged.signature_valid(b"k" * 32)

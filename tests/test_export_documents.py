"""View-models and payloads: pure functions, no rendering."""

from __future__ import annotations

from datetime import date

import pytest

from inspect_tui.core.checklist_load import load_default_checklist
from inspect_tui.core.demo import generate
from inspect_tui.core.format import fmt_score as fmt_num
from inspect_tui.core.index import RecordIndex
from inspect_tui.core.scoring import analyse_branch
from inspect_tui.core.versions import join_records
from inspect_tui.export.documents import branch_numbers, build_feedback, build_notice, cn_date, notice_hash
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
    assert len(ctx["unsettled"]) == len(result.unsettled)
    assert "组长" not in ctx["inspectors"]  # the plan's author is not an inspector of the branch
    # the same finding recorded by three inspectors is listed once
    for f in ctx["findings"]:
        assert len(f["found"]) == len(set(f["found"]))
        assert f["no"] == ctx["findings"].index(f) + 1


def test_notice_groups_by_item_and_hash_is_stable(visit):
    cl, meta, index = visit
    branch = index.branches()[0]
    vm = build_notice(meta=meta, checklist=cl, branch=branch, records=index.of_branch(branch.id), position=3)
    assert vm is not None
    items = vm.data["items"]
    assert [i["no"] for i in items] == list(range(1, len(items) + 1))
    assert len({i["item_id"] for i in items}) == len(items)
    assert vm.data["notice_no"].endswith("-03") and vm.data["notice_no"].isascii()
    assert vm.data["deadline"] == max(i["deadline"] for i in items if i["deadline"])
    again = build_notice(meta=meta, checklist=cl, branch=branch, records=list(reversed(index.of_branch(branch.id))),
                         position=3)
    assert notice_hash(again.data) == vm.sha256  # record order does not change the notice


def test_no_problems_no_notice(visit):
    cl, meta, index = visit
    branch = index.branches()[0]
    clean = [r for r in index.of_branch(branch.id) if r.kind.value not in ("problem", "rectification")]
    assert build_notice(meta=meta, checklist=cl, branch=branch, records=clean, position=1) is None


def test_branch_numbers_prefer_unique_order(visit):
    _, _, index = visit
    branches = index.branches()
    assert branch_numbers(branches) == {b.id: b.data["order"] for b in branches}


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

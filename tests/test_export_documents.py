"""View-models and payloads: pure functions, no rendering."""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import TINY

from inspect_tui.core.checklist import Checklist
from inspect_tui.core.checklist_load import load_default_checklist
from inspect_tui.core.demo import generate
from inspect_tui.core.format import fmt_score as fmt_num
from inspect_tui.core.index import Rec, RecordIndex
from inspect_tui.core.records import Kind
from inspect_tui.core.scoring import analyse_branch
from inspect_tui.core.versions import join_records
from inspect_tui.export.documents import build_feedback, cn_date, cn_ordinal, sorted_by_item
from inspect_tui.export.issuer import Issuer
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
    assert cn_date(None) == "待定" and cn_date("") == "待定"
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


# --- the feedback's whole view-model, by hand --------------------------------------------------------

def rec(rid: str, kind: Kind, data: dict, author: str = "王建国") -> Rec:
    return Rec(id=rid, kind=kind, data={"branch": "b1", **data}, author=author, by=author, at=rid, deleted=False,
               versions=())


BRANCH = Rec(id="b1", kind=Kind.BRANCH, data={"name": "机关第一党支部", "unit": "某某局"}, author="王建国", by="王建国",
             at="00", deleted=False, versions=())
FINDINGS = [
    rec("01", Kind.SCORE, {"item": "i1", "score": 5}), rec("02", Kind.SCORE, {"item": "i2", "score": 6}),
    rec("03", Kind.SCORE, {"item": "i3", "score": 2}),
    rec("04", Kind.HIGHLIGHT, {"item": None, "text": "党员示范岗作用明显"}),  # recorded first, listed after the items'
    rec("05", Kind.HIGHLIGHT, {"item": "i3", "text": "活动室布置规范"}),
    rec("06", Kind.PROBLEM, {"item": "i1", "text": "记录不全", "evidence": "3月会议记录无签名"}),
    rec("07", Kind.PROBLEM, {"item": "i1", "text": "记录不全。", "evidence": "缺少参会人数"}, author="李志刚"),
    rec("08", Kind.PROBLEM, {"item": "i3", "text": "活动室被挪用", "evidence": ""}),
    rec("055", Kind.PROBLEM, {"item": None, "text": "台账混乱", "evidence": "见台账"}),
    rec("10", Kind.SUGGESTION, {"item": None, "text": "加强学习"}),
    rec("11", Kind.SUGGESTION, {"item": "i2", "text": "结合业务开展主题党日"}),
    rec("12", Kind.OBSERVATION, {"item": "i3", "step": "look", "note": "堆放杂物", "files": ["photos/a.jpg", "photos/gone.jpg"]}),
    rec("13", Kind.OBSERVATION, {"item": "i1", "step": "check", "note": "", "files": ["photos/a.jpg"]}),
    rec("14", Kind.INTERVIEW, {"role": "党员", "question": "多久开一次党员大会？", "adequate": True}),
    rec("15", Kind.INTERVIEW, {"role": "党员", "question": "支部书记是谁？", "adequate": False}),
]
META = SimpleNamespace(inspector="王建国", role="inspector", group="第一观摩组", date=date(2026, 11, 20))


def feedback(tmp_path: Path, records: list[Rec] = FINDINGS, meta=META, **kwargs):
    (tmp_path / "photos").mkdir(exist_ok=True)
    (tmp_path / "photos" / "a.jpg").write_bytes(b"\xff\xd8\xff")
    cl = Checklist.model_validate(TINY)
    return build_feedback(meta=meta, checklist=cl, branch=BRANCH, records=records,
                          result=analyse_branch(cl, BRANCH, records), session_path=tmp_path / "visit.jsonl", **kwargs)


def test_feedback_view_model_in_full(tmp_path):
    """Scores 5 + 6 | 2 of 12 | 8: 13 of 20, 达标; the two 记录不全 fold into one problem with two proofs."""
    photo = tmp_path / "photos" / "a.jpg"
    vm = feedback(tmp_path)
    assert (vm.branch_id, vm.branch_name, vm.seal, vm.warnings) == ("b1", "机关第一党支部", None, [])
    assert vm.attachments == [str(photo), str(photo)]
    assert vm.context == {
        "title": "点对点反馈意见", "draft": False, "draft_mark": "征求意见稿", "doc_no": "",
        "letterhead": "第一观摩组", "body": "第一观摩组", "addressee": "机关第一党支部", "cc": "", "contact": "", "phone": "",
        "group": "第一观摩组", "date": "2026年11月20日", "branch": "机关第一党支部", "unit": "某某局",
        "checklist": "小清单（1）",
        "heads": {"总体评价": "一、总体评价", "得分情况": "二、得分情况", "亮点与经验做法": "三、亮点与经验做法",
                  "存在问题": "四、存在问题", "意见建议": "五、意见建议"},
        "evaluation": "经观摩，机关第一党支部标准化规范化建设总得分 13 分（满分 20 分），评定等次为“达标”。"
                      "其中“组织生活”方面完成较好，“基础保障”方面相对薄弱。观摩中总结亮点 2 条，发现问题 3 个，请对照反馈意见抓好整改。",
        "areas": [{"title": "组织生活", "full": "12", "score": "11", "scored": 2, "item_count": 2},
                  {"title": "基础保障", "full": "8", "score": "2", "scored": 1, "item_count": 1}],
        "total": "13", "full_marks": "20", "rating": "达标", "rating_level": "pass", "awareness": "50.0%（1/2）",
        "problem_count": 3,
        "highlights": [{"no": "（一）", "text": "活动室布置规范", "item": "活动室"},
                       {"no": "（二）", "text": "党员示范岗作用明显", "item": ""}],
        "problems": [
            {"no": "（一）", "area": "组织生活", "entries": [
                {"no": "1.", "item": "三会一课", "text": "记录不全",
                 "evidence": [{"no": "（1）", "text": "3月会议记录无签名"}, {"no": "（2）", "text": "缺少参会人数"}]}]},
            {"no": "（二）", "area": "基础保障", "entries": [{"no": "1.", "item": "活动室", "text": "活动室被挪用", "evidence": []}]},
            {"no": "（三）", "area": "其他方面", "entries": [
                {"no": "1.", "item": "其他方面", "text": "台账混乱", "evidence": [{"no": "", "text": "见台账"}]}]}],
        "suggestions": [{"no": "（一）", "text": "结合业务开展主题党日", "item": "主题党日"},
                        {"no": "（二）", "text": "加强学习", "item": ""}],
        "photos": [
            {"no": 1, "url": photo.as_uri(), "caption": "三会一课（查）", "file": "a.jpg", "path": str(photo),
             "missing": False, "reason": ""},
            {"no": 2, "url": photo.as_uri(), "caption": "活动室（看）：堆放杂物", "file": "a.jpg", "path": str(photo),
             "missing": False, "reason": ""},
            {"no": 3, "url": "", "caption": "活动室（看）：堆放杂物", "file": "gone.jpg", "path": "", "missing": True,
             "reason": "文件不在本机"}],
        "unsettled_count": 0, "scored_items": 3, "item_count": 3, "seal": "",
    }


def test_feedback_issuer_number_draft_and_seal(tmp_path):
    issuer = Issuer(body="某某市直机关工委", letterhead="某某市直机关工委文件", addressee="{unit}{branch}",
                    cc=("某某局党委", "某某处"), contact="王某某", phone="0000-1234567")
    vm = feedback(tmp_path, number="市直观摩〔2026〕3号", issuer=issuer, seal=b"PNG", draft=True)
    ctx = vm.context
    assert (ctx["doc_no"], ctx["body"], ctx["letterhead"]) == ("市直观摩〔2026〕3号", "某某市直机关工委", "某某市直机关工委文件")
    assert (ctx["addressee"], ctx["cc"], ctx["contact"], ctx["phone"]) == ("某某局机关第一党支部", "某某局党委、某某处", "王某某",
                                                                        "0000-1234567")
    assert ctx["draft"] is True and ctx["seal"] == "data:image/png;base64,UE5H" and vm.seal == b"PNG"
    assert feedback(tmp_path, issuer=Issuer(body="某某市直机关工委")).context["letterhead"] == "某某市直机关工委"


def test_a_branch_without_unit_an_observation_without_step_and_an_unknown_item(tmp_path):
    branch = Rec(id="b1", kind=Kind.BRANCH, data={"name": "机关第一党支部"}, author="王建国", by="王建国", at="00",
                 deleted=False, versions=())
    records = [rec("06", Kind.PROBLEM, {"item": "gone", "text": "记录不全", "evidence": ""}),
               rec("12", Kind.OBSERVATION, {"item": "i3", "note": "堆放杂物", "files": ["photos/a.jpg"]})]
    cl = Checklist.model_validate(TINY)
    vm = build_feedback(meta=META, checklist=cl, branch=branch, records=records, result=analyse_branch(cl, branch, records),
                        session_path=tmp_path / "visit.jsonl", issuer=Issuer(addressee="{unit}{branch}"))
    assert (vm.context["unit"], vm.context["addressee"]) == ("", "机关第一党支部")
    assert vm.context["photos"][0]["caption"] == "活动室：堆放杂物"
    assert vm.context["problems"] == [{"no": "（一）", "area": "其他方面", "entries": [
        {"no": "1.", "item": "检查项 gone", "text": "记录不全", "evidence": []}]}]


def test_the_leaders_own_evaluation_replaces_the_composed_one(tmp_path):
    leader = SimpleNamespace(inspector="李组长", role="leader", group="第一观摩组", date=date(2026, 11, 20))
    notes = [rec("20", Kind.STEP_NOTE, {"step": "evaluate", "text": "  总体扎实，记录待规范。 "}, author="李组长"),
             rec("21", Kind.STEP_NOTE, {"step": "evaluate", "text": "王的看法"}),
             rec("22", Kind.STEP_NOTE, {"step": "evaluate", "text": "   "}, author="李组长"),
             rec("225", Kind.STEP_NOTE, {"step": "evaluate"}, author="李组长"),  # a hand-edited file's note
             rec("23", Kind.STEP_NOTE, {"step": "ask", "text": "访谈小结"}, author="李组长")]
    assert feedback(tmp_path, FINDINGS + notes, leader).context["evaluation"] == "总体扎实，记录待规范。"
    # the same notes in an inspector's own copy: the evaluation is composed
    assert feedback(tmp_path, FINDINGS + notes).context["evaluation"].startswith("经观摩")
    later = rec("24", Kind.STEP_NOTE, {"step": "evaluate", "text": "以最后一条为准"}, author="李组长")
    assert feedback(tmp_path, FINDINGS + notes + [later], leader).context["evaluation"] == "以最后一条为准"


def test_composed_evaluation_names_best_and_worst_area_only_when_they_differ(tmp_path):
    scores = [rec("01", Kind.SCORE, {"item": "i1", "score": 3}), rec("02", Kind.SCORE, {"item": "i2", "score": 3}),
              rec("03", Kind.SCORE, {"item": "i3", "score": 8})]
    text = feedback(tmp_path, scores).context["evaluation"]
    assert text == ("经观摩，机关第一党支部标准化规范化建设总得分 14 分（满分 20 分），评定等次为“达标”。"
                    "其中“基础保障”方面完成较好，“组织生活”方面相对薄弱。观摩中总结亮点 0 条，发现问题 0 个，请对照反馈意见抓好整改。")
    even = [rec("01", Kind.SCORE, {"item": "i1", "score": 3}), rec("02", Kind.SCORE, {"item": "i2", "score": 3}),
            rec("03", Kind.SCORE, {"item": "i3", "score": 4})]
    assert "其中" not in feedback(tmp_path, even).context["evaluation"]  # 6/12 and 4/8: no best, no worst
    assert feedback(tmp_path, []).context["awareness"] == "未访谈"


def test_text_a_font_cannot_print_is_named_by_field(tmp_path):
    odd = "\U00030000"  # a CJK Extension G character no installed font has
    data = copy.deepcopy(TINY)
    data["title"] += odd
    data["areas"][0]["title"] += odd
    data["areas"][0]["items"][0]["title"] += odd
    cl = Checklist.model_validate(data)
    branch = Rec(id="b1", kind=Kind.BRANCH, data={"name": f"支部{odd}", "unit": f"单位{odd}"}, author="王建国",
                 by="王建国", at="00", deleted=False, versions=())
    records = [rec("04", Kind.HIGHLIGHT, {"item": "i1", "text": f"亮点{odd}"}),
               rec("06", Kind.PROBLEM, {"item": "i1", "text": f"问题{odd}", "evidence": f"佐证{odd}"}),
               rec("10", Kind.SUGGESTION, {"item": "i1", "text": f"建议{odd}"}),
               rec("12", Kind.OBSERVATION, {"item": "i3", "step": "look", "note": f"说明{odd}", "files": [f"照片{odd}.jpg"]})]
    issuer = Issuer(body=f"机关{odd}", letterhead=f"版头{odd}", addressee="{branch}", cc=(f"抄送{odd}",),
                    contact=f"联系人{odd}", phone=f"电话{odd}")
    meta = SimpleNamespace(inspector="王建国", role="inspector", group=f"小组{odd}", date=date(2026, 11, 20))
    vm = build_feedback(meta=meta, checklist=cl, branch=branch, records=records, result=analyse_branch(cl, branch, records),
                        session_path=tmp_path / "visit.jsonl", issuer=issuer, number=f"号{odd}")
    assert [w.split("：")[0] for w in vm.warnings] == [
        "方面", "亮点", "检查项", "佐证材料", "检查项", "存在问题", "方面", "意见建议", "检查项", "照片说明", "照片文件名",
        "发文字号", "版头", "发文机关", "主送", "抄送", "联系人", "联系电话", "观摩小组", "支部", "单位", "检查依据",
        "总体评价"]
    assert all(w.endswith("：字体中没有 \U00030000（U+30000），已印为占位符") for w in vm.warnings)
    assert vm.context["highlights"][0]["text"] == "亮点[U+30000]" and vm.branch_name == f"支部{odd}"


def test_records_sort_in_checklist_order_then_unknown_items_then_time():
    recs = [rec("01", Kind.PROBLEM, {"item": None, "text": "甲"}), rec("02", Kind.PROBLEM, {"item": "i3", "text": "乙"}),
            rec("03", Kind.PROBLEM, {"item": "gone", "text": "丙"}), rec("04", Kind.PROBLEM, {"item": "i1", "text": "丁"}),
            rec("05", Kind.PROBLEM, {"item": "i3", "text": "戊"})]
    assert [r.data["text"] for r in sorted_by_item(Checklist.model_validate(TINY), recs)] == ["丁", "乙", "戊", "甲", "丙"]

"""Identical findings from several inspectors fold into one, keeping every member."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from inspect_tui.core.folding import count_folded, fold, folded_by_record, normalise
from inspect_tui.core.index import Rec
from inspect_tui.core.records import Kind


def rec(rid: str, author: str, text: str, *, kind: Kind = Kind.PROBLEM, item: str | None = "i1",
        branch: str = "b1", evidence: str = "", at: str | None = None, deleted: bool = False) -> Rec:
    data = {"branch": branch, "item": item, "text": text}
    if kind is Kind.PROBLEM:
        data["evidence"] = evidence
    return Rec(id=rid, kind=kind, data=data, author=author, by=author, at=at or f"2026-11-22T08:00:{rid[-2:]}",
               deleted=deleted, versions=())


def test_normalise_ignores_width_case_space_punctuation_and_invisible_marks():
    base = normalise("三会一课记录不全，缺少2次支委会")
    for variant in ("三会一课记录不全, 缺少２次支委会。", " 三会一课 记录不全缺少2次支委会！",
                    "三会一课\u200b记录不全\u200f，缺少2次\u00ad支委会"):
        assert normalise(variant) == base
    assert normalise("Record MISSING") == normalise("record missing")
    assert normalise("缺少2次") != normalise("缺少3次")
    assert normalise("！！") != normalise("？？")  # punctuation-only texts are not all one finding


def test_same_text_same_item_folds_keeping_every_inspectors_evidence_and_ids():
    recs = [rec("p01", "甲", "记录不全", evidence="2025年缺3月记录"),
            rec("p02", "乙", "记录不全。", evidence="见照片 1"),
            rec("p03", "丙", " 记录不全 ", evidence="2025年缺3月记录"),
            rec("p04", "甲", "活动室被挪用", item="i3")]
    folded = fold(recs)
    assert len(folded) == 2 and count_folded(recs) == 2
    first = folded[0]
    assert first.text == "记录不全" and first.item == "i1"
    assert first.record_ids == ("p01", "p02", "p03")
    assert first.authors == ("甲", "乙", "丙")
    assert first.evidence == ("2025年缺3月记录", "见照片 1")
    assert folded_by_record(folded)["p02"] is first


def test_different_items_branches_or_kinds_do_not_fold():
    recs = [rec("p01", "甲", "记录不全", item="i1"), rec("p02", "乙", "记录不全", item="i2"),
            rec("p03", "乙", "记录不全", branch="b2"), rec("p04", "乙", "记录不全", kind=Kind.SUGGESTION)]
    assert len(fold(recs)) == 4
    assert len(fold(recs, (Kind.PROBLEM,))) == 3


def test_untagged_record_joins_the_one_tagged_finding_with_its_text():
    recs = [rec("p01", "甲", "记录不全", item="i1"), rec("p02", "乙", "记录不全", item=None)]
    (f,) = fold(recs)
    assert f.item == "i1" and f.record_ids == ("p01", "p02")
    ambiguous = [*recs, rec("p03", "丙", "记录不全", item="i2")]
    assert len(fold(ambiguous)) == 3  # untagged text matches two items: left on its own
    assert len(fold([rec("p01", "甲", "x", item=None), rec("p02", "乙", "X", item=None)])) == 1


def test_deleted_and_other_kinds_are_ignored():
    recs = [rec("p01", "甲", "记录不全", deleted=True), rec("p02", "乙", "记录不全"),
            Rec(id="s01", kind=Kind.SCORE, data={"branch": "b1", "item": "i1", "score": 3}, author="甲", by="甲",
                at="", deleted=False, versions=())]
    (f,) = fold(recs)
    assert f.record_ids == ("p02",)


def test_highlights_and_suggestions_fold_too():
    recs = [rec("h01", "甲", "台账规范", kind=Kind.HIGHLIGHT, item=None),
            rec("h02", "乙", "台账规范。", kind=Kind.HIGHLIGHT, item=None),
            rec("s01", "甲", "建议每月检查", kind=Kind.SUGGESTION),
            rec("s02", "乙", "建议每月检查", kind=Kind.SUGGESTION)]
    assert [(f.kind, len(f.members)) for f in fold(recs)] == [(Kind.HIGHLIGHT, 2), (Kind.SUGGESTION, 2)]


TEXTS = ["记录不全", "记录不全。", "记 录 不 全", "活动室被挪用", "ＡＢＣ", "abc"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(TEXTS), st.sampled_from(["i1", "i2", None]),
                          st.sampled_from(["甲", "乙", "丙"])), min_size=0, max_size=12), st.randoms())
def test_fold_keeps_every_record_once_whatever_the_order(specs, rnd: random.Random):
    recs = [rec(f"p{n:02d}", who, text, item=item) for n, (text, item, who) in enumerate(specs)]
    folded = fold(recs)
    ids = [rid for f in folded for rid in f.record_ids]
    assert sorted(ids) == sorted(r.id for r in recs)  # nothing lost, nothing twice
    shuffled = recs[:]
    rnd.shuffle(shuffled)
    again = fold(shuffled)
    assert [(f.item, f.record_ids) for f in again] == [(f.item, f.record_ids) for f in folded]
    for f in folded:
        assert len({normalise(m.data["text"]) for m in f.members}) == 1
        assert {m.data.get("item") for m in f.members} <= {f.item, None}

"""The merge's input checks and its per-input counts, checked exactly.

Each refusal is checked twice: on ``check_compatible`` (what is wrong, in which words) and through
``merge_files`` in-process (the leader gets a ``UserError`` and no output file). The counts the
merge reports per input (read / new / already present / conflicts) are compared with hand-counted
values and, over random histories, with an oracle built from merges of the inputs' prefixes.
"""

from __future__ import annotations

import copy
import hashlib
import math
import random
import struct
from datetime import date
from pathlib import Path

import orjson
import pytest
from conftest import TINY
from hypothesis import given
from hypothesis import strategies as st
from test_merge_properties import BASE, NAMES, SETTINGS, histories, run_history, shape, sources

from inspect_tui.core import merge
from inspect_tui.core.checklist import Checklist
from inspect_tui.core.merge import (
    Source,
    bad_hash_problems,
    check_compatible,
    check_records,
    checklist_differences,
    digest_parts,
    fast_bad_hashes,
    fast_digest,
    merge_sources,
    verify_source,
)
from inspect_tui.core.meta import ChecklistRef, SessionMeta
from inspect_tui.core.versions import _HASHED, canonical, digest, join_records, make_version
from inspect_tui.errors import UserError
from inspect_tui.store.merge_files import merge_files
from inspect_tui.store.session_file import write_session


def source(name: str, m: SessionMeta, records=()) -> Source:
    return Source(name, m, list(records))




def meta(inspector: str = "王建国", **changes) -> SessionMeta:
    return BASE.model_copy(update=changes).for_inspector(inspector)


def score(rid: str, value: float, *, by: str = "王建国", replica: str = "r1", seen=(), item: str = "i1",
          at: str = "2026-11-20T09:00:00+08:00") -> dict:
    v = make_version(kind="score", data={"branch": "b1", "item": item, "score": value, "note": ""},
                     author=by, by=by, replica=replica, seen=seen, at=at)
    return {"id": rid, "versions": [v]}


def write(path: Path, m: SessionMeta, records=()) -> Path:
    write_session(path, m.model_dump(mode="json"), list(records), [])
    return path


def variant(**changes) -> Checklist:
    """The tiny checklist with some of its content changed (same id and version unless given)."""
    data = copy.deepcopy(TINY)
    for path, value in changes.items():
        target = data
        *keys, last = path.split("__")
        for k in keys:
            target = target[int(k)] if k.isdigit() else target[k]
        target[int(last) if last.isdigit() else last] = value
    return Checklist.model_validate(data)


def ref(cl: Checklist) -> ChecklistRef:
    return ChecklistRef.of(cl)


# --- visit date ------------------------------------------------------------------------------------


@pytest.mark.parametrize("same_visit", [True, False])
def test_inputs_from_different_days_are_refused(same_visit):
    a = source("a.jsonl", meta("王建国"))
    b = source("b.jsonl", meta("李秀英", date=date(2026, 11, 21),
                               **({} if same_visit else {"visit_id": "v2"})))
    problems = check_compatible([a, b])
    assert [(p.path, p.message) for p in problems] == [
        ("a.jsonl", "观摩日期不一致，不能合并：a.jsonl：2026-11-20；b.jsonl：2026-11-21")]
    assert check_compatible([a, source("c.jsonl", meta("李秀英"))]) == []


def test_merge_files_refuses_another_days_file_and_writes_nothing(tmp_path):
    a = write(tmp_path / "a.jsonl", meta("王建国"), [score("s1", 3.0)])
    b = write(tmp_path / "b.jsonl", meta("李秀英", date=date(2026, 11, 27)), [score("s2", 2.0, by="李秀英")])
    with pytest.raises(UserError) as exc:
        merge_files([a, b], tmp_path / "m.jsonl")
    assert "观摩日期不一致" in exc.value.message and "2026-11-27" in exc.value.message
    assert not (tmp_path / "m.jsonl").exists()


# --- checklist: id, version and content ------------------------------------------------------------


def test_same_id_and_version_with_other_content_is_refused(tiny_checklist):
    other = variant(areas__0__items__1__title="主题党日活动")
    assert (other.id, other.version) == (tiny_checklist.id, tiny_checklist.version)
    assert other.content_hash() != tiny_checklist.content_hash()
    a = source("a.jsonl", meta(checklist=ref(tiny_checklist)))
    b = source("b.jsonl", meta("李秀英", checklist=ref(other)))
    (unknown,) = check_compatible([a, b])  # neither checklist at hand: still refused
    assert unknown.path == "b.jsonl" and unknown.message.startswith(
        f"检查清单版本不同：本文件为 tiny 1（{other.content_hash()}），a.jsonl 为 tiny 1（{tiny_checklist.content_hash()}）")
    assert unknown.message.endswith("不同的项目：找不到两个版本的清单文件，无法逐项比较（记录中用到的项目相同）")
    (known,) = check_compatible([a, b], [tiny_checklist, other])
    assert known.message.endswith("不同的项目：i2（title不同）")


def test_merge_files_refuses_a_rewritten_checklist_of_the_same_version(tmp_path, tiny_checklist):
    other = variant(areas__1__items__0__scoring={"method": "deduct", "deduct_per": 2})
    a = write(tmp_path / "a.jsonl", meta(checklist=ref(tiny_checklist)), [score("s1", 3.0)])
    b = write(tmp_path / "b.jsonl", meta("李秀英", checklist=ref(other)), [score("s2", 2.0, by="李秀英")])
    with pytest.raises(UserError) as exc:
        merge_files([a, b], tmp_path / "m.jsonl", checklists=[tiny_checklist, other])
    assert "检查清单版本不同" in exc.value.message and exc.value.message.endswith("i3（scoring不同）")
    assert not (tmp_path / "m.jsonl").exists()


def test_checklist_differences_name_each_item_and_what_differs(tiny_checklist):
    assert checklist_differences(tiny_checklist, tiny_checklist) == []
    v2 = variant(version="2", areas__0__items__0__full_marks=5, areas__0__items__1__full_marks=7,
                 areas__0__items__0__problems=["记录缺页"])
    assert checklist_differences(tiny_checklist, v2) == ["i1（full_marks、problems不同）", "i2（full_marks不同）"]
    renamed = variant(version="2", areas__1__items__0__id="i4")
    assert checklist_differences(tiny_checklist, renamed) == ["i3（仅 1 有）", "i4（仅 2 有）"]
    for change in ({"areas__0__items__0__steps": {"look": {"prompt": "看"}, "evaluate": {"prompt": "评"}}},
                   {"areas__0__items__0__rectification": "限期补齐"}, {"areas__0__items__0__title": "三会"}):
        (diff,) = checklist_differences(tiny_checklist, variant(**change))
        assert diff == f"i1（{next(iter(change)).rsplit('__', 1)[1]}不同）"
    tagged = variant(tags=[{"id": "t1", "title": "强"}], areas__0__items__1__tags=["t1"])
    assert checklist_differences(variant(tags=[{"id": "t1", "title": "强"}]), tagged) == ["i2（内容不同）"]
    for change in ({"ratings__1__min": 70}, {"areas__0__title": "组织"},
                   {"questions": [{"id": "g1", "text": "您知道支部书记是谁吗？"}]}):
        assert checklist_differences(tiny_checklist, variant(**change)) == ["（项目相同；评分档次、领域或通用问题不同）"]


def test_checklist_mismatch_without_both_files_names_the_items_the_records_use(tiny_checklist):
    unknown = ChecklistRef(id="tiny", version="2", hash="0" * 16)
    a = source("a.jsonl", meta(checklist=ref(tiny_checklist)), [score("s1", 1.0, item="i1")])
    b = source("b.jsonl", meta("李秀英", checklist=unknown),
               [score("s2", 1.0, item="i9"), score("s3", 1.0, item="i8"), score("s4", 1.0, item="i1")])
    (p,) = check_compatible([a, b], [tiny_checklist])
    assert p.message.endswith("不同的项目：i8（不在 1 中）；i9（不在 1 中）")
    (p,) = check_compatible([b, a], [tiny_checklist])  # the known one second: still the unknown file's items
    assert p.message.endswith("不同的项目：i8（不在 1 中）；i9（不在 1 中）")
    (p,) = check_compatible([a, b])
    assert p.message.endswith("不同的项目：i8（仅 b.jsonl 用到）；i9（仅 b.jsonl 用到）")
    (p,) = check_compatible([b, a])
    assert p.message.endswith("不同的项目：i8（仅 b.jsonl 用到）；i9（仅 b.jsonl 用到）")
    for n, suffix in ((11, ""), (12, "；等 13 处")):  # twelve are shown, then the count
        (p,) = check_compatible([a, source("c.jsonl", meta("张伟", checklist=unknown),
                                           [score(f"x{k}", 1.0, item=f"z{k:02}") for k in range(n)])])
        assert p.message.endswith(f"（仅 c.jsonl 用到）{suffix}") and p.message.count("用到") == min(n + 1, 12)
    many = source("c.jsonl", meta("张伟", checklist=unknown), [score(f"x{n}", 1.0, item=f"z{n:02}") for n in range(14)])
    (p,) = check_compatible([a, many])
    shown = "；".join(f"z{n:02}（仅 c.jsonl 用到）" for n in range(11))
    assert p.message.endswith(f"不同的项目：i1（仅 a.jsonl 用到）；{shown}；等 15 处")


def test_another_checklist_id_is_named(tiny_checklist):
    a = source("a.jsonl", meta(checklist=ref(tiny_checklist)))
    b = source("b.jsonl", meta("李秀英", checklist=ChecklistRef(id="other", version="1", hash="x")))
    c = source("c.jsonl", meta("张伟", checklist=ref(tiny_checklist)))
    problems = check_compatible([a, c, b], [tiny_checklist])
    assert [(p.path, p.message) for p in problems] == [(
        "b.jsonl", f"检查清单版本不同：本文件为 other 1（x），a.jsonl 为 tiny 1（{tiny_checklist.content_hash()}）；"
                   "不同的项目：清单编号不同：tiny / other")]
    assert check_compatible([]) == []


def test_group_names_must_match_exactly_within_a_visit_and_loosely_across_visits():
    a = source("a.jsonl", meta(group="第三观摩小组（一）"))
    spelled = source("b.jsonl", meta("李秀英", group="第三观摩小组(一)"))
    (p,) = check_compatible([a, spelled])
    assert (p.path, p.message) == ("a.jsonl", "观摩小组不一致，不能合并：a.jsonl：第三观摩小组（一）；b.jsonl：第三观摩小组(一)")
    assert check_compatible([a, source("b.jsonl", meta("李秀英", group="第三观摩小组(一)", visit_id="v2"))]) == []
    other = source("b.jsonl", meta("李秀英", group="第四观摩小组", visit_id="v2"))
    assert [p.message for p in check_compatible([a, other])] == [
        "观摩小组不一致，不能合并：a.jsonl：第三观摩小组（一）；b.jsonl：第四观摩小组"]


# --- per-input counts ------------------------------------------------------------------------------


def test_per_input_counts_are_exact():
    """甲 brings two records; 乙 has one of them unchanged, a newer version of the other and a new
    one; 丙 edited 甲's second record concurrently with 乙 (a conflict) and has 乙's new one."""
    s1, s2 = score("s1", 1.0), score("s2", 2.0)
    newer = score("s2", 3.0, by="王建国", replica="r2", seen=s2["versions"], at="2026-11-20T10:00:00+08:00")
    rival = score("s2", 4.0, by="王建国", replica="r3", seen=s2["versions"], at="2026-11-20T10:05:00+08:00")
    s3 = score("s3", 5.0, by="李秀英", replica="r2")
    a = source("甲.jsonl", meta("甲"), [s1, s2])
    b = source("乙.jsonl", meta("乙"), [s1, newer, s3])
    c = source("丙.jsonl", meta("丙"), [rival, s3])
    result = merge_sources([a, b, c])
    rows = [(s.name, s.inspector, s.read, s.new, s.present, s.conflicts) for s in result.stats]
    assert rows == [("甲.jsonl", "甲", 2, 2, 0, 1), ("乙.jsonl", "乙", 3, 2, 1, 1), ("丙.jsonl", "丙", 2, 1, 1, 1)]
    assert result.conflicts == ["s2"]
    assert [s.digest for s in result.stats] == [digest(src.records) for src in (a, b, c)]
    stale = {"id": "s2", "versions": [*s2["versions"], *newer["versions"]]}  # a superseded version kept
    assert merge_sources([source("x", meta(), [stale])]).records["s2"]["versions"] == newer["versions"]
    again = merge_sources([a, b, c, b])  # the same file twice brings nothing new the second time
    assert [(s.new, s.present) for s in again.stats] == [(2, 0), (2, 1), (1, 1), (0, 3)]
    old_after_new = merge_sources([b, a])  # the older version after the newer one is nothing new
    assert [(s.new, s.present, s.conflicts) for s in old_after_new.stats] == [(3, 0, 0), (0, 2, 0)]


def test_merge_files_reports_the_counts(tmp_path):
    s1, s2 = score("s1", 1.0), score("s2", 2.0)
    newer = score("s2", 3.0, replica="r2", seen=s2["versions"], at="2026-11-20T10:00:00+08:00")
    a = write(tmp_path / "a.jsonl", meta("甲"), [s1, s2])
    b = write(tmp_path / "b.jsonl", meta("乙"), [s1, newer, score("s3", 5.0, replica="r2")])
    report = merge_files([a, b], tmp_path / "m.jsonl")
    assert [(s.read, s.new, s.present, s.conflicts) for s in report.stats] == [(2, 2, 0, 0), (3, 2, 1, 0)]
    assert report.table()[1:] == [f"{a}  甲      2     2     0     0", f"{b}  乙      3     2     1     0"]


@SETTINGS
@given(histories, st.permutations(range(3)))
def test_new_counts_what_each_input_changed_in_the_merge(ops, order):
    """``new`` of an input = the records whose versions change when that input is joined (by the
    plain lattice join, ``join_records``) to the inputs before it; ``present`` = the rest it read."""
    srcs = [sources(run_history(ops)[0])[i] for i in order]
    srcs.append(srcs[0])  # a file given twice is all present the second time
    result = merge_sources(srcs)
    joined: dict = {}
    for st_, src in zip(result.stats, srcs, strict=True):
        before = shape(joined)
        joined = join_records(joined, {d["id"]: d for d in src.records})
        after = shape(joined)
        changed = {d["id"] for d in src.records if before.get(d["id"]) != after[d["id"]]}
        assert (st_.read, st_.new, st_.present) == (len(src.records), len(changed), len(src.records) - len(changed))
    assert shape(result.records) == shape(joined)
    assert result.stats[-1].new == 0
    assert [s.inspector for s in result.stats] == [NAMES[i] for i in order] + [NAMES[order[0]]]


# --- verification: every version's hash is recomputed ----------------------------------------------


def forged(doc: dict, **data) -> dict:
    v = doc["versions"][0]
    return {"id": doc["id"], "versions": [{**v, "data": {**v["data"], **data}}]}


def test_bad_hashes_are_named_by_record_five_at_most():
    assert [p.message for p in bad_hash_problems("a.jsonl", ["r1", "r2"])] == [
        "内容校验值不符（文件可能被手工修改或损坏）：r1、r2"]
    five = [f"r{n}" for n in range(5)]
    assert bad_hash_problems("a.jsonl", five)[0].message.endswith("：r0、r1、r2、r3、r4")
    assert bad_hash_problems("a.jsonl", [*five, "r5"])[0].message.endswith("：r0、r1、r2、r3、r4 等 6 条")
    (p,) = bad_hash_problems("a.jsonl", [*five, "r5", "r6"])
    assert (p.path, p.message) == ("a.jsonl", "内容校验值不符（文件可能被手工修改或损坏）：r0、r1、r2、r3、r4 等 7 条")
    good, bad = score("s1", 1.0), forged(score("s2", 2.0), score=5.0)
    assert verify_source(source("a.jsonl", meta(), [good])) == []
    assert verify_source(source("a.jsonl", meta(), [good, bad])) == bad_hash_problems("a.jsonl", ["s2"])
    known: set[str] = set()
    assert verify_source(source("a.jsonl", meta(), [good]), known) == [] and known == {good["versions"][0]["h"]}
    same_hash = forged(good, score=9.0)  # trusted: its hash was checked in this merge already
    assert verify_source(source("b.jsonl", meta(), [same_hash]), known) == []
    assert verify_source(source("b.jsonl", meta(), [same_hash])) == bad_hash_problems("b.jsonl", ["s1"])


def test_known_good_hashes_are_trusted_only_when_asked():
    good = score("s1", 1.0)
    copy_of_good = forged(good, score=9.0)
    copy_of_good["id"] = "s2"
    twice_bad = {"id": "s3", "versions": [forged(score("s3", 1.0), score=2.0)["versions"][0],
                                          forged(score("s3", 3.0, replica="r9"), score=4.0)["versions"][0]]}
    assert fast_bad_hashes([good, copy_of_good, twice_bad]) == ["s2", "s3"]
    known: set[str] = set()
    assert fast_bad_hashes([good], known) == [] and known == {good["versions"][0]["h"]}
    assert fast_bad_hashes([copy_of_good], known) == []  # its hash was checked before: trusted
    assert fast_bad_hashes([twice_bad], known) == ["s3"] and len(known) == 1


def check_both_ways(records: list[dict], monkeypatch) -> tuple:
    fast = check_records(records)
    with monkeypatch.context() as m:  # without json's C accelerator: the same answer
        m.setattr(merge, "canonical_encoder", lambda: (None, {}))
        assert check_records(records) == fast
    with monkeypatch.context() as m:  # without orjson's first try: the same answer
        m.setattr(merge, "_FAST_DUMPS", None)
        assert check_records(records) == fast
    return fast


def test_check_records_finds_bad_hashes_and_takes_digest_parts(monkeypatch):
    a, b = score("s1", 1.0), score("s2", 2.0)
    b2 = score("s2", 3.0, replica="r2")
    two = {"id": "s2", "versions": sorted(b["versions"] + b2["versions"], key=lambda v: v["h"])}
    bad, parts = check_both_ways([a, two], monkeypatch)
    assert bad == [] and digest_parts(parts) == digest([a, two]) == fast_digest([a, two])
    assert parts["s1"] == f'{{"id":"s1","v":["{a["versions"][0]["h"]}"]}}'
    assert parts["s2"] == '{"id":"s2","v":["' + '","'.join(sorted(v["h"] for v in two["versions"])) + '"]}'
    assert check_both_ways([a, forged(b, score=0.0), forged(two, score=7.0)], monkeypatch) == (["s2", "s2"], None)
    assert check_both_ways([forged(a, score=0.0), b], monkeypatch) == (["s1"], None)
    assert check_both_ways([a, a], monkeypatch) == ([], None)  # repeated ids: no parts
    assert check_both_ways([], monkeypatch) == ([], {})


def test_orjson_writes_the_canonical_json_wherever_check_records_trusts_it():
    """The property ``check_records``'s first try rests on: orjson's bytes that ``_not_canonical``
    does not flag are the canonical JSON — every character, key order, integer and float range."""
    def trusted(value) -> bool:
        text = orjson.dumps(value, option=merge._FAST_OPTIONS)
        assert merge._not_canonical(text) or text == canonical(value), value
        return not merge._not_canonical(text)

    every = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000)
    assert trusted(every) and trusted({"k": every, "列表": [every]})
    assert trusted({chr(c): c for c in (0, 0x22, 0x41, 0x61, 0x7F, 0x4E2D, 0xE000, 0xFFFF, 0x10000, 0x10FFFF)})
    assert all(trusted(n) for n in (0, 1, -1, 2**53 + 1, 2**63 - 1, -2**63, 2**64 - 1, True, False))
    rng = random.Random(7)
    floats = [m * 10.0 ** e for e in range(-300, 300) for m in (1.0, 1.5, 2.2250738585072014, 9.999999999999998)]
    floats += [struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0] for _ in range(50_000)]
    floats += [round(rng.uniform(-100, 100), rng.randint(0, 8)) for _ in range(50_000)]
    floats = [f for f in floats if math.isfinite(f)] + [0.0, -0.0, 1e-4, 5e-324, 1.7976931348623157e308]
    assert sum(not trusted(f) for f in floats) > 1000  # the tiny ones: this test sees both sides
    assert all(trusted(f) for f in floats if f == 0 or abs(f) >= 1e-4)
    assert not trusted(None) and not trusted(float("nan")) and not trusted(float("-inf"))
    with pytest.raises(TypeError):
        orjson.dumps(2**64, option=merge._FAST_OPTIONS)  # left to json's encoder


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 1e-5, 3.5e-7, 2**70, 1e16])
def test_versions_orjson_spells_otherwise_are_checked_the_canonical_way(value, monkeypatch):
    good = score("s1", value)
    assert check_both_ways([good], monkeypatch)[0] == []
    assert check_both_ways([forged(good, score=0.5)], monkeypatch) == (["s1"], None)
    v = good["versions"][0]
    try:  # a hash made over orjson's spelling (null for NaN, 0.00001 for 1e-05) is not the canonical one
        made = orjson.dumps({k: v[k] for k in _HASHED}, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return
    if made != canonical({k: v[k] for k in _HASHED}):
        odd = {**v, "h": hashlib.sha256(made).hexdigest()[:24]}
        assert check_both_ways([{"id": "s1", "versions": [odd]}], monkeypatch) == (["s1"], None)


def test_digest_of_hashes_that_are_not_hex_is_still_the_canonical_one():
    weird = {"id": "w", "versions": [{"h": 'a"b'}, {"h": "ü1"}]}
    plain = {"id": "p\\x", "versions": [{"h": "abc"}]}
    assert fast_digest([weird, plain]) == digest([weird, plain])
    assert fast_digest([plain], verified=True) == digest([plain])
    ok = score("s1", 1.0)
    result = merge_sources([source("a", meta(), [ok, plain])])
    assert result.digest() == digest([ok, plain]) and result.digest() is result.digest()

"""Branch matching and the merge's bookkeeping, checked value by value: which branches are proposed
as one and under which id, how references move to that id, and what the merged file's meta says."""

from __future__ import annotations

from test_merge_checks import meta, source
from test_merge_properties import shape

from inspect_tui.core.merge import (
    BranchMatch,
    BranchMatching,
    branch_key,
    check_records,
    digest_parts,
    logged_aliases,
    match_branches,
    merge_sources,
    merged_meta,
    normalize_branch_name,
    normalize_text,
    rewrite_doc,
)
from inspect_tui.core.versions import bad_hashes, digest, make_version, version_hash

T0 = "2026-11-20T08:00:00+08:00"


def branch(rid: str, name: str, unit: str = "", *, at: str = T0, replica: str = "r", deleted: bool = False,
           seen=()) -> dict:
    v = make_version(kind="branch", data={"name": name, "unit": unit, "order": 1}, author="甲", by="甲",
                     replica=replica, at=at, deleted=deleted, seen=seen)
    return {"id": rid, "versions": [v]}


def rec(rid: str, kind: str = "score", **data) -> dict:
    v = make_version(kind=kind, data=data, author="甲", by="甲", replica="r", at=T0)
    return {"id": rid, "versions": [v]}


def test_normalising_names_and_keys():
    assert normalize_text(" ＡＢ-c，d！ 〔e〕\t") == "abcde"
    assert normalize_branch_name("中共党支部") == "党" == normalize_branch_name("党支部")
    assert normalize_branch_name("中国共产党某某支部委员会") == "某某"
    assert normalize_branch_name("某某党总支部") == "某某" and normalize_branch_name("中共某某联合党支部") == "某某"
    assert normalize_branch_name("支部") == "支部" and normalize_branch_name("中共") == "中共"
    assert branch_key("办公室党支部", "省财政厅") == "省财政厅|办公室"
    assert branch_key("省财政厅办公室党支部", "省财政厅") == "省财政厅办公室"
    assert branch_key("办公室党支部", " ") == "办公室" == branch_key("办公室支部")


def test_same_names_are_proposed_under_the_smallest_id():
    a = source("A.jsonl", meta(), [branch("branch/b2", "省财政厅办公室党支部"), branch("branch/a2", "办公室党支部", "省教育厅")])
    b = source("B.jsonl", meta("李秀英"), [branch("branch/b1", "中共省财政厅 办公室支部"),
                                        branch("branch/x", "办公室支部", "省水利厅"),
                                        branch("branch/b2", "省财政厅办公室党支部")])
    m = match_branches([b, a])
    assert m.confirmed == {} and m.ambiguous == ()
    assert m.proposed == {"branch/b2": "branch/b1"}
    assert m.matches == (BranchMatch("branch/b1", "中共省财政厅 办公室支部", (
        ("branch/b1", "中共省财政厅 办公室支部", ("B.jsonl",)),
        ("branch/b2", "省财政厅办公室党支部", ("A.jsonl", "B.jsonl")))),)
    assert m.matches[0].describe() == "中共省财政厅 办公室支部〔branch/b1〕 ← 省财政厅办公室党支部〔branch/b2〕（A.jsonl、B.jsonl）"
    assert m.aliases(True) == {"branch/b2": "branch/b1"} and m.aliases(False) == {}
    assert match_branches([a, b]) == m
    three = match_branches([source(f"{n}.jsonl", meta(), [branch(f"branch/{n}", name)])
                            for n, name in (("c", "处党支部"), ("a", "处支部"), ("b", "中共处支部"))]).matches[0]
    assert three.describe() == "处支部〔branch/a〕 ← 中共处支部〔branch/b〕（b.jsonl）；处党支部〔branch/c〕（c.jsonl）"


def test_a_name_one_file_uses_twice_is_not_matched():
    a = source("A.jsonl", meta(), [branch("branch/a1", "办公室党支部"), branch("branch/a2", "办公室支部"),
                                   branch("branch/a3", "人事处党支部")])
    b = source("B.jsonl", meta("李秀英"), [branch("branch/b1", "办公室党支部"), branch("branch/b3", "人事处支部")])
    m = match_branches([a, b])
    assert m.ambiguous == ("办公室",) and m.proposed == {"branch/b3": "branch/a3"}
    assert [x.canonical for x in m.matches] == ["branch/a3"]
    alone = match_branches([a])  # one file alone: its two spellings are proposed as one
    assert alone.ambiguous == () and alone.proposed == {"branch/a2": "branch/a1"}


def test_the_latest_live_name_counts_and_deleted_branches_are_not_matched():
    old = branch("branch/a1", "旧名党支部")
    renamed = branch("branch/a1", "办公室党支部", at="2026-11-20T09:00:00+08:00", seen=old["versions"])
    gone = branch("branch/c1", "办公室党支部", deleted=True)
    a = source("A.jsonl", meta(), [renamed, gone])
    b = source("B.jsonl", meta("李秀英"), [branch("branch/b1", "办公室支部"), branch("branch/z1", "旧名支部")])
    m = match_branches([a, b])
    assert m.proposed == {"branch/b1": "branch/a1"}
    assert m.matches[0].members == (("branch/a1", "办公室党支部", ("A.jsonl",)), ("branch/b1", "办公室支部", ("B.jsonl",)))


def test_aliases_confirmed_in_earlier_merges_are_always_applied():
    log = [{"event": "merged"}, "junk", {"branch_aliases": ["x"]}, {"branch_aliases": {"branch/b1": "branch/a1"}}]
    assert logged_aliases([log, [{"branch_aliases": {"branch/q": 7}}]]) == {"branch/b1": "branch/a1", "branch/q": "7"}
    a = source("A.jsonl", meta(), [branch("branch/a1", "办公室党支部")])
    a = type(a)(a.name, a.meta, a.records, log)
    b = source("B.jsonl", meta("李秀英"), [branch("branch/b1", "办公室支部")])
    c = source("C.jsonl", meta("张伟"), [branch("branch/a0", "办公室支部")])
    m = match_branches([a, b, c])
    assert m.confirmed == {"branch/b1": "branch/a1"}
    # the confirmed pair and the new same-named branch form one group under its smallest id
    assert m.proposed == {"branch/a1": "branch/a0", "branch/b1": "branch/a0"}
    assert [x.canonical for x in m.matches] == ["branch/a0"]
    only_confirmed = match_branches([a, b])
    assert only_confirmed.confirmed == {"branch/b1": "branch/a1"} and only_confirmed.proposed == {}
    assert only_confirmed.matches == ()
    assert BranchMatching({"x": "y"}, {"p": "q"}, ()).aliases(True) == {"x": "y", "p": "q"}
    absent = match_branches([type(a)("A", a.meta, [], [{"branch_aliases": {"branch/z2": "branch/z1"}}])])
    assert absent.confirmed == {"branch/z2": "branch/z1"}  # neither present: the smallest id


def test_rewrite_moves_references_to_the_canonical_id():
    aliases = {"branch/b1": "branch/a1"}
    alias_branch, canon_branch = branch("branch/b1", "x"), branch("branch/a1", "x")
    assert rewrite_doc(alias_branch, aliases) is None and rewrite_doc(canon_branch, aliases) is canon_branch
    assert rewrite_doc(alias_branch, {}) is alias_branch
    other = rec("score/branch/c1/i1/甲", branch="branch/c1", item="i1", score=1.0)
    assert rewrite_doc(other, aliases) is other
    score = rec("score/branch/b1/i1/甲", branch="branch/b1", item="i1", score=1.0)
    moved = rewrite_doc(score, aliases)
    assert moved["id"] == "score/branch/a1/i1/甲" and moved["versions"][0]["data"]["branch"] == "branch/a1"
    assert score["versions"][0]["data"]["branch"] == "branch/b1"  # the input is not changed
    problem = rec("problem/7", "problem", branch="branch/b1", item="i1", text="x",
                  source="observation/branch/b1/i1/look/甲")
    moved = rewrite_doc(problem, aliases)
    assert moved["id"] == "problem/7"
    assert moved["versions"][0]["data"] == {"branch": "branch/a1", "item": "i1", "text": "x",
                                            "source": "observation/branch/a1/i1/look/甲"}
    assert bad_hashes([moved]) == [] and moved["versions"][0]["h"] != problem["versions"][0]["h"]
    unrelated = rec("problem/8", "problem", branch="branch/b1", text="x", source="elsewhere/b1")
    assert rewrite_doc(unrelated, aliases)["versions"][0]["data"]["source"] == "elsewhere/b1"
    two = {"id": "score/branch/b1/i1/甲", "versions": sorted(
        [rec("s", branch="branch/b1", score=float(n))["versions"][0] for n in range(3)], key=lambda v: v["h"])}
    moved = rewrite_doc(two, aliases)
    assert [v["h"] for v in moved["versions"]] == sorted(v["h"] for v in moved["versions"])
    assert {v["data"]["score"] for v in moved["versions"]} == {0.0, 1.0, 2.0}


def test_merge_with_aliases_drops_the_alias_branch_and_counts_it_present():
    a = source("A.jsonl", meta(), [branch("branch/a1", "办公室党支部"),
                                   rec("score/branch/a1/i1/甲", branch="branch/a1", item="i1", score=1.0)])
    b = source("B.jsonl", meta("李秀英"), [branch("branch/b1", "办公室支部"), branch("branch/b3", "办公室"),
                                        rec("score/branch/b1/i1/乙", branch="branch/b1", item="i1", score=2.0)])
    seen = []
    r = merge_sources([a, b], {"branch/b1": "branch/a1", "branch/b3": "branch/a1", "branch/q": "branch/p"},
                      lambda n, t: seen.append((n, t)))
    assert seen == [(1, 2), (2, 2)]
    assert sorted(r.records) == ["branch/a1", "score/branch/a1/i1/乙", "score/branch/a1/i1/甲"]
    assert r.aliases == {"branch/b1": "branch/a1", "branch/b3": "branch/a1"}
    assert r.dropped_branches == ["branch/b1", "branch/b3"]
    assert [(s.read, s.new, s.present) for s in r.stats] == [(2, 2, 0), (3, 1, 2)]
    plain = merge_sources([a, b])
    assert plain.aliases == {} and plain.dropped_branches == [] and len(plain.records) == 5
    only_records = source("C.jsonl", meta("张伟"), [rec("score/branch/c1/i1/丙", branch="branch/c1", item="i1", score=3.0)])
    moved = merge_sources([a, only_records], {"branch/c1": "branch/a1"})  # an alias without its branch record
    assert moved.aliases == {"branch/c1": "branch/a1"} and moved.dropped_branches == []
    assert "score/branch/a1/i1/丙" in moved.records


def test_merged_meta_takes_the_visit_and_names_everyone_once():
    plan = meta("组长", visit_id="v0", group="观摩(一)组", report_limit_minutes=20)
    a = meta("王建国", visit_id="v1", group="观摩（一）组", report_limit_minutes=10).model_copy(
        update={"inspectors": ("王建国", "李秀英")})
    b = meta("李秀英", visit_id="v1", group="观摩（一）组", report_limit_minutes=10)
    m = merged_meta([source("b", b), source("a", a), source("p", plan)], "张组长", replica="rep1")
    assert (m.visit_id, m.group, m.inspector, m.role, m.replica) == ("v0", "观摩(一)组", "张组长", "leader", "rep1")
    assert m.inspectors == ("李秀英", "王建国", "组长", "张组长") and m.report_limit_minutes == 10
    back = merged_meta([source("p", plan), source("b", b)], "李秀英")  # the leader is named once, last
    assert back.inspectors == ("组长", "李秀英") and back.replica not in (plan.replica, b.replica)
    # within one visit the leader's own file is the base, whatever the names
    lead = b.model_copy(update={"role": "leader", "checklist_content": {"id": "tiny"}})
    assert merged_meta([source("a", a), source("z", lead)], "张组长").checklist_content == {"id": "tiny"}
    assert merged_meta([source("z", a), source("a", b.model_copy(update={"checklist_content": {"n": 1}}))],
                       "张组长").checklist_content == {"n": 1}  # then the first name
    for order in ([a, plan], [plan, a]):  # one each: the longer limit, in any order
        assert merged_meta([source(str(n), m) for n, m in enumerate(order)], "张组长").report_limit_minutes == 20


def conflicted(rid: str, *names_at: tuple[str, str]) -> dict:
    """A branch record whose copies renamed it concurrently: one live version per (name, time)."""
    vs = [branch(rid, name, at=at, replica=f"r{n}")["versions"][0] for n, (name, at) in enumerate(names_at)]
    return {"id": rid, "versions": sorted(vs, key=lambda v: v["h"])}


def test_a_conflicted_branch_is_matched_by_its_latest_name_and_units_default_to_none():
    a = source("A.jsonl", meta(), [conflicted("branch/a1", ("人事处党支部", "2026-11-20T10:00:00+08:00"),
                                              ("办公室党支部", "2026-11-20T09:00:00+08:00"))])
    no_unit = {"id": "branch/b1", "versions": [make_version(kind="branch", data={"name": "人事处支部", "order": 1},
                                                            author="乙", by="乙", replica="r", at=T0)]}
    m = match_branches([a, source("B.jsonl", meta("李秀英"), [no_unit])])
    assert m.proposed == {"branch/b1": "branch/a1"} and m.matches[0].name == "人事处党支部"


def test_one_id_under_two_names_shows_the_first_name_and_keys_on_the_first_key():
    a = source("A.jsonl", meta(), [branch("branch/a1", "乙处党支部", replica="r1")])
    b = source("B.jsonl", meta("李秀英"), [branch("branch/a1", "甲处党支部", replica="r2"), branch("branch/b1", "乙处支部")])
    for order in ([a, b], [b, a]):
        m = match_branches(order)
        assert m.proposed == {"branch/b1": "branch/a1"}
        assert m.matches[0].members[0] == ("branch/a1", "乙处党支部", ("A.jsonl", "B.jsonl"))


def test_groups_are_kept_apart_and_sorted_by_name_then_id():
    log = [{"branch_aliases": {"branch/a0": "branch/b0"}}]  # confirmed earlier; branch/a0 is not among the inputs
    a = source("A.jsonl", meta(), [branch("branch/b0", "零处党支部"), branch("branch/a2", "乙处党支部"),
                                   branch("branch/a1", "甲处党支部")])
    a = type(a)(a.name, a.meta, a.records, log)
    b = source("B.jsonl", meta("李秀英"), [branch("branch/b2", "乙处支部"), branch("branch/b1", "甲处支部")])
    m = match_branches([a, b])
    assert m.confirmed == {"branch/a0": "branch/b0"}
    assert m.proposed == {"branch/b1": "branch/a1", "branch/b2": "branch/a2"}
    assert [(x.name, x.canonical) for x in m.matches] == [("乙处党支部", "branch/a2"), ("甲处党支部", "branch/a1")]
    same_name = match_branches([source("A", meta(), [branch("branch/z1", "处支部"), branch("branch/y1", "处党支部")]),
                                source("B", meta(), [branch("branch/z2", "处支部", "某厅"),
                                                     branch("branch/y2", "处党支部", "某厅")])])
    assert [x.canonical for x in same_name.matches] == ["branch/y1", "branch/y2"]


def test_a_deleted_member_is_shown_without_a_name():
    log = [{"branch_aliases": {"branch/a0": "branch/a1"}}]
    a = source("A.jsonl", meta(), [branch("branch/a1", "办公室党支部")])
    a = type(a)(a.name, a.meta, a.records, log)
    b = source("B.jsonl", meta("李秀英"), [branch("branch/a0", "办公室党支部", deleted=True), branch("branch/c1", "办公室支部")])
    m = match_branches([a, b])
    assert m.confirmed == {"branch/a1": "branch/a0"}
    assert m.proposed == {"branch/a1": "branch/a0", "branch/c1": "branch/a0"}
    (match,) = m.matches
    assert match.name == "?" and match.members[0] == ("branch/a0", "?", ("B.jsonl",))


def test_rewrite_leaves_versions_about_other_branches_as_they_are():
    mine = rec("s", branch="branch/b1", score=1.0)["versions"][0]
    other = rec("s", branch="branch/c1", score=2.0)["versions"][0]
    moved = rewrite_doc({"id": "s", "versions": [mine, other]}, {"branch/b1": "branch/a1"})
    assert other in moved["versions"] and len(moved["versions"]) == 2
    assert {v["data"]["branch"] for v in moved["versions"]} == {"branch/a1", "branch/c1"}


def with_parts(src):
    bad, parts = check_records(src.records)
    assert bad == [] and parts is not None
    return type(src)(src.name, src.meta, src.records, src.log, digest=digest_parts(parts), parts=parts)


def test_digest_parts_from_the_inputs_are_reused_only_where_they_still_fit():
    a = source("A.jsonl", meta(), [branch("branch/a1", "办公室党支部"),
                                   rec("score/branch/a1/i1/甲", branch="branch/a1", item="i1", score=1.0)])
    b = source("B.jsonl", meta("李秀英"), [branch("branch/b1", "办公室支部"),
                                        rec("score/branch/b1/i1/乙", branch="branch/b1", item="i1", score=2.0)])
    one, two = (rec("s9", score=float(n))["versions"][0] for n in (1, 2))
    two = {**two, "vv": {"r2": 1}}
    two["h"] = version_hash(two)
    settled = make_version(kind="score", data={"score": 3.0}, author="甲", by="甲", replica="r3", seen=[one, two])
    a = type(a)(a.name, a.meta, [*a.records, {"id": "s9", "versions": sorted([one, two], key=lambda v: v["h"])}])
    b = type(b)(b.name, b.meta, [*b.records, {"id": "s9", "versions": [settled]}])  # settles a's conflict
    aliases = {"branch/b1": "branch/a1"}
    plain = merge_sources([a, b], aliases)
    assert plain.records["s9"]["versions"] == [settled]
    for verified in (True, False):
        fast = merge_sources([with_parts(a), with_parts(b)], aliases, verified=verified)
        assert fast.digest() == plain.digest() == digest(plain.records.values())
        assert shape(fast.records) == shape(plain.records)


def test_a_record_with_extra_fields_is_passed_on_as_id_and_versions():
    odd = {**rec("s1", score=1.0), "note": "hand-added"}
    (doc,) = merge_sources([source("A.jsonl", meta(), [odd])]).records.values()
    assert doc == {"id": "s1", "versions": odd["versions"]}

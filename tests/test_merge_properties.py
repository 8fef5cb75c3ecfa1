"""Property tests of the leader's merge over random edit histories on several copies.

A history is a random sequence of edits (new value, deletion) made on three replicas, interleaved
with syncs (one copy absorbs another's records, as when a merged file is handed back). For every
history we check that merging the copies is commutative, associative and idempotent, that digests
agree for every order, that nothing acknowledged is lost (every version ever saved is in the result
or superseded by one that saw it), and that concurrent edits are surfaced as conflicts.
"""

from __future__ import annotations

import itertools
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inspect_tui.core.merge import (
    Source,
    check_records,
    digest_parts,
    fast_bad_hashes,
    fast_digest,
    match_branches,
    merge_sources,
    normalize_branch_name,
)
from inspect_tui.core.meta import ChecklistRef, SessionMeta
from inspect_tui.core.versions import bad_hashes, digest, dominates, join_records, make_version

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NAMES = ["王建国", "李秀英", "张伟"]
BASE = SessionMeta(visit_id="v1", group="第三观摩小组", date=date(2026, 11, 20),
                   checklist=ChecklistRef(id="cl", version="1", hash="h"), inspector="组长", replica="plan")
RIDS = [f"score/branch/b{b}/pol-0{i}/{n}" for b in (1, 2) for i in (1, 2) for n in ("王建国", "张伟")]

op = st.one_of(
    st.tuples(st.just("edit"), st.integers(0, 2), st.sampled_from(RIDS), st.integers(0, 4)),
    st.tuples(st.just("delete"), st.integers(0, 2), st.sampled_from(RIDS), st.just(0)),
    st.tuples(st.just("sync"), st.integers(0, 2), st.integers(0, 2), st.just(0)),
)


def run_history(ops):
    """Apply ``ops`` to three copies; return the copies and every version ever saved, by record id."""
    copies: list[dict] = [{}, {}, {}]
    saved: dict[str, list[dict]] = {}
    for step, (kind, r, target, value) in enumerate(ops):
        if kind == "sync":
            copies[r] = join_records(copies[r], copies[target])
            continue
        rid = target
        old = copies[r].get(rid)
        if kind == "delete" and old is None:
            continue
        branch = rid.split("/")[2]
        v = make_version(kind="score", data={"branch": f"branch/{branch}", "item": rid.split("/")[3],
                                             "score": float(value), "note": ""},
                         author=rid.rsplit("/", 1)[1], by=NAMES[r], replica=f"r{r}",
                         seen=old["versions"] if old else (), deleted=kind == "delete",
                         at=f"2026-11-20T09:{step // 60:02d}:{step % 60:02d}+08:00")
        copies[r] = {**copies[r], rid: {"id": rid, "versions": [v]}}
        saved.setdefault(rid, []).append(v)
    return copies, saved


def src(name: str, records, inspector: str = "组长") -> Source:
    return Source(name, BASE.for_inspector(inspector), list(records))


def sources(copies) -> list[Source]:
    return [src(f"c{n}.jsonl", c.values(), NAMES[n]) for n, c in enumerate(copies)]


def shape(records) -> dict[str, tuple[str, ...]]:
    recs = records.values() if isinstance(records, dict) else records
    return {d["id"]: tuple(sorted(v["h"] for v in d["versions"])) for d in recs}


def merged(*srcs: Source) -> dict:
    return merge_sources(list(srcs)).records


histories = st.lists(op, min_size=1, max_size=40)


@SETTINGS
@given(histories)
def test_commutative_and_equal_digests(ops):
    copies, _ = run_history(ops)
    srcs = sources(copies)
    results = [merged(*p) for p in itertools.permutations(srcs)]
    first = shape(results[0])
    assert all(shape(r) == first for r in results)
    digests = {digest(r.values()) for r in results}
    assert len(digests) == 1
    assert {fast_digest(r.values()) for r in results} == digests


@SETTINGS
@given(histories)
def test_associative(ops):
    a, b, c = sources(run_history(ops)[0])
    left = merged(src("ab", merged(a, b).values()), c)
    right = merged(a, src("bc", merged(b, c).values()))
    assert shape(left) == shape(right) == shape(merged(a, b, c))


@SETTINGS
@given(histories)
def test_idempotent_and_merge_back(ops):
    a, b, c = sources(run_history(ops)[0])
    m = merged(a, b, c)
    assert shape(merged(a, a)) == shape(a.records)
    assert shape(merged(a, b, c, a, b)) == shape(m)  # the same file twice
    leader = src("m", m.values())
    for copy in (a, b, c):  # the leader's file merged back into any inspector's copy
        assert shape(merged(copy, leader)) == shape(m)
        assert shape(merged(leader, copy)) == shape(m)


@SETTINGS
@given(histories)
def test_nothing_acknowledged_lost_and_conflicts_surfaced(ops):
    copies, saved = run_history(ops)
    result = merge_sources(sources(copies))
    m = result.records
    for rid, versions in saved.items():
        # A version saved on a copy that never synced might be superseded only by versions that saw
        # it; the merged result must hold exactly the maximal versions ever saved.
        maximal = {v["h"] for v in versions
                   if not any(dominates(o["vv"], v["vv"]) for o in versions if o is not v)}
        assert rid in m
        kept = {v["h"] for v in m[rid]["versions"]}
        assert kept == maximal
        for v in versions:
            assert v["h"] in kept or any(dominates(k["vv"], v["vv"]) for k in m[rid]["versions"])
        if len(maximal) > 1:
            assert rid in result.conflicts
    assert set(result.conflicts) == {rid for rid, d in m.items() if len(d["versions"]) > 1}
    for st_, s in zip(result.stats, sources(copies), strict=True):
        conflicted = {d["id"] for d in s.records} & set(result.conflicts)
        assert st_.conflicts == len(conflicted)
        assert st_.read == len(s.records) == st_.new + st_.present


@SETTINGS
@given(histories, st.integers(0, 2), st.sampled_from(RIDS))
def test_hand_edit_is_detected(ops, r, rid):
    copies, _ = run_history([*ops, ("edit", r, rid, 1)])
    recs = [dict(d) for d in copies[r].values()]
    assert bad_hashes(recs) == fast_bad_hashes(recs) == []
    target = next(d for d in recs if d["id"] == rid)
    v = dict(target["versions"][0])
    v["data"] = {**v["data"], "score": 99.0}
    target["versions"] = [v]
    assert fast_bad_hashes(recs) == bad_hashes(recs) == [rid]


def test_a_copied_hash_over_other_content_is_caught_in_every_record():
    """Hashes are checked per version, not remembered per hash: two versions sharing an ``h`` are
    both re-hashed, so a hand-edited copy of a good version is caught."""
    v = make_version(kind="score", data={"score": 1.0}, author="a", by="a", replica="r1", at="2026-11-20T09:00:00")
    forged = {**v, "data": {"score": 5.0}}
    recs = [{"id": "a", "versions": [v]}, {"id": "b", "versions": [forged]}]
    assert bad_hashes(recs) == fast_bad_hashes(recs) == check_records(recs)[0] == ["b"]
    assert check_records(recs)[1] is None


@SETTINGS
@given(histories)
def test_digest_parts_agree_with_digest(ops):
    """The digest taken while checking (``check_records``) and the merged result's digest built from
    the inputs' parts are the same value as ``versions.digest``."""
    copies, _ = run_history(ops)
    srcs = sources(copies)
    with_parts = []
    for s in srcs:
        bad, parts = check_records(s.records)
        assert bad == [] and parts is not None
        assert digest_parts(parts) == fast_digest(s.records) == digest(s.records)
        with_parts.append(Source(s.name, s.meta, s.records, digest=digest_parts(parts), parts=parts))
    plain = merge_sources(srcs)
    fast = merge_sources(with_parts, verified=True)
    assert fast.digest() == plain.digest() == digest(plain.records.values())
    assert [st_.digest for st_ in fast.stats] == [st_.digest for st_ in plain.stats]


def test_merge_files_writes_what_write_session_would(tmp_path):
    """The merge writes records passed on unchanged as the text they were read from: the output's
    records line is byte for byte what ``write_session`` makes of the joined records."""
    from inspect_tui.store.merge_files import merge_files
    from inspect_tui.store.session_file import read_session, write_session

    copies, _ = run_history([("edit", 0, RIDS[0], 1), ("edit", 1, RIDS[0], 2), ("edit", 1, RIDS[1], 3),
                             ("sync", 2, 1, 0), ("edit", 2, RIDS[2], 4), ("delete", 0, RIDS[0], 0)])
    paths = []
    for n, c in enumerate(copies):
        paths.append(tmp_path / f"c{n}.jsonl")
        write_session(paths[-1], BASE.for_inspector(NAMES[n]).model_dump(mode="json"), c.values(), [])
    report = merge_files(paths, tmp_path / "m.jsonl")
    meta, records, log = read_session(tmp_path / "m.jsonl")
    expected = merge_sources(sources(copies))
    assert report.digest == expected.digest() == digest(records) and report.conflicts == len(expected.conflicts)
    write_session(tmp_path / "w.jsonl", meta, expected.records.values(), log)

    def records_line(p):
        # without the chain fields, which bind each line to its own file
        return [ln[:ln.rindex(b',"f":')] for ln in p.read_bytes().split(b"\n") if ln.startswith(b'{"t":"records"')]

    assert records_line(tmp_path / "m.jsonl") == records_line(tmp_path / "w.jsonl")


# --- branch matching keeps merging order-independent ------------------------------------------------

SPELLINGS = ["省财政厅办公室党支部", "省财政厅 办公室支部", "中共省财政厅办公室党支部", "省财政厅办公室党支部委员会"]


@st.composite
def independent_sessions(draw):
    """Three inspectors who each started their own session: same branch names, different ids."""
    out = []
    for n, name in enumerate(NAMES):
        bid = f"branch/{draw(st.sampled_from(['a', 'b', 'c', 'd', 'e']))}{n}"
        spelling = draw(st.sampled_from(SPELLINGS))
        docs = [{"id": bid, "versions": [make_version(kind="branch", data={"name": spelling, "unit": "", "order": 1},
                                                       author=name, by=name, replica=f"r{n}",
                                                       at="2026-11-20T08:00:00+08:00")]}]
        obs_id = f"observation/{bid}/pol-01/look/{name}"
        for item in draw(st.lists(st.sampled_from(["pol-01", "pol-02", "org-01"]), min_size=1, max_size=3,
                                  unique=True)):
            sid = f"score/{bid}/{item}/{name}"
            docs.append({"id": sid, "versions": [make_version(
                kind="score", data={"branch": bid, "item": item, "score": float(draw(st.integers(0, 3))),
                                    "note": ""}, author=name, by=name, replica=f"r{n}",
                at="2026-11-20T09:00:00+08:00")]})
        docs.append({"id": obs_id, "versions": [make_version(
            kind="observation", data={"branch": bid, "item": "pol-01", "step": "look", "status": "meets",
                                      "note": "", "evidence": "", "files": []},
            author=name, by=name, replica=f"r{n}", at="2026-11-20T09:01:00+08:00")]})
        docs.append({"id": f"problem/{n}", "versions": [make_version(
            kind="problem", data={"branch": bid, "item": "pol-01", "text": "x", "evidence": "", "source": obs_id},
            author=name, by=name, replica=f"r{n}", at="2026-11-20T09:02:00+08:00")]})
        meta = BASE.model_copy(update={"visit_id": f"v{n}"}).for_inspector(name)
        out.append(Source(f"{name}.jsonl", meta, docs))
    return out


def merge_matched(srcs):
    matching = match_branches(srcs)
    return merge_sources(srcs, matching.aliases(True))


@settings(max_examples=50, deadline=None)
@given(independent_sessions())
def test_branch_matching_is_order_independent(srcs):
    assert len({normalize_branch_name(s) for s in SPELLINGS}) == 1
    results = [merge_matched(list(p)) for p in itertools.permutations(srcs)]
    assert len({r.digest() for r in results}) == 1
    m = results[0]
    branch_ids = {d["id"] for d in m.records.values() if d["versions"][0]["kind"] == "branch"}
    assert len(branch_ids) == 1  # one branch after matching
    (canon,) = branch_ids
    for d in m.records.values():
        for v in d["versions"]:
            assert v["data"].get("branch", canon) == canon
            if v["data"].get("source"):
                assert v["data"]["source"].startswith(f"observation/{canon}/")
    assert bad_hashes(m.records.values()) == []
    # associativity with the alias map carried in the log of an intermediate merge
    a, b, c = srcs
    ab = merge_matched([a, b])
    ab_src = Source("ab", a.meta, list(ab.records.values()), [{"event": "merged", "branch_aliases": ab.aliases}])
    assert merge_matched([ab_src, c]).digest() == m.digest()
    # merging the result back into one inspector's own copy changes nothing
    back = Source("m", a.meta, list(m.records.values()), [{"event": "merged", "branch_aliases": m.aliases}])
    assert merge_matched([b, back]).digest() == m.digest()


def test_merge_files_restores_the_collector(tmp_path):
    """merge_files pauses the cyclic collector for its bulk work, lets it run while the leader is
    asked, and leaves it as it found it — also when it refuses."""
    import gc

    import pytest

    from inspect_tui.errors import UserError
    from inspect_tui.store.merge_files import merge_files
    from inspect_tui.store.session_file import write_session

    paths = []
    for n, name in enumerate(NAMES[:2]):
        paths.append(tmp_path / f"s{n}.jsonl")
        meta = BASE.model_copy(update={"visit_id": f"v{n}"}).for_inspector(name)
        write_session(paths[-1], meta.model_dump(mode="json"), [], [])
    asked = []
    assert gc.isenabled()
    merge_files(paths, tmp_path / "m.jsonl", confirm=lambda lines: asked.append(gc.isenabled()) or True)
    assert asked == [True] and gc.isenabled()
    with pytest.raises(UserError):
        merge_files([*paths, tmp_path / "missing.jsonl"], tmp_path / "m2.jsonl")
    assert gc.isenabled()

"""The merge lattice: random edit histories on several replicas, merged in every order."""

from __future__ import annotations

from functools import reduce

from hypothesis import given, settings
from hypothesis import strategies as st

from inspect_tui.core.versions import (
    bad_hashes,
    canonical,
    digest,
    dominates,
    join_records,
    make_version,
    version_hash,
)

REPLICAS = ["r1", "r2", "r3"]
IDS = ["a", "b", "c"]

op = st.one_of(
    st.tuples(st.just("edit"), st.sampled_from(REPLICAS), st.sampled_from(IDS), st.integers(0, 5), st.booleans()),
    st.tuples(st.just("sync"), st.sampled_from(REPLICAS), st.sampled_from(REPLICAS)),
)


def run(ops):
    """Apply an edit history; returns the replicas' states and every version ever made."""
    state = {r: {} for r in REPLICAS}
    made = []
    for o in ops:
        if o[0] == "edit":
            _, r, rid, value, deleted = o
            seen = state[r].get(rid, {"versions": []})["versions"]
            v = make_version(kind="highlight", data={"branch": "b", "text": str(value)}, author=r, by=r,
                             replica=r, seen=seen, deleted=deleted and bool(seen))
            state[r][rid] = {"id": rid, "versions": [v]}  # it saw, and so supersedes, the local versions
            made.append((rid, v))
        else:
            _, a, b = o
            state[a] = join_records(state[a], state[b])
    return state, made


def canon(m):
    return {k: [v["h"] for v in d["versions"]] for k, d in sorted(m.items())}


@settings(max_examples=150, deadline=None)
@given(st.lists(op, max_size=40))
def test_join_is_commutative_associative_idempotent(ops):
    state, _ = run(ops)
    a, b, c = (state[r] for r in REPLICAS)
    assert canon(join_records(a, b)) == canon(join_records(b, a))
    assert canon(join_records(join_records(a, b), c)) == canon(join_records(a, join_records(b, c)))
    assert canon(join_records(a, a)) == canon(a)
    assert canon(join_records(join_records(a, b), b)) == canon(join_records(a, b))
    orders = [(a, b, c), (c, b, a), (b, c, a)]
    digests = {digest(reduce(join_records, o).values()) for o in orders}
    assert len(digests) == 1


@settings(max_examples=150, deadline=None)
@given(st.lists(op, max_size=40))
def test_no_version_is_lost_and_concurrent_edits_are_kept(ops):
    state, made = run(ops)
    merged = reduce(join_records, state.values())
    for rid, v in made:
        kept = merged[rid]["versions"]
        # every version ever made survives, or a version that saw it does
        assert any(k["h"] == v["h"] or dominates(k["vv"], v["vv"]) for k in kept)
    for doc in merged.values():
        vs = doc["versions"]
        # what is kept is exactly the concurrent frontier: no kept version saw another
        assert not any(dominates(x["vv"], y["vv"]) for x in vs for y in vs)


def test_sequential_edit_wins_and_concurrent_edit_conflicts():
    v1 = make_version(kind="highlight", data={"branch": "b", "text": "1"}, author="甲", by="甲", replica="r1")
    v2 = make_version(kind="highlight", data={"branch": "b", "text": "2"}, author="甲", by="乙", replica="r2", seen=[v1])
    v3 = make_version(kind="highlight", data={"branch": "b", "text": "3"}, author="甲", by="甲", replica="r1", seen=[v1])
    one = {"x": {"id": "x", "versions": [v1]}}
    assert join_records(one, {"x": {"id": "x", "versions": [v2]}})["x"]["versions"] == [v2]
    both = join_records({"x": {"id": "x", "versions": [v2]}}, {"x": {"id": "x", "versions": [v3]}})
    assert sorted(v["data"]["text"] for v in both["x"]["versions"]) == ["2", "3"]
    settle = make_version(kind="highlight", data={"branch": "b", "text": "4"}, author="甲", by="组长",
                          replica="r9", seen=both["x"]["versions"])
    assert join_records(both, {"x": {"id": "x", "versions": [settle]}})["x"]["versions"] == [settle]


def test_hand_edit_is_detected():
    v = make_version(kind="highlight", data={"branch": "b", "text": "原文"}, author="甲", by="甲", replica="r1")
    assert v["h"] == version_hash(v)
    tampered = {**v, "data": {"branch": "b", "text": "改过"}}
    assert bad_hashes([{"id": "x", "versions": [tampered]}]) == ["x"]
    assert bad_hashes([{"id": "x", "versions": [v]}]) == []


def _dumps_or_error(f, obj):
    try:
        return f(obj)
    except (TypeError, ValueError) as exc:
        return type(exc), str(exc)


def test_canonical_is_json_dumps_exactly():
    """``canonical`` reuses json's C encoder; bytes and errors must be ``json.dumps``'s (every stored
    hash depends on them), also after a failed call left state behind."""
    import json

    def dumps(o):
        return json.dumps(o, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()

    loop: list = []
    loop.append(loop)
    shared = {"x": [1, {"y": 2}]}
    cases = [{"b": 1, "a": [1.5, float("nan"), None, True, '中文"\\n\t', 10**30, -0.0, 1e300]}, "串", 3, [],
             {"z": {"b": 1, "a": 2}}, {1: 2, "x": 1}, {"a": object()}, loop, shared, {"p": shared, "q": shared},
             [shared, {"k": object()}], [shared, shared], (1, "2"), {2: 1, 1: 2}]
    for o in cases:
        assert _dumps_or_error(canonical, o) == _dumps_or_error(dumps, o)


@settings(max_examples=100, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                    lambda kids: st.lists(kids) | st.dictionaries(st.text(), kids), max_leaves=20))
def test_canonical_matches_dumps_on_any_json(obj):
    import json

    assert canonical(obj) == json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()

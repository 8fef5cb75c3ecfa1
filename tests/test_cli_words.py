"""The CLI accepts what it prints: labels for fields, ordinals for branches and inspectors; and it
prints no internal ids (branch hashes, record ids)."""

from __future__ import annotations

import re

from test_merge_cli import INSPECTORS, checklist, cli, visit  # noqa: F401  (fixtures)

from inspect_tui.core.checklist_load import load_default_checklist
from inspect_tui.core.records import verdict_id
from inspect_tui.export.batch import select_branches
from inspect_tui.store.session import Session


def test_disagreements_numbers_inspectors_and_settle_takes_labels_and_numbers(visit, capsys):  # noqa: F811
    folder, paths, items = visit
    merged = folder / "merged.jsonl"
    assert cli(capsys, "merge", *paths, "-o", merged)[0] == 0
    code, out, _ = cli(capsys, "disagreements", merged)
    assert code == 0 and "（分数）" in out
    assert not re.search(r"branch/[0-9a-f]{8}", out), out  # no branch hashes
    assert not any(i in out for i in items), out  # no checklist ids: numbers and titles
    cl = load_default_checklist()
    number = [n for n, i in enumerate(cl.items(), 1) if i.id == items[1]][0]
    assert f"{number}. {cl.item(items[1]).title}（分数）" in out
    assert "【1. " in out
    numbers = {name: int(n) for n, name in re.findall(r"(\d+)\. (\S+?)[　]*：", out)}
    assert [numbers[n] for n in INSPECTORS] == [1, 2, 3]  # the session's order, as the merge screen
    code, out, err = cli(capsys, "settle", merged, "--branch", "1", "--item", items[0], "--field", "分数",
                         "--from", "2")
    assert code == 0, err
    with Session.open(merged, readonly=True, checklist=load_default_checklist()) as s:
        b = s.branches()[0].id
        assert s.index.live(verdict_id(b, items[0], "score")).data["chosen_from"] == INSPECTORS[1]
        assert [r.id for r in select_branches(s, ["1"])] == [b]  # export --branch takes the ordinal too
        assert [r.id for r in select_branches(s, [s.branches()[0].data["name"], b])] == [b]
    code, _, err = cli(capsys, "settle", merged, "--branch", "1", "--item", items[1], "--field", "score",
                       "--from", "9")
    assert code == 2 and "没有第 9 位" in err
    code, out, err = cli(capsys, "settle", merged, "--branch", "1", "--item", str(number), "--field", "分数",
                         "--from", "1")
    assert code == 0 and cl.item(items[1]).title in out and items[1] not in out, err

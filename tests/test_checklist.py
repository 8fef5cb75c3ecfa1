"""Checklist loading: the shipped checklists are complete, and every kind of hand-editing mistake is
reported at the right line of the right file, never as a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from inspect_tui import cli
from inspect_tui.cli import main
from inspect_tui.core.checklist import Checklist
from inspect_tui.core.checklist_load import (
    DEFAULT_CHECKLIST_PATH,
    find_checklists,
    load_checklist,
    load_default_checklist,
    resolve_checklist,
    validate_checklist_files,
)
from inspect_tui.core.steps import Step
from inspect_tui.errors import Problem, UserError

REPO = Path(__file__).resolve().parent.parent
CASES = Path(__file__).resolve().parent / "checklist_cases"

# A minimal valid checklist. Line numbers in the cases below refer to this text (line 1 = "id: mini").
BASE = """\
id: mini
title: Mini
version: "1"
full_marks: 10
ratings:
  - {label: good, min: 60, level: pass}
  - {label: bad, min: 0, level: fail}
areas:
  - id: a1
    title: Area one
    full_marks: 10
    items:
      - id: i1
        title: Item one
        full_marks: 4
        steps:
          check:
            prompt: look at records
            records: [minutes]
          ask:
            prompt: ask someone
            questions:
              - id: q1
                text: what?
          evaluate:
            prompt: judge
        problems: [p1]
        rectification: fix it
      - id: i2
        title: Item two
        full_marks: 6
        steps:
          look:
            prompt: walk around
          evaluate:
            prompt: judge
        problems: [p2]
        rectification: fix it
"""


def mutate(old: str, new: str, text: str = BASE) -> str:
    assert text.count(old) == 1, f"{old!r} must occur exactly once"
    return text.replace(old, new)


def problems_for(tmp_path: Path, text: str | bytes, name: str = "bad.yaml") -> list[Problem]:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    found = validate_checklist_files([path])
    with pytest.raises(UserError) as info:
        load_checklist(path)
    assert info.value.problems == found
    return found


def one_problem(tmp_path: Path, text: str | bytes) -> Problem:
    found = problems_for(tmp_path, text)
    assert len(found) == 1, [str(p) for p in found]
    return found[0]


# --- shipped checklists ----------------------------------------------------------------------------


def test_base_fixture_is_valid(tmp_path: Path) -> None:
    path = tmp_path / "mini.yaml"
    path.write_text(BASE, encoding="utf-8")
    assert validate_checklist_files([path]) == []
    checklist = load_checklist(path)
    assert [i.id for i in checklist.items()] == ["i1", "i2"]


@pytest.mark.parametrize("path", find_checklists(), ids=lambda p: p.name)
def test_every_shipped_checklist_validates(path: Path) -> None:
    assert validate_checklist_files([path]) == []
    checklist = load_checklist(path)
    assert checklist.id == path.stem


def test_default_is_shipped_and_found() -> None:
    assert DEFAULT_CHECKLIST_PATH in find_checklists()
    assert resolve_checklist("party-branch-standard") == DEFAULT_CHECKLIST_PATH
    assert resolve_checklist(None) == DEFAULT_CHECKLIST_PATH
    assert resolve_checklist(str(DEFAULT_CHECKLIST_PATH)) == DEFAULT_CHECKLIST_PATH


def test_resolve_unknown_name_is_a_user_error() -> None:
    with pytest.raises(UserError) as info:
        resolve_checklist("no-such-checklist")
    assert "party-branch-standard" in info.value.hint


def test_repo_checklists_folder_links_to_the_packaged_file() -> None:
    link = REPO / "checklists" / "party-branch-standard.yaml"
    assert link.is_symlink()
    assert os.readlink(link) == "../inspect_tui/checklists/party-branch-standard.yaml"
    assert link.resolve() == DEFAULT_CHECKLIST_PATH.resolve()
    assert "inspect_tui/checklists" in (REPO / "checklists" / "README.md").read_text(encoding="utf-8")


def test_default_checklist_covers_the_standard() -> None:
    checklist = load_default_checklist()
    assert isinstance(checklist, Checklist)
    assert checklist.id == "party-branch-standard"
    assert checklist.full_marks == 100
    assert [a.title for a in checklist.areas] == [
        "政治建设", "组织建设", "组织生活", "党员教育管理", "基础保障", "考核评价"]
    assert sum(a.full_marks for a in checklist.areas) == 100
    bands = [(b.label, b.min, b.level.value) for b in checklist.ratings]
    assert bands == [("优秀", 90, "excellent"), ("良好", 80, "good"),
                     ("达标", 60, "pass"), ("不达标", 0, "fail")]
    assert len(checklist.items()) >= 30
    assert len(checklist.all_questions()) >= 40
    assert {q.to for q in checklist.all_questions()} >= {"支部书记", "支部委员", "普通党员"}
    assert all(q.expect for q in checklist.all_questions())
    assert len({i.scoring.method for i in checklist.items()}) == 3
    for item in checklist.items():
        assert item.applies_to(Step.EVALUATE), item.id
        assert item.applies_to(Step.LOOK) or item.applies_to(Step.CHECK), item.id
        assert 2 <= len(item.problems) <= 4, item.id
        assert item.scoring.rule, item.id
        if item.applies_to(Step.CHECK):
            assert item.steps[Step.CHECK].records, item.id


def test_default_checklist_mentions_the_key_records() -> None:
    items = load_default_checklist().items()
    records = " ".join(r for i in items for p in i.steps.values() for r in p.records)
    for word in ("支委会", "党员大会", "组织生活会", "民主评议", "党费", "入党志愿书", "换届", "党课"):
        assert word in records, word


# --- malformed checklists: one problem each, at an exact place -------------------------------------


def test_yaml_syntax_error(tmp_path: Path) -> None:
    p = one_problem(tmp_path, mutate("title: Mini\n", "title: Mini: more\n"))
    assert (p.line, p.column) == (2, 12)
    assert "YAML 语法错误" in p.message and "mapping values are not allowed" in p.message


def test_tab_indentation(tmp_path: Path) -> None:
    p = one_problem(tmp_path, mutate("    title: Area one\n", "\ttitle: Area one\n"))
    assert p.line == 10
    assert "制表符" in p.message


def test_unclosed_flow_sequence(tmp_path: Path) -> None:
    p = one_problem(tmp_path, mutate("records: [minutes]", "records: [minutes"))
    assert p.line == 20
    assert "YAML 语法错误" in p.message


def test_top_level_is_a_list(tmp_path: Path) -> None:
    p = one_problem(tmp_path, "- id: mini\n- title: Mini\n")
    assert (p.line, p.column) == (1, 1)
    assert "顶层应为映射" in p.message and "列表" in p.message


def test_empty_file(tmp_path: Path) -> None:
    p = one_problem(tmp_path, "# nothing here\n")
    assert "文件是空的" in p.message


def test_wrong_type_for_full_marks(tmp_path: Path) -> None:
    p = one_problem(tmp_path, mutate("full_marks: 4\n", 'full_marks: "ten"\n'))
    assert (p.line, p.column) == (15, 21)
    assert p.message.startswith("areas[0].items[0].full_marks: ")
    assert "应为数字" in p.message


def test_missing_required_field(tmp_path: Path) -> None:
    text = mutate("        problems: [p2]\n        rectification: fix it\n", "        problems: [p2]\n")
    p = one_problem(tmp_path, text)
    assert (p.line, p.column) == (29, 9)
    assert p.message == "areas[0].items[1].rectification: 缺少此项（必填）"


def test_duplicate_item_id(tmp_path: Path) -> None:
    p = one_problem(tmp_path, mutate("- id: i2", "- id: i1"))
    assert (p.line, p.column) == (29, 13)
    assert p.message.startswith("areas[0].items[1].id: 编号重复 'i1'")


def test_duplicate_question_id(tmp_path: Path) -> None:
    p = one_problem(tmp_path, BASE + "questions:\n  - id: q1\n    text: general question\n")
    assert (p.line, p.column) == (40, 9)
    assert p.message.startswith("questions[0].id: 编号重复 'q1'")


def test_duplicate_key_in_a_mapping(tmp_path: Path) -> None:
    p = one_problem(tmp_path, mutate("title: Mini\n", "title: Mini\ntitle: Again\n"))
    assert (p.line, p.column) == (3, 1)
    assert "键 'title' 重复（首次出现在第 2 行）" in p.message


def test_duplicate_key_deep_inside_still_validates_the_rest(tmp_path: Path) -> None:
    p = one_problem(tmp_path, mutate("            prompt: walk around\n",
                                     "            prompt: walk around\n            prompt: again\n"))
    assert (p.line, p.column) == (35, 13)
    assert p.message.startswith("areas[0].items[1].steps.look.prompt: 键 'prompt' 重复")


def test_unknown_step_name(tmp_path: Path) -> None:
    p = one_problem(tmp_path, mutate("          look:\n", "          inspect:\n"))
    assert (p.line, p.column) == (33, 11)
    assert p.message.startswith("areas[0].items[1].steps.inspect: 未知的环节 'inspect'")
    assert "'look'" in p.message


def test_ask_step_without_questions(tmp_path: Path) -> None:
    text = mutate("            questions:\n              - id: q1\n                text: what?\n", "")
    p = one_problem(tmp_path, text)
    assert (p.line, p.column) == (20, 11)
    assert p.message == "areas[0].items[0].steps.ask: “问”（ask）环节至少需要一道访谈题（questions）"


def test_questions_under_a_non_ask_step(tmp_path: Path) -> None:
    text = mutate("            prompt: walk around\n",
                  "            prompt: walk around\n"
                  "            questions:\n"
                  "              - {id: q9, text: hi}\n")
    p = one_problem(tmp_path, text)
    assert (p.line, p.column) == (35, 13)
    assert p.message.startswith("areas[0].items[1].steps.look.questions: 访谈题（questions）只能放在“问”（ask）环节")


def test_empty_prompt_text(tmp_path: Path) -> None:
    p = one_problem(tmp_path, mutate("prompt: walk around", 'prompt: ""'))
    assert (p.line, p.column) == (34, 21)
    assert p.message == "areas[0].items[1].steps.look.prompt: 不能为空"


def test_item_weights_do_not_add_up_to_the_area(tmp_path: Path) -> None:
    p = one_problem(tmp_path, mutate("full_marks: 6\n", "full_marks: 5\n"))
    assert (p.line, p.column) == (11, 17)
    assert p.message.startswith("areas[0].full_marks: 各检查项满分合计 9")


def test_area_weights_do_not_add_up_to_full_marks(tmp_path: Path) -> None:
    p = one_problem(tmp_path, mutate("full_marks: 10\nratings", "full_marks: 20\nratings"))
    assert (p.line, p.column) == (4, 13)
    assert p.message.startswith("full_marks: 各方面满分合计 10，但 full_marks 是 20")


def test_ratings_not_descending(tmp_path: Path) -> None:
    text = mutate("  - {label: good, min: 60, level: pass}\n  - {label: bad, min: 0, level: fail}\n",
                  "  - {label: bad, min: 0, level: fail}\n  - {label: good, min: 60, level: pass}\n")
    p = one_problem(tmp_path, text)
    assert (p.line, p.column) == (5, 1)
    assert p.message.startswith("ratings: 等次（ratings）应按 min 从高到低排列")


def test_unknown_extra_field(tmp_path: Path) -> None:
    text = mutate("        title: Item one\n", "        title: Item one\n        weight: 3\n")
    p = one_problem(tmp_path, text)
    assert (p.line, p.column) == (15, 9)
    assert p.message.startswith("areas[0].items[0].weight: 未知的字段")


def test_item_without_evaluate_step(tmp_path: Path) -> None:
    text = mutate("            prompt: walk around\n          evaluate:\n            prompt: judge\n",
                  "            prompt: walk around\n")
    p = one_problem(tmp_path, text)
    assert (p.line, p.column) == (32, 9)
    assert p.message == "areas[0].items[1].steps: 每个检查项都需要“评”（evaluate）环节的提示（如何评判）"


def test_unquoted_number_where_text_is_expected(tmp_path: Path) -> None:
    p = one_problem(tmp_path, mutate('version: "1"', "version: 2026.1"))
    assert (p.line, p.column) == (3, 10)
    assert "请加引号" in p.message and '"2026.1"' in p.message


def test_bad_rating_level(tmp_path: Path) -> None:
    p = one_problem(tmp_path, mutate("level: pass}", "level: passed}"))
    assert (p.line, p.column) == (6, 35)
    assert p.message.startswith("ratings[0].level: ")


def test_python_tags_are_refused(tmp_path: Path) -> None:
    p = one_problem(tmp_path, mutate("title: Mini", "title: !!python/object/apply:os.system [echo hi]"))
    assert (p.line, p.column) == (2, 8)
    assert p.message.startswith("不支持的 YAML：could not determine a constructor")


def test_steps_given_as_a_list(tmp_path: Path) -> None:
    text = mutate("          look:\n            prompt: walk around\n          evaluate:\n            prompt: judge\n",
                  "          - look\n")
    p = one_problem(tmp_path, text)
    assert (p.line, p.column) == (32, 9)
    assert p.message == "areas[0].items[1].steps: 应为映射（“键: 值”的形式）"


def test_empty_list_of_problems(tmp_path: Path) -> None:
    p = one_problem(tmp_path, mutate("problems: [p2]", "problems: []"))
    assert (p.line, p.column) == (37, 9)
    assert p.message == "areas[0].items[1].problems: 至少需要 1 项，现有 0 项"


def test_non_utf8_file(tmp_path: Path) -> None:
    p = one_problem(tmp_path, mutate("title: Mini", "title: 党支部").encode("gbk"))
    assert (p.line, p.column) == (2, 8)
    assert "不是 UTF-8" in p.message


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + BASE.encode())
    assert load_checklist(path).id == "mini"


def test_file_not_found(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    found = validate_checklist_files([missing])
    assert [str(p) for p in found] == [f"{missing}: 文件不存在"]
    with pytest.raises(UserError):
        load_checklist(missing)


def test_three_errors_are_all_reported(tmp_path: Path) -> None:
    text = mutate("title: Mini\n", "title: Mini\ntitle: Twice\n")
    text = mutate("full_marks: 4\n", 'full_marks: "four"\n', text)
    text = mutate("        title: Item two\n", "        title: Item two\n        colour: red\n", text)
    found = problems_for(tmp_path, text)
    assert [(p.line, p.column) for p in found] == [(3, 1), (16, 21), (32, 9)]
    assert "键 'title' 重复" in found[0].message
    assert found[1].message.startswith("areas[0].items[0].full_marks:")
    assert found[2].message.startswith("areas[0].items[1].colour: 未知的字段")


@pytest.mark.parametrize("case", sorted(CASES.glob("*.yaml")), ids=lambda p: p.name)
def test_fixture_files_report_the_expected_place(case: Path) -> None:
    """Each fixture's first line is ``# expect: LINE:COL substring``."""
    header = case.read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("# expect: ")
    where, gist = header.removeprefix("# expect: ").split(" ", 1)
    found = validate_checklist_files([case])
    assert len(found) == 1, [str(p) for p in found]
    assert str(found[0]).startswith(f"{case}:{where}: ")
    assert gist in found[0].message


def test_validate_many_files_collects_problems_from_each(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(BASE, encoding="utf-8")
    bad1 = tmp_path / "bad1.yaml"
    bad1.write_text("- a\n", encoding="utf-8")
    bad2 = tmp_path / "bad2.yaml"
    found = validate_checklist_files([good, bad1, bad2])
    assert [p.path for p in found] == [str(bad1), str(bad2)]


# --- command line ----------------------------------------------------------------------------------


@pytest.fixture()
def only_checklist_command(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep these tests about ``checklist`` alone: other subcommands' import errors are theirs."""
    monkeypatch.setattr(cli, "COMMAND_MODULES", {"checklist": "inspect_tui.cli.checklist_cmd"})


@pytest.mark.usefixtures("only_checklist_command")
def test_cli_validate_good_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["checklist", "validate", str(DEFAULT_CHECKLIST_PATH)]) == 0
    out = capsys.readouterr().out
    checklist = load_default_checklist()
    expected = f"正确（{len(checklist.items())} 个检查项，{len(checklist.all_questions())} 道访谈题）"
    assert out.strip() == f"{DEFAULT_CHECKLIST_PATH}: {expected}"


@pytest.mark.usefixtures("only_checklist_command")
def test_cli_validate_reports_every_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(BASE, encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(mutate("title: Mini\n", "title: Mini\ntitle: Twice\n", mutate("- id: i2", "- id: i1")),
                   encoding="utf-8")
    assert main(["checklist", "validate", str(good), str(bad)]) == 2
    captured = capsys.readouterr()
    assert f"{good}: 正确（2 个检查项，1 道访谈题）" in captured.out
    assert f"{bad}:3:1: title: 键 'title' 重复" in captured.err
    assert f"{bad}:30:13: areas[0].items[1].id: 编号重复 'i1'" in captured.err
    assert "Traceback" not in captured.err


@pytest.mark.usefixtures("only_checklist_command")
def test_cli_show_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["checklist", "show"]) == 0
    out = capsys.readouterr().out
    for word in ("政治建设", "考核评价", "pol-01", "满分 100", "优秀 ≥90%"):
        assert word in out


@pytest.mark.usefixtures("only_checklist_command")
def test_cli_show_unknown_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["checklist", "show", "no-such-checklist"]) == 2
    assert "no-such-checklist" in capsys.readouterr().err


def test_cli_subprocess_has_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(mutate("full_marks: 4\n", 'full_marks: "ten"\n'), encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "inspect_tui", "checklist", "validate", str(bad)],
                            capture_output=True, text=True, encoding="utf-8", cwd=REPO, timeout=120)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"{bad}:15:21: areas[0].items[0].full_marks:" in result.stderr


# --- the model's own rules and lookups ---------------------------------------------------------------


def tiny(**changes: object) -> dict:
    import copy

    from conftest import TINY

    data = copy.deepcopy(TINY)
    data.update(changes)
    return data


def refusal(data: dict) -> str:
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as info:
        Checklist.model_validate(data)
    (error,) = info.value.errors()
    return error["msg"].removeprefix("Value error, ")


def bands(*mins: float) -> list[dict]:
    return [{"label": f"第{n}档", "min": m, "level": "pass" if m else "fail"} for n, m in enumerate(mins)]


def test_rating_and_class_bands_must_fall_to_zero_without_repeats() -> None:
    order = "等次（ratings）应按 min 从高到低排列，且各 min 互不相同"
    assert refusal(tiny(ratings=bands(60, 90, 0))) == order
    assert refusal(tiny(ratings=bands(90, 90, 0))) == order
    assert refusal(tiny(ratings=bands(90, 60))) == "最后一个等次（ratings）的 min 必须为 0，每个分数才都有等次"
    classes = [{"label": "先进", "min": 90}, {"label": "后进", "min": 10}]
    assert refusal(tiny(classes=classes)) == "最后一个档次（classes）的 min 必须为 0，每个分数才都有档次"
    assert refusal(tiny(classes=[*classes[:1], {"label": "中间", "min": 95}, {"label": "后进", "min": 0}])) == \
        "档次（classes）应按 min 从高到低排列，且各 min 互不相同"
    assert Checklist.model_validate(tiny(ratings=bands(90, 60, 0))).rating_for(19).label == "第0档"


def test_every_id_is_unique_across_areas_items_questions_and_tags() -> None:
    data = tiny(questions=[{"id": "i2", "text": "您知道吗？"}])
    assert refusal(data) == "编号重复 'i2'（访谈题，已被一个检查项使用）"
    assert refusal(tiny(tags=[{"id": "a2", "title": "强"}])) == "编号重复 'a2'（归类标签，已被一个方面使用）"
    data = tiny(questions=[{"id": "q1", "text": "您知道吗？"}])  # q1 is also i1's question
    assert refusal(data) == "编号重复 'q1'（访谈题，已被一个访谈题使用）"
    data = tiny()
    data["areas"][1]["items"][0]["id"] = "a1"
    assert refusal(data) == "编号重复 'a1'（检查项，已被一个方面使用）"
    data = tiny(tags=[{"id": "t1", "title": "强"}])
    data["areas"][0]["items"][0]["tags"] = ["t1", "t9", "t8"]
    assert refusal(data) == "检查项 'i1' 标注了 t9, t8，但清单的 tags 中没有定义"


def test_lookups(tiny_checklist: Checklist) -> None:
    cl = tiny_checklist
    assert [i.id for i in cl.items()] == ["i1", "i2", "i3"]
    assert cl.item("i3").title == "活动室" and cl.area_of("i3").id == "a2" and cl.area_of("i2").id == "a1"
    for lookup in (cl.item, cl.area_of):
        with pytest.raises(KeyError) as info:
            lookup("i9")
        assert info.value.args == ("i9",)
    assert [i.id for i in cl.items_for(Step.LOOK)] == ["i1", "i3"]
    assert [i.id for i in cl.items_for(Step.ASK)] == ["i1"]
    assert cl.item("i1").applies_to(Step.ASK) and not cl.item("i2").applies_to(Step.LOOK)
    assert [q.id for q in cl.item("i1").questions] == ["q1"] and cl.item("i2").questions == ()
    general = Checklist.model_validate(tiny(questions=[{"id": "g1", "text": "您知道支部书记是谁吗？"}]))
    assert [q.id for q in general.all_questions()] == ["g1", "q1"]


def test_content_hash_is_the_meaning_not_the_spelling(tiny_checklist: Checklist) -> None:
    """Sessions record this hash: it must not move when nothing meaningful changed (so it is pinned),
    and must move with any change of content."""
    assert tiny_checklist.content_hash() == "b9bb451204a7de1e"
    assert Checklist.model_validate(tiny(tags=[], classes=[])).content_hash() == "b9bb451204a7de1e"
    data = tiny()
    data["areas"][0]["items"][0]["tags"] = []
    assert Checklist.model_validate(data).content_hash() == "b9bb451204a7de1e"
    tagged = tiny(tags=[{"id": "t1", "title": "强"}])
    hashes = {Checklist.model_validate(tagged).content_hash()}
    tagged["areas"][0]["items"][0]["tags"] = ["t1"]
    hashes.add(Checklist.model_validate(tagged).content_hash())
    hashes.add(Checklist.model_validate(tiny(classes=[{"label": "全部", "min": 0}])).content_hash())
    hashes.add(Checklist.model_validate(tiny(title="小清单 ")).content_hash())  # stripped: the same
    hashes.add(Checklist.model_validate(tiny(title="小清单（修订）")).content_hash())
    assert len(hashes) == 5 and "b9bb451204a7de1e" in hashes


@pytest.mark.parametrize(("value", "words"), [
    ("yes", "应为数字，而不是“是”（YAML 把 yes、no、on、off 读作是/否）"),
    (".nan", "应为数字，而不是“nan”"),
    (".inf", "应为数字，而不是“inf”"),
    ("1" * 5000, "整数有 5000 位，太长（最多 100 位）"),
])
def test_a_number_that_is_not_one_is_named_not_counted(tmp_path: Path, value: str, words: str) -> None:
    """``full_marks: yes`` used to count as 1 (and the sums then disagreed somewhere else)."""
    problem = one_problem(tmp_path, mutate("        full_marks: 6\n", f"        full_marks: {value}\n"))
    assert problem.line is not None and words in problem.message, str(problem)

from __future__ import annotations

from datetime import date

import pytest

from inspect_tui.core.plan import load_plan
from inspect_tui.errors import UserError


def test_csv_plan_with_units(tmp_path):
    p = tmp_path / "plan.csv"
    p.write_text("序号,支部名称,单位\n1,预算处党支部,省财政厅\n\n2,人事处党支部,省财政厅\n", encoding="utf-8-sig")
    plan = load_plan(p)
    assert [(b.name, b.unit) for b in plan.branches] == [("预算处党支部", "省财政厅"), ("人事处党支部", "省财政厅")]


def test_yaml_plan(tmp_path):
    p = tmp_path / "plan.yaml"
    p.write_text("group: 第三观摩小组\ndate: 2026-11-20\ninspectors: [张伟, 李秀英]\n"
                 "branches:\n  - 预算处党支部\n  - {name: 办公室党支部, unit: 省教育厅}\n", encoding="utf-8")
    plan = load_plan(p)
    assert plan.group == "第三观摩小组" and plan.date == date(2026, 11, 20)
    assert plan.inspectors == ["张伟", "李秀英"] and plan.branches[1].unit == "省教育厅"


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("a.csv", "序号,单位\n1,x\n", "a.csv:1: 第一行应为表头"),
    ("b.csv", "支部,单位\n预算处党支部,x\n\n,省财政厅\n", "b.csv:4: 支部名称为空"),
    ("c.csv", "支部\nA\nA\n", "支部名称重复：A"),
    ("d.yaml", "branches: [a, b\n", "d.yaml:2:1: YAML 格式错误"),
    ("e.yaml", "- a\n- b\n", "应为一个包含 branches:"),
    ("f.yaml", "date: 20-11\nbranches: [a]\n", "不是 YYYY-MM-DD"),
    ("g.yaml", "branches: [a, 3]\n", "branches[1]"),
    ("h.yaml", "date: 2026-13-45\nbranches: [a]\n", "date：“2026-13-45”不是 YYYY-MM-DD 格式的有效日期"),
    ("i.yaml", "branches: " + "[" * 100_000 + "]" * 100_000 + "\n", "i.yaml:1:74: 嵌套超过 64 层"),
    ("j.yaml", "branches: [a]\ngroup: " + "{a: " * 100_000 + "1" + "}" * 100_000 + "\n", "j.yaml:2:"),
    ("k.csv", "支部\n甲\x00乙\n", "k.csv:2: 支部名称、单位或书记姓名含有控制字符"),
    ("l.yaml", 'branches: ["甲\\0乙"]\n', "branches[0]：支部名称、单位或书记姓名含有控制字符"),
    ("m.csv", '支部,单位\n"第一党支部,机关\n第二党支部,机关\n', "m.csv:3: CSV 格式错误：引号没有配对"),
    ("n.csv", '支部\n"第一\n党支部"\n丙\n', "n.csv:3: 支部名称、单位或书记姓名含有控制字符或不可见字符"),
    ("o.csv", "支部\n\u202e部支一第\n", "o.csv:2: 支部名称、单位或书记姓名含有控制字符或不可见字符"),
    ("p.csv", "支部,支部名称\n甲,乙\n", "p.csv:1: 表头中有 2 个支部名称列（支部、支部名称）"),
    ("q.yaml", "branches: [甲]\nbranches: [乙]\n", "q.yaml:2:1: branches: 键 'branches' 重复"),
])
def test_bad_plans_name_file_and_place(tmp_path, name, content, expected):
    p = tmp_path / name
    p.write_text(content, encoding="utf-8")
    with pytest.raises(UserError) as err:
        load_plan(p)
    assert expected in err.value.render()
    assert str(tmp_path) in err.value.render()


def test_non_utf8_and_missing_plan(tmp_path):
    p = tmp_path / "gbk.csv"
    p.write_bytes("支部\n预算处\n".encode("gbk"))
    with pytest.raises(UserError, match="UTF-8"):
        load_plan(p)
    with pytest.raises(UserError, match="文件不存在"):
        load_plan(tmp_path / "nope.csv")

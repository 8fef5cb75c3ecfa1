"""``inspect-tui checklist …``: check hand-edited checklist files and print them as an outline.

``validate`` exists so that whoever adapts a checklist for their organisation finds every mistake
before the visit day, with the line to fix, rather than when a laptop in a meeting room refuses to
open a session. ``show`` lets the group leader read the items and marks without opening the TUI.
"""

from __future__ import annotations

import argparse
from typing import Any

from inspect_tui.core.checklist import Checklist, ScoringMethod
from inspect_tui.core.checklist_load import load_checklist, resolve_checklist, try_load_checklist
from inspect_tui.core.format import fmt_score
from inspect_tui.core.steps import STEPS
from inspect_tui.errors import Problem, UserError

_METHOD_LABELS = {
    ScoringMethod.PROPORTIONAL: "按比例",
    ScoringMethod.ALL_OR_NOTHING: "全有全无",
    ScoringMethod.DEDUCT: "扣分",
}
_AREA_NUMERALS = "一二三四五六七八九十"


def register(subparsers: Any) -> None:
    """Add ``checklist validate`` and ``checklist show`` to the top-level parser."""
    parser = subparsers.add_parser("checklist", help="检查或查看检查清单",
                                   description="检查或查看检查清单文件。")
    sub = parser.add_subparsers(dest="checklist_command", metavar="ACTION", required=True)

    validate = sub.add_parser("validate", help="检查清单文件，列出全部错误（文件:行:列）",
                              description="检查一个或多个清单文件；全部正确时返回 0，"
                                          "否则列出每处错误并返回 2。")
    validate.add_argument("files", nargs="+", metavar="FILE", help="清单 YAML 文件")
    validate.set_defaults(func=cmd_validate)

    show = sub.add_parser("show", help="以提纲形式显示清单的方面、检查项和分值",
                          description="显示清单提纲。NAME 可以是文件路径或内置清单编号，省略时显示默认清单。")
    show.add_argument("name", nargs="?", default=None, metavar="NAME", help="清单文件或内置清单编号")
    show.set_defaults(func=cmd_show)


def cmd_validate(args: argparse.Namespace) -> int:
    """Report every file's result; all problems are raised together so the exit code is 2 if any."""
    problems: list[Problem] = []
    bad_files = 0
    for name in args.files:
        checklist, found = try_load_checklist(name)
        if checklist is not None and not found:
            print(f"{name}: ok ({len(checklist.items())} items, {len(checklist.all_questions())} questions)")
        else:
            bad_files += 1
            problems.extend(found)
    if problems:
        raise UserError(f"{bad_files} 个清单文件有错误，共 {len(problems)} 处", problems=problems)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    """Print the checklist chosen by path or shipped id as an outline."""
    checklist = load_checklist(resolve_checklist(args.name))
    print(render_outline(checklist))
    return 0


def render_outline(checklist: Checklist) -> str:
    """The checklist as plain text: header, rating bands, then areas and items with their marks."""
    lines = [
        f"{checklist.title}",
        f"编号 {checklist.id} · 版本 {checklist.version} · 满分 {fmt_score(checklist.full_marks)} · "
        f"{len(checklist.items())} 个检查项 · {len(checklist.all_questions())} 道访谈题",
        "评定等次：" + "；".join(f"{b.label} ≥{fmt_score(b.min)}%" for b in checklist.ratings),
        "",
    ]
    for index, area in enumerate(checklist.areas):
        numeral = _AREA_NUMERALS[index] if index < len(_AREA_NUMERALS) else str(index + 1)
        lines.append(f"{numeral}、{area.title}（{area.id}）  {fmt_score(area.full_marks)} 分")
        for item in area.items:
            steps = "".join(s.label if item.applies_to(s) else "·" for s in STEPS)
            method = _METHOD_LABELS.get(item.scoring.method, str(item.scoring.method))
            lines.append(f"    {item.id:<8} {item.title}  {fmt_score(item.full_marks)} 分  [{steps}] {method}")
        lines.append("")
    if checklist.questions:
        lines.append(f"通用访谈题 {len(checklist.questions)} 道")
    return "\n".join(lines).rstrip()

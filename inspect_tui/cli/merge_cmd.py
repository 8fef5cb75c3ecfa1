"""``merge``, ``disagreements``, ``settle`` and ``handout``: the group leader's commands.

* ``inspect-tui merge FILE... -o OUT`` joins inspectors' files (see ``store.merge_files``);
* ``inspect-tui disagreements FILE [--branch B]`` lists, per branch and item, each inspector's value
  and note side by side where they disagree;
* ``inspect-tui settle FILE --branch B --item I --field score (--value V --reason R | --from NAME)``
  records the group's verdict (a record like any other: it merges, and it carries author and time);
* ``inspect-tui handout FILE --to NAME -o OUT`` copies a visit plan (or a merged file) for one
  inspector, who then works in it under their own name on their own laptop.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from inspect_tui.core.format import fmt_score
from inspect_tui.errors import UserError

DEFAULT_LEADER = "组长"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("merge", help="合并各观摩员的会话文件（组长）",
                       description="按记录合并多个观摩员的会话文件：同一记录的先后修改取最新，"
                                   "并发修改保留为冲突；已有的输出文件也作为输入合并（组长的裁定不会丢失）；"
                                   "输出文件原子写入。损坏的输入一律拒绝；未正常关闭的输入须确认。")
    p.add_argument("files", nargs="+", metavar="FILE", help="要合并的会话文件（.jsonl）")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="合并结果文件")
    p.add_argument("--as", dest="leader", default=DEFAULT_LEADER, metavar="NAME",
                   help=f"组长姓名（默认：{DEFAULT_LEADER}）")
    p.add_argument("--exclude", action="append", default=[], metavar="FILE",
                   help="明确排除某个（有问题的）输入文件，可重复")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--match-branches", dest="match", action="store_true", default=None,
                   help="确认按名称匹配编号不同的支部（并允许合并不同会话的文件）")
    g.add_argument("--no-match-branches", dest="match", action="store_false",
                   help="不按名称匹配支部，各自保留")
    p.add_argument("--replace", action="store_true",
                   help="不合并已有的输出文件，而是替换它（先列出将丢失的裁定和记录）")
    p.add_argument("--accept-unsealed", action="store_true", default=None,
                   help="接受未正常关闭（没有封存行）的输入文件，不再询问（用于脚本）")
    p.add_argument("--force", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--checklist", action="append", default=[], metavar="FILE",
                   help="清单文件（用于比较不同版本的清单、统计待裁定分歧），可重复")
    p.add_argument("--unsettled", action="store_true", help="合并后统计待裁定的分歧数（稍慢）")
    p.set_defaults(func=run_merge)

    d = sub.add_parser("disagreements", help="列出观摩员之间的分歧（并排显示各人的值和说明）")
    d.add_argument("file", metavar="FILE")
    d.add_argument("--branch", metavar="B", help="只看某个支部（编号、名称或序号）")
    d.add_argument("--all", action="store_true", help="也列出已裁定的分歧")
    d.add_argument("--checklist", metavar="FILE", help="清单文件（默认按会话记录的清单编号查找）")
    d.set_defaults(func=run_disagreements)

    s = sub.add_parser("settle", help="对一处分歧作出小组裁定")
    s.add_argument("file", metavar="FILE")
    s.add_argument("--branch", required=True, metavar="B", help="支部（编号、名称或序号）")
    s.add_argument("--item", required=True, metavar="I", help="检查项目编号")
    s.add_argument("--field", required=True, type=_field, choices=["score", "look", "check"],
                   help="score（分数）/ look（看）/ check（查），也可写中文")
    how = s.add_mutually_exclusive_group(required=True)
    how.add_argument("--value", metavar="V", help="裁定值：分数，或 符合/部分符合/不符合/不适用（meets/partly/not/na）")
    how.add_argument("--from", dest="from_", metavar="INSPECTOR",
                     help="采纳某位观摩员的值（姓名，或 disagreements 列出的序号）")
    s.add_argument("--reason", default="", metavar="TEXT", help="裁定理由（直接给出裁定值时必填）")
    s.add_argument("--checklist", metavar="FILE", help="清单文件（默认按会话记录的清单编号查找）")
    s.set_defaults(func=run_settle)

    h = sub.add_parser("handout", help="把访问计划（或合并结果）复制给一位观摩员")
    h.add_argument("file", metavar="FILE")
    h.add_argument("--to", required=True, metavar="NAME", help="观摩员姓名")
    h.add_argument("-o", "--output", required=True, metavar="OUT")
    h.add_argument("--force", action="store_true", help="覆盖已存在的输出文件")
    h.set_defaults(func=run_handout)


def _load_checklists(paths: list[str]):
    from inspect_tui.core.checklist_load import load_checklist

    return [load_checklist(p) for p in paths]


def _asker(question: str):
    """A confirmation asked on the terminal; ``None`` (no decision) when stdin is not a terminal."""

    def ask(lines: list[str]) -> bool | None:
        if not sys.stdin.isatty():
            return None
        print("\n".join(lines), file=sys.stderr)
        try:
            answer = input(f"{question}[y/N] ").strip().lower()
        except EOFError:  # Ctrl-D: the same as "no"
            return False
        return answer in ("y", "yes", "是", "好")

    return ask


def _warn(lines: list[str]) -> None:
    print("\n".join(lines), file=sys.stderr)


def run_merge(args: argparse.Namespace) -> int:
    from inspect_tui.store.merge_files import merge_files

    if args.force:
        raise UserError("merge 不再有 --force：已有的输出文件现在作为输入之一合并，其中的内容（组长的裁定）不会丢失",
                        hint="去掉 --force 即可；确需丢弃原输出文件的内容时用 --replace（会先列出将丢失的内容）。")
    report = merge_files(args.files, args.output, leader=args.leader, exclude=args.exclude,
                         match_branches=args.match, replace=args.replace, accept_unsealed=args.accept_unsealed,
                         checklists=_load_checklists(args.checklist), confirm=_asker("按以上匹配合并？"),
                         confirm_unsealed=_asker("仍要合并这些文件？"), warn=_warn, analyse=args.unsettled)
    if report.merged_into:
        print(f"已有的 {report.output} 已作为输入之一合并（其中的裁定和记录均保留）。")
    if report.unsealed:
        print(f"已确认合并未正常关闭的文件：{'、'.join(report.unsealed)}")
    print("\n".join(report.table()))
    if report.excluded:
        print(f"已排除：{'、'.join(report.excluded)}")
    if report.aliases:
        print(f"已按名称匹配支部 {len(report.aliases)} 个：")
        for m in report.matching.matches if report.matching else ():
            print(f"  {m.describe()}")
    print(f"已写入 {report.output}：共 {report.records} 条记录，并发修改冲突 {report.conflicts} 条"
          + (f"，待裁定分歧 {report.unsettled} 项" if report.unsettled is not None else "")
          + f"；摘要 {report.digest}")
    if report.photos_missing:
        print(f"inspect-tui: 警告：{len(report.photos_missing)} 张照片不在任何输入文件旁的照片文件夹（*.files）中，"
              "请一并拷贝观摩员的照片文件夹后重新合并", file=sys.stderr)
    print(f"查看并裁定分歧：inspect-tui disagreements {report.output}")
    return 0


def _field(text: str) -> str:
    """``--field`` by key or by the label ``disagreements`` prints (分数 / 看 / 查)."""
    from inspect_tui.core.labels import field_key

    return field_key(text)


def _open_session(path: str, checklist: str | None, *, readonly: bool):
    from inspect_tui.store.session import Session

    cl = _load_checklists([checklist])[0] if checklist else None
    return Session.open(path, readonly=readonly, checklist=cl)


def run_disagreements(args: argparse.Namespace) -> int:
    from inspect_tui.core.disagreements import (
        find_branch,
        format_disagreement,
        item_number,
        list_disagreements,
        numbered_inspectors,
    )
    from inspect_tui.core.labels import KIND_LABELS

    with _open_session(args.file, args.checklist, readonly=True) as s:
        branch = find_branch(s.index, args.branch).id if args.branch else None
        found = list_disagreements(s.checklist, s.index, branch=branch, include_settled=args.all)
        numbering = numbered_inspectors(s.meta.inspectors, list_disagreements(s.checklist, s.index,
                                                                              include_settled=True),
                                        s.meta.inspector)
        conflicts = [r for r in s.index.conflicts() if branch is None or r.branch == branch]
        order = {b.id: n for n, b in enumerate(s.branches(), 1)}  # the ordinal settle --branch accepts
        names = {b.id: b.data["name"] for b in s.branches()}
        known_items = {i.id for i in s.checklist.items()}
    if not found:
        print("没有待裁定的分歧。" if not args.all else "没有分歧。")
    current = None
    for d in found:
        if d.branch != current:
            current = d.branch
            print(f"\n【{order.get(d.branch, '?')}. {d.branch_name}】")
        print(format_disagreement(d, numbering, item_number(s.checklist, d.item)))
    if conflicts:
        print(f"\n并发修改冲突 {len(conflicts)} 条（同一记录在两处被同时修改，已全部保留；再次编辑该记录即可解决）：")
        for r in conflicts[:50]:
            item = f" {item_number(s.checklist, r.data['item'])}" if r.data.get("item") in known_items else ""
            print(f"  {names.get(r.branch, '')} {KIND_LABELS[r.kind]}{item}：{len(r.versions)} 个版本")
    return 0


def run_settle(args: argparse.Namespace) -> int:
    from inspect_tui.core.disagreements import find_branch, list_disagreements, numbered_inspectors, settle

    with _open_session(args.file, args.checklist, readonly=False) as s:
        branch = find_branch(s.index, args.branch)
        chosen = args.from_
        if chosen is not None and chosen.strip().isdigit():  # the number ``disagreements`` printed
            names = numbered_inspectors(s.meta.inspectors, list_disagreements(s.checklist, s.index,
                                                                              include_settled=True),
                                        s.meta.inspector)
            n = int(chosen)
            if not 1 <= n <= len(names):
                raise UserError(f"没有第 {n} 位观摩员", hint="可用：" + "、".join(
                    f"{i}. {name}" for i, name in enumerate(names, 1)))
            chosen = names[n - 1]
        rec = settle(s, branch.id, args.item, args.field, value=args.value, chosen_from=chosen,
                     reason=args.reason)
        title = s.checklist.item(rec.data["item"]).title
    from inspect_tui.core.disagreements import FIELD_LABELS, status_label

    what = fmt_score(rec.data['score']) if args.field == "score" else status_label(rec.data.get("status"))
    print(f"已裁定：{branch.data['name']} {title}（{FIELD_LABELS[args.field]}）= {what}"
          + (f"（采纳 {rec.data['chosen_from']}）" if rec.data.get("chosen_from") else "")
          + (f"；理由：{rec.data['reason']}" if rec.data.get("reason") else ""))
    return 0


def run_handout(args: argparse.Namespace) -> int:
    from inspect_tui.store.merge_files import handout

    out = handout(Path(args.file), Path(args.output), args.to, force=args.force)
    print(f"已为 {args.to} 写入 {out}")
    return 0


__all__ = ["register", "UserError"]

"""``inspect-tui report group|rollup SESSION... -o DIR``: the summary report and its workbook.

``group`` is one group's merged sessions (several days of one visit programme are one group);
``rollup`` is many groups at once. Both take the report's facts from the digest cache
(``store.report_digest``); ``group`` also reads the whole sessions for its workbook. Both refuse — writing nothing —
while disagreements are unsettled unless ``--draft`` (every page marked 征求意见稿), when sessions
of different checklists are mixed in one group, when a file cannot be read, is damaged or torn (a
copy cut short, a hand-edited line), when a file was not closed cleanly unless ``--accept-unsealed``
(or a yes on a terminal; then a warning names it), or when no branch is evaluated. Exit codes: 0
written, 2 refused.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from inspect_tui.errors import UserError, file_error

if TYPE_CHECKING:
    from inspect_tui.store.report_inputs import Unsealed


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="汇总报告（PDF）和汇总台账（xlsx）：一个小组（group）或多个小组（rollup）")
    rs = p.add_subparsers(dest="report_command", metavar="KIND", required=True)

    g = rs.add_parser("group", help="一个观摩小组的《交叉观摩情况汇总报告》和 汇总.xlsx",
                      description="由组长合并后的会话（同一小组可有多天、多份）生成汇总报告 PDF 和汇总台账。")
    _common(g)
    g.add_argument("--next-steps", type=Path, metavar="FILE", help="“下一步工作”一节的文字（UTF-8 文本文件，可选）")
    g.set_defaults(func=cmd_group)

    r = rs.add_parser("rollup", help="多个小组（全市、全省）的汇总报告和台账",
                      description="汇总多个小组的合并会话：各小组达标率、优秀率、平均分，总排名，跨小组共性问题，知晓率。")
    _common(r)
    r.add_argument("-j", "--jobs", type=int, help="解析会话的并行进程数（默认：CPU 核数）")
    r.set_defaults(func=cmd_rollup)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("sessions", nargs="+", type=Path, metavar="SESSION", help="合并后的会话文件")
    p.add_argument("-o", "--output", type=Path, default=Path("exports"), help="输出文件夹（默认 exports/）")
    p.add_argument("--draft", action="store_true", help="有未裁定分歧时仍生成：每页标“征求意见稿”并列出分歧")
    p.add_argument("--csv", action="store_true", help="另存每张表为 CSV（UTF-8 带 BOM，Excel 可直接打开）")
    p.add_argument("--share", default="1/3", help="共性问题的门槛：失分或有问题的已评支部占比（默认 1/3，可写 0.4、40%%）")
    p.add_argument("--templates", type=Path, help="本单位的模板文件夹（覆盖内置 report.html / rollup.html）")
    p.add_argument("--cache", type=Path, metavar="DIR", help="会话摘要缓存文件夹（默认 ~/.cache/inspect-tui/report-digests）")
    p.add_argument("--accept-unsealed", action="store_true", default=None,
                   help="接受未正常关闭（没有封存行）的会话文件，不再询问（用于脚本）")


def _paths(args: argparse.Namespace) -> list[Path]:
    seen: dict[Path, Path] = {}
    for p in args.sessions:
        seen.setdefault(p.resolve(), p)
    return list(seen.values())


def _unsealed(args: argparse.Namespace, notes: list[str]) -> Unsealed:
    """Inputs not closed cleanly: accepted by ``--accept-unsealed`` or a yes on a terminal; the
    warning naming them goes to ``notes``, printed once the report is written."""
    from inspect_tui.cli.merge_cmd import _asker
    from inspect_tui.store.report_inputs import Unsealed

    return Unsealed(args.accept_unsealed, _asker("仍要用这些文件生成报告？"), notes.extend)


def _done(paths: list[Path], notes: list[str]) -> int:
    for p in paths:
        print(p)
    if notes:
        print("\n".join(notes), file=sys.stderr)
    return 0


def cmd_group(args: argparse.Namespace) -> int:
    from inspect_tui.core.report import parse_share
    from inspect_tui.export.report_files import write_group_report

    share = parse_share(args.share)
    next_steps = _read_text(args.next_steps) if args.next_steps else ""
    notes: list[str] = []
    return _done(write_group_report(_paths(args), args.output, draft=args.draft, csv=args.csv, share=share,
                                    next_steps=next_steps, cache=args.cache, template_dir=args.templates,
                                    unsealed=_unsealed(args, notes)), notes)


def cmd_rollup(args: argparse.Namespace) -> int:
    from inspect_tui.core.report import parse_share
    from inspect_tui.export.report_files import write_rollup

    share = parse_share(args.share)
    if args.jobs is not None and args.jobs < 1:
        raise UserError("--jobs：并行进程数至少为 1")
    tty = sys.stderr.isatty()
    notes: list[str] = []

    def progress(done: int, total: int) -> None:
        if tty:
            print(f"\r\033[K解析会话 {done}/{total}", end="\n" if done == total else "", file=sys.stderr, flush=True)

    written, rollup = write_rollup(_paths(args), args.output, draft=args.draft, csv=args.csv, share=share,
                                   cache=args.cache, workers=args.jobs, template_dir=args.templates,
                                   progress=progress, unsealed=_unsealed(args, notes))
    if rollup.split:
        print(f"注意：这些会话使用了 {len(rollup.parts)} 个检查清单版本，已按版本分别汇总："
              + "；".join(f"{p.label}（{len(p.sources)} 份会话）" for p in rollup.parts), file=sys.stderr)
    return _done(written, notes)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise file_error(path, "不是 UTF-8 文本文件") from None
    except OSError as exc:
        raise file_error(path, f"无法读取：{exc.strerror}") from None

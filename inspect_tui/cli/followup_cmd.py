"""``inspect-tui followup …``: the 回头看 — start it from issued notices, record progress and checks
item by item, take in returned reply forms, write the ledger and the follow-up documents.

Exit codes: 0 success; 2 a user mistake (bad file, a change the ledger's rules refuse, a forged
notice, an unreadable scan) — nothing half-applied.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from inspect_tui.errors import UserError


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"“{text}”不是 YYYY-MM-DD 格式的日期") from None


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("followup", help="回头看：整改台账、逐项核查销号、反馈表登记、台账与汇总导出")
    fs = p.add_subparsers(dest="followup_command", metavar="ACTION", required=True)

    new = fs.add_parser("new", help="从合并后的观摩会话和/或整改通知书 PDF 建立回头看会话（整改台账）")
    new.add_argument("pdfs", nargs="*", type=Path, metavar="NOTICE.pdf", help="整改通知书 PDF（逐份核验后导入）")
    new.add_argument("--session", type=Path, help="合并后的观摩会话（已签发通知书的支部纳入台账）")
    new.add_argument("-o", "--output", type=Path, required=True, help="新的回头看会话文件")
    new.add_argument("--inspector", required=True, help="你的姓名（组长）")
    new.add_argument("--date", type=_day, default=None, help="回头看日期（默认今天）")
    new.add_argument("--checklist", help="检查清单（只给 PDF 且清单不是内置清单时需要）")
    new.add_argument("--templates", type=Path, help="导出通知书时所用的本单位模板文件夹（核验用）")
    new.add_argument("--skip-refused", action="store_true", help="有通知书核验未通过时，跳过它们继续建立台账")
    new.add_argument("--force", action="store_true", help="覆盖已存在的输出文件")
    new.set_defaults(func=cmd_new)

    show = fs.add_parser("show", help="各支部整改进度与逐项状态、剩余天数")
    show.add_argument("session", type=Path)
    show.add_argument("--branch", help="只显示该支部（名称或编号）")
    show.add_argument("--today", type=_day, default=None, help="按此日期计算剩余/逾期天数（默认今天）")
    show.set_defaults(func=cmd_show)

    def item_cmd(name: str, help_: str) -> argparse.ArgumentParser:
        c = fs.add_parser(name, help=help_)
        c.add_argument("session", type=Path)
        c.add_argument("ref", help="台账编号：发文字号/序号（followup show 列出）")
        c.add_argument("--evidence", action="append", default=[], type=Path, metavar="FILE",
                       help="佐证材料文件（复制到会话旁的佐证文件夹，可重复）")
        c.add_argument("--evidence-text", help="佐证说明")
        c.add_argument("--note", help="核查意见 / 备注")
        c.add_argument("--today", type=_day, default=None,
                       help="今天的日期（默认系统日期）：晚于它的核查日期、完成时间不予登记")
        return c

    s = item_cmd("set", "记录整改进度：状态、措施、完成时间、佐证、责任人、类别")
    s.add_argument("--status", help="未整改 / 整改中 / 待核查（销号与未通过用 close / reopen）")
    s.add_argument("--measures", help="整改措施及完成情况")
    s.add_argument("--completed", type=_day, help="完成时间")
    s.add_argument("--responsible", help="责任人")
    s.add_argument("--category", help="整改类别：立行立改 / 限期整改 / 长期坚持")
    s.set_defaults(func=cmd_set)
    c = item_cmd("close", "核查通过，销号（需佐证与核查人）")
    c.add_argument("--checker", required=True, help="核查人")
    c.add_argument("--date", type=_day, default=None, help="核查日期（默认今天）")
    c.set_defaults(func=cmd_close)
    r = item_cmd("reopen", "核查未通过 / 重新打开已销号事项（需原因与新的整改时限）")
    r.add_argument("--reason", required=True, help="未通过的原因")
    r.add_argument("--deadline", type=_day, required=True, help="新的整改时限")
    r.add_argument("--checker", help="核查人")
    r.add_argument("--date", type=_day, default=None, help="核查日期（默认今天）")
    r.set_defaults(func=cmd_reopen)

    a = fs.add_parser("attach", help="登记交回的《整改情况反馈表》扫描件/照片（按二维码匹配通知书，标为待核查）")
    a.add_argument("session", type=Path)
    a.add_argument("scans", nargs="+", type=Path, metavar="SCAN", help="PDF、PNG 或 JPEG")
    a.set_defaults(func=cmd_attach)

    e = fs.add_parser("export", help="整改台账.xlsx、各支部回头看情况反馈、整改落实情况汇总、提醒书（PDF）")
    e.add_argument("session", type=Path)
    e.add_argument("-o", "--output", type=Path, default=Path("exports"), help="输出文件夹（默认 exports/）")
    e.add_argument("--today", type=_day, default=None, help="按此日期计算剩余/逾期天数（默认今天）")
    e.add_argument("--within", type=int, default=7, metavar="N", help="为 N 天内到期或已逾期的事项出提醒书（默认 7）")
    e.add_argument("--only", choices=["ledger", "branch", "summary", "reminder"], action="append",
                   help="只导出其中几种（可重复）")
    e.add_argument("--templates", type=Path, help="本单位的模板文件夹")
    e.set_defaults(func=cmd_export)

    i = fs.add_parser("import", help="读回各支部填写的整改台账.xlsx（逐行校验，有错则一行也不导入）")
    i.add_argument("session", type=Path)
    i.add_argument("workbook", type=Path)
    i.set_defaults(func=cmd_import)


def cmd_new(args: argparse.Namespace) -> int:
    from inspect_tui.export.followup_intake import Intake, notices_from_pdfs, notices_from_session
    from inspect_tui.store.followup import start_followup
    from inspect_tui.store.session import Session, open_checklist

    if not args.pdfs and not args.session:
        raise UserError("请给出合并后的观摩会话（--session）或整改通知书 PDF", hint="两者也可同时给出。")
    from inspect_tui.store.paths import same_file

    if any(same_file(given, args.output) for given in (args.session, *args.pdfs) if given):
        raise UserError(f"{args.output}：输出文件就是输入之一，建立回头看会话会取代它",
                        hint="请用 -o 另指定回头看会话的文件。")
    intake = Intake()
    if args.session:
        with Session.open(args.session, readonly=True) as visit:
            notices_from_session(visit, intake)
    notices_from_pdfs(args.pdfs, intake, args.session, args.templates)
    for note in intake.notes:
        print(f"注意：{note}", file=sys.stderr)
    for what, why in intake.refused:
        print(f"inspect-tui: {what}: {why}", file=sys.stderr)
    if intake.refused and not args.skip_refused:
        raise UserError(f"{len(intake.refused)} 份通知书未通过，未建立回头看会话",
                        hint="请核实后重试；确认只用其余通知书时加 --skip-refused。")
    checklist = intake.checklist
    if checklist is None and intake.notices:
        ref = intake.notices[0]["checklist"]
        checklist = open_checklist(args.checklist or ref["id"])
        if (checklist.id, checklist.version) != (ref["id"], ref["version"]):
            raise UserError(f"通知书使用检查清单 {ref['id']} {ref['version']}，但找到的是 {checklist.id} {checklist.version}",
                            hint="请用 --checklist 指定观摩时使用的清单文件。")
    day = args.date or date.today()
    with start_followup(args.output, intake.notices, inspector=args.inspector, day=day, checklist=checklist,
                        force=args.force) as s:
        from inspect_tui.store.followup import ledger_of

        ledger = ledger_of(s)
        print(f"已创建回头看会话 {s.path}：{len(intake.notices)} 份通知书，{len(ledger.branches())} 个支部，"
              f"{len(ledger.items)} 项整改事项")
    return 0


def _today(args: argparse.Namespace) -> date:
    return args.today or date.today()


def cmd_show(args: argparse.Namespace) -> int:
    from inspect_tui.core.format import fmt_rate
    from inspect_tui.core.ledger import counts, days_text
    from inspect_tui.store.followup import evidence_path, ledger_of
    from inspect_tui.store.session import Session

    today = _today(args)
    with Session.open(args.session, readonly=True) as s:
        ledger = ledger_of(s)
        names = {b.id: b.data["name"] for b in s.branches()}
        order = {b: str(n) for n, b in enumerate(ledger.branches(), 1)}
        wanted = [b for b in ledger.branches() if not args.branch or args.branch in (b, names.get(b), order[b])]
        if args.branch and not wanted:
            raise UserError(f"台账中没有支部 {args.branch}")
        total = counts(ledger.items, today)
        print(f"{s.meta.group} 回头看（{today.isoformat()}）：{total.total} 项，已销号 {total.closed}，"
              f"未销号 {total.pending}，逾期 {total.overdue}；整改完成率 {fmt_rate(total.completion_rate)}，"
              f"按期完成率 {fmt_rate(total.on_time_rate)}，销号率 {fmt_rate(total.closed_rate)}")
        for b in wanted:
            items = ledger.of_branch(b)
            c = counts(items, today)
            print(f"\n{names.get(b, b)}：{c.total} 项，已销号 {c.closed}，未销号 {c.pending}，逾期 {c.overdue}")
            for i in items:
                line = f"  {i.ref}  [{i.status_label}]  {i.category_label}  {days_text(i, today)}  {i.requirement[:40]}"
                missing = [f for f in i.evidence_files if evidence_path(s.path, f) is None]
                if missing:
                    line += f"  ⚠ 佐证文件不存在：{'、'.join(missing)}"
                print(line)
                for c_, why in i.conflicts:
                    print(f"      ⚠ 冲突：{c_.by} {c_.at[:16]} 的变更未生效：{why}")
    return 0


def _evidence(session, files: list[Path]) -> tuple[str, ...] | None:
    from inspect_tui.store.followup import store_evidence

    return tuple(store_evidence(session.path, f) for f in files) or None


def _change(args: argparse.Namespace, **fields) -> int:
    from inspect_tui.store.followup import change_item
    from inspect_tui.store.session import Session

    with Session.open(args.session) as s:
        fields |= {"evidence_files": _evidence(s, args.evidence), "evidence_text": args.evidence_text,
                   "note": args.note}
        rec = change_item(s, args.ref, today=_today(args), **fields)
        from inspect_tui.core.ledger import change_summary

        print(f"已记录 {args.ref}：{change_summary(rec.data)}")
    return 0


def cmd_set(args: argparse.Namespace) -> int:
    from inspect_tui.core.ledger import S, category_of, status_of

    try:
        status = status_of(args.status) if args.status else None
        category = category_of(args.category) if args.category else None
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if status in (S.CLOSED, S.FAILED):
        raise UserError("销号用 followup close，判为未通过用 followup reopen")
    return _change(args, status=status, measures=args.measures, completed_on=args.completed,
                   responsible=args.responsible, category=category)


def cmd_close(args: argparse.Namespace) -> int:
    from inspect_tui.core.ledger import S

    return _change(args, status=S.CLOSED, checker=args.checker, checked_on=args.date or _today(args))


def cmd_reopen(args: argparse.Namespace) -> int:
    from inspect_tui.core.ledger import S

    return _change(args, status=S.FAILED, reason=args.reason, deadline=args.deadline, checker=args.checker,
                   checked_on=args.date or _today(args))


def cmd_attach(args: argparse.Namespace) -> int:
    from inspect_tui.export.followup_intake import attach_scan
    from inspect_tui.store.session import Session

    failed = 0
    with Session.open(args.session) as s:
        for scan in args.scans:
            r = attach_scan(s, scan)
            if r.error:
                failed += 1
                print(f"inspect-tui: {scan}: {r.error}", file=sys.stderr)
                continue
            print(f"{scan}：通知书 {r.notice_no}，{len(r.items)} 项已登记佐证并标为待核查"
                  + (f"；跳过 {'、'.join(r.skipped)}" if r.skipped else ""))
    return 2 if failed else 0


def cmd_export(args: argparse.Namespace) -> int:
    from inspect_tui.export.followup_export import export_followup

    written = export_followup(args.session, args.output, today=_today(args), within=args.within,
                              only=set(args.only or ()), template_dir=args.templates)
    for p in written:
        print(p)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from inspect_tui.export.ledger_book import import_ledger
    from inspect_tui.store.session import Session

    with Session.open(args.session) as s:
        n, ignored = import_ledger(s, args.workbook)
    for cell in ignored:
        print(f"inspect-tui: 注意：{cell}", file=sys.stderr)
    print(f"已从 {args.workbook} 导入 {n} 项变更" if n else f"{args.workbook} 与台账一致，没有需要导入的变更")
    return 0

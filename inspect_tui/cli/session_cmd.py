"""``inspect-tui session …``: create, check, summarise, fingerprint and repair session files."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from inspect_tui.core.check import check_content
from inspect_tui.core.format import fmt_rate, fmt_score
from inspect_tui.core.meta import SessionMeta
from inspect_tui.core.plan import PlannedBranch, load_plan
from inspect_tui.core.report import build_group_report, summary_line
from inspect_tui.core.versions import digest
from inspect_tui.errors import Problem, UserError, file_error
from inspect_tui.store.integrity import EXIT_CODES, State, examine, recover
from inspect_tui.store.report_inputs import facts_of
from inspect_tui.store.session import Session, checklist_for, new_session, open_checklist, parse_meta
from inspect_tui.store.session_file import LOG, META, RECORDS, read_session


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("session", help="会话文件：新建、检查、摘要、指纹、历史、修复")
    ss = p.add_subparsers(dest="session_command", metavar="ACTION", required=True)

    new = ss.add_parser("new", help="新建一个观摩会话（一份访问计划）")
    new.add_argument("--group", required=True, help="观摩小组名称")
    new.add_argument("--inspector", required=True, help="本人姓名（本会话副本的所有者）")
    new.add_argument("--date", type=_day, default=date.today(), help="观摩日期 YYYY-MM-DD（默认今天）")
    new.add_argument("--checklist", default="party-branch-standard", help="检查清单文件或内置清单 id")
    new.add_argument("--branch", action="append", default=[], metavar="NAME", help="被观摩支部（可重复）")
    new.add_argument("--plan", type=Path, help="访问计划（CSV 或 YAML），提供支部名单")
    new.add_argument("--inspectors", nargs="*", default=[], help="小组其他成员")
    new.add_argument("--dir", type=Path, default=Path("sessions"), help="会话目录（默认 sessions/）")
    new.add_argument("-o", "--output", type=Path, help="会话文件路径（默认按小组、日期和姓名命名）")
    new.set_defaults(func=cmd_new)

    check = ss.add_parser(
        "check", help="检查会话文件是否完整、是否正常关闭、内容是否符合格式",
        description="逐行核对校验和与行链、封存行，再按 JSON Schema 检查内容。退出码：0 完好且已正常关闭"
                    "（或正被写入）；4 完好但未正常关闭；5 末尾有未完成的写入；6 已损坏；2 不是会话文件、无法读取或内容"
                    "不符合格式。"
                    "多个文件时取最大值。")
    check.add_argument("files", nargs="+", type=Path)
    check.set_defaults(func=cmd_check)

    show = ss.add_parser("show", help="各支部进度、得分、等次和问题数")
    show.add_argument("file", type=Path)
    show.set_defaults(func=cmd_show)

    dig = ss.add_parser("digest", help="记录内容的指纹（与合并顺序无关，可用于核对两份数据是否相同）")
    dig.add_argument("file", type=Path)
    dig.set_defaults(func=cmd_digest)

    log = ss.add_parser("log", help="会话历史：谁在何时改了什么，合并记录与裁定理由")
    log.add_argument("file", type=Path)
    log.set_defaults(func=cmd_log)

    photos = ss.add_parser("photos", help="把按路径记录的照片收入会话的照片文件夹（旧会话迁移）")
    photos.add_argument("file", type=Path)
    photos.set_defaults(func=cmd_photos)

    rec = ss.add_parser("recover", help="从损坏的会话文件中抢救有效内容到新文件")
    rec.add_argument("file", type=Path)
    rec.add_argument("-o", "--output", type=Path, required=True)
    rec.set_defaults(func=cmd_recover)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"“{text}”不是 YYYY-MM-DD 格式的日期") from None


def cmd_new(args: argparse.Namespace) -> int:
    checklist = open_checklist(args.checklist)
    branches: list[PlannedBranch] = [PlannedBranch(b) for b in args.branch]
    group, day, inspectors = args.group, args.date, list(args.inspectors)
    if args.plan:
        plan = load_plan(args.plan)
        branches += plan.branches
        inspectors += plan.inspectors
        day = plan.date or day
    if not branches:
        raise UserError("没有给出被观摩支部", hint="用 --branch 名称（可重复）或 --plan 计划文件 指定。")
    from inspect_tui.store.paths import session_filename

    target = Path(args.output) if args.output else Path(args.dir) / session_filename(group, day, args.inspector)
    if target.exists():
        raise file_error(target, "这是一个文件夹" if target.is_dir() else "文件已存在",
                         hint="新会话不会覆盖已有的文件：请用 -o 另指定文件名，或先移走原文件。")
    with new_session(args.dir, group=group, day=day, inspector=args.inspector, checklist=checklist,
                     branches=branches, inspectors=inspectors, path=args.output) as s:
        print(f"已创建 {s.path}（{len(s.branches())} 个支部，清单 {checklist.id} {checklist.version}）")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Every file's state (``integrity.examine``), then its content; the exit code is the worst
    state's (``EXIT_CODES``)."""
    problems: list[Problem] = []
    code = 0
    for path in args.files:
        try:
            found = examine(path)
        except UserError as exc:
            problems += exc.problems or [Problem(str(path), exc.message)]
            code = max(code, 2)
            continue
        if found.state is State.DAMAGED:
            problems.append(Problem(str(path), found.describe(), found.damaged_line))
            code = max(code, found.exit_code)
            continue
        tables = found.replay.tables if found.replay else {}
        meta = tables.get(META, {}).get("1", {})
        if not meta and found.state is State.TORN:  # the cut came before the session's own line
            problems.append(Problem(str(path), f"文件在开头就被截断：会话信息所在的一行不完整（末尾 "
                                    f"{found.replay.torn_bytes} 字节是未完成的写入），其中没有可用的内容"))
            code = max(code, 2)
            continue
        records, log = list(tables.get(RECORDS, {}).values()), list(tables.get(LOG, {}).values())
        checklist = None
        try:
            checklist = checklist_for(path, parse_meta(path, meta))
        except UserError as exc:
            problems += exc.problems or [Problem(str(path), exc.message)]
            code = max(code, 2)
        content = check_content(meta, records, log, checklist)
        problems += [Problem(str(path), msg) for msg in content]
        if content:
            code = max(code, 2)
            continue
        code = max(code, found.exit_code)
        if checklist is not None:
            label = "正常" if found.sound else "注意"
            print(f"{path}: {label}：{found.describe()}（{len(records)} 条记录，摘要 {digest(records)}）")
    if problems:
        hint = RECOVER_HINT if code == EXIT_CODES[State.DAMAGED] else ""
        print("inspect-tui: " + UserError(f"{len(problems)} 处问题", problems=problems, hint=hint).render(),
              file=sys.stderr)
    return code


RECOVER_HINT = "损坏的文件可用 inspect-tui session recover 文件 -o 新文件 抢救其中全部完好的修改（原文件不会被改动）。"


def cmd_show(args: argparse.Namespace) -> int:
    with Session.open(args.file, readonly=True) as s:
        m: SessionMeta = s.meta
        print(f"{m.group}  {m.date}  观摩员：{m.inspector}  清单：{m.checklist.id} {m.checklist.version}")
        from inspect_tui.store.followup import is_followup

        if is_followup(s):
            print(f"这是回头看会话（整改台账）：用 inspect-tui followup show {args.file} 查看各事项的整改与核查情况")
            return 0
        results = [s.result(b.id) for b in s.branches()]
        for r in results:
            steps = "".join(st.label if done else "·" for st, done in r.steps_done.items())
            unsettled = f"  未定 {len(r.unsettled)}" if r.unsettled else ""
            score = f"{fmt_score(r.total)}/{fmt_score(r.full_marks)}"
            rating = r.rating_label
            print(f"  {steps}  {score:>10} {rating:<4} 问题 {r.problems:>2}  "
                  f"知晓率 {fmt_rate(r.awareness):>6}  {r.name}{unsettled}")
        facts = facts_of(s)
        if any(b.evaluated for b in facts.branches):  # the report's own figures: 未评 never ranked or counted
            print(summary_line(build_group_report(s.checklist, [facts])))
        elif results:
            print(f"共 {len(results)} 个支部，尚无评完的支部：不计达标率、优秀率，不排名")
    return 0


def cmd_digest(args: argparse.Namespace) -> int:
    meta, records, _log = read_session(args.file)
    if not meta:  # the digest of no records would read as a real, empty session's
        raise file_error(args.file, "找不到会话信息（文件在开头就被截断，或不是完整的会话文件），没有可计算指纹的内容",
                         hint="可先用 inspect-tui session check 查看。")
    print(digest(records))
    return 0


def cmd_log(args: argparse.Namespace) -> int:
    from inspect_tui.core.history import history_lines

    meta, records, log = read_session(args.file)
    for line in history_lines(meta, records, log):
        print(line)
    return 0


def cmd_photos(args: argparse.Namespace) -> int:
    from inspect_tui.store.evidence import adopt_paths, store_dir

    with Session.open(args.file) as s:
        done = adopt_paths(s)
    print(f"已把 {done.copied} 张照片收入 {store_dir(args.file)}（{done.observations} 条观察记录已更新）")
    for entry in done.left:
        print(f"inspect-tui: 未收入：{entry}", file=sys.stderr)
    return 1 if done.left else 0


def cmd_recover(args: argparse.Namespace) -> int:
    report = recover(args.file, args.output)
    print(report)
    return 0

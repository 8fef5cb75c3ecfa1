"""``inspect-tui export feedback|notice|all SESSION`` and ``inspect-tui verify NOTICE.pdf``.

Export renders one PDF per branch (all branches unless ``--branch`` is given), spread over the
available cores, with a progress line on stderr. Verify reads a notice's QR code and embedded data
and says whether it is genuine and unchanged; with ``--session`` it also compares with the records,
with ``--key`` it checks the group's signature in the QR code (notices exported with ``--key``).
Exit codes: 0 success, 1 some documents failed / verification failed, 2 user mistake.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from inspect_tui.errors import EXIT_UNVERIFIABLE, UserError, file_error

KIND_CHOICES = {"feedback": ("feedback",), "notice": ("notice",), "all": ("feedback", "notice"), "disputes": ()}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="导出 PDF：点对点反馈意见、整改通知书、分歧与裁定清单",
                       description="为每个支部导出点对点反馈意见（feedback）或整改通知书（notice），或两者（all）；"
                                   "或为组长导出内部的分歧与裁定清单（disputes）。有未裁定分歧或整改事项不全时，"
                                   "正式文件拒绝导出，可先导出征求意见稿（--draft）。")
    p.add_argument("kind", choices=sorted(KIND_CHOICES),
                   help="feedback=点对点反馈意见，notice=整改通知书，all=两者，disputes=分歧与裁定清单（内部）")
    p.add_argument("session", type=Path, help="会话文件（组长合并后的会话）")
    p.add_argument("--branch", action="append", default=[], metavar="B", help="只导出该支部（名称或编号，可重复）")
    p.add_argument("-o", "--output", type=Path, default=Path("exports"), help="输出文件夹（默认 exports/）")
    p.add_argument("--templates", type=Path, help="本单位的模板文件夹（覆盖内置模板，见 docs/templates.md）")
    p.add_argument("-j", "--jobs", type=int, help="并行进程数（默认：可用 CPU 核数）")
    p.add_argument("--key", type=Path, metavar="FILE", help="小组密钥文件：在整改通知书二维码中加签名（HMAC）")
    p.add_argument("--issuer", type=Path, metavar="FILE",
                   help="发文设置文件（YAML）：发文机关、发文字号样式、主送、抄送、联系人、印章（见 docs/templates.md）")
    p.add_argument("--draft", action="store_true",
                   help="导出征求意见稿：每页标“征求意见稿”，不编发文字号，有未裁定分歧或整改事项不全时也可导出")
    p.add_argument("--reissue", action="store_true",
                   help="签发后整改事项有改动的通知书重新签发：取新文号，原文号在会话中记为已被取代")
    p.add_argument("-q", "--quiet", action="store_true", help="不显示进度")
    p.set_defaults(func=cmd_export)

    v = sub.add_parser("verify", help="核验整改通知书 PDF：二维码、嵌入数据、页面文字（可与会话核对）")
    v.add_argument("pdf", type=Path, help="整改通知书 PDF")
    v.add_argument("--session", type=Path, help="会话文件：核对通知书是否与记录一致")
    v.add_argument("--key", type=Path, metavar="FILE", help="小组密钥文件：核验二维码签名（证明由小组签发）")
    v.add_argument("--templates", type=Path, help="导出时所用的本单位模板文件夹（用于重建页面比对）")
    v.add_argument("--json", action="store_true", help="输出嵌入的通知书数据（JSON）")
    v.set_defaults(func=cmd_verify)


def _progress(quiet: bool):
    if quiet:
        return None
    tty = sys.stderr.isatty()

    def show(done: int, total: int, result) -> None:
        width = 30
        filled = int(width * done / total) if total else width
        bar = "█" * filled + "░" * (width - filled)
        status = "失败" if result.error else "完成"
        line = f"[{bar}] {done}/{total} {status} {result.branch_name}"
        if tty:
            end = "\n" if done == total else ""
            print("\r\033[K" + line, end=end, file=sys.stderr, flush=True)
        else:
            print(line, file=sys.stderr, flush=True)

    return show


def cmd_export(args: argparse.Namespace) -> int:
    from inspect_tui.export.batch import export_session
    from inspect_tui.export.documents import KIND_LABELS
    from inspect_tui.export.qr import load_key

    key = load_key(args.key) if args.key else None
    if not args.session.is_file():
        raise file_error(args.session, "会话文件不存在")
    if args.jobs is not None and args.jobs < 1:
        raise UserError("--jobs：并行进程数至少为 1")
    if args.kind == "disputes":
        from inspect_tui.export.disputes import export_disputes

        path, warnings = export_disputes(args.session, args.output, template_dir=args.templates)
        print(path)
        for w in warnings:
            print(f"注意：{w}", file=sys.stderr)
        return 0
    summary = export_session(args.session, args.output, kinds=KIND_CHOICES[args.kind], branches=args.branch,
                             template_dir=args.templates, workers=args.jobs, progress=_progress(args.quiet),
                             key=key, issuer=args.issuer, draft=args.draft, reissue=args.reissue)
    flags = [line for review in summary.reviews for line in review.lines()]
    if flags:
        print("请组长在签发前核对：", file=sys.stderr)
        for line in flags:
            print(f"  · {line}", file=sys.stderr)
    for r in summary.results:
        if r.ok:
            print(r.path)
    for r in summary.skipped:
        if r.error:
            print(f"inspect-tui: {r.branch_name}（{KIND_LABELS[r.kind]}）{r.error}", file=sys.stderr)
        else:
            print(f"跳过 {r.branch_name}：{r.note}", file=sys.stderr)
    for w in summary.warnings:
        print(f"inspect-tui: 警告：{w}", file=sys.stderr)
    for r in summary.errors:
        print(f"inspect-tui: {r.branch_name}（{KIND_LABELS[r.kind]}）导出失败：{r.error}", file=sys.stderr)
    print(f"共导出 {len(summary.files)} 个文件，用时 {summary.seconds:.1f} 秒（{summary.workers} 个进程）。",
          file=sys.stderr)
    return 1 if summary.errors or summary.refused else 0


def cmd_verify(args: argparse.Namespace) -> int:
    import json

    from inspect_tui.export.qr import load_key
    from inspect_tui.export.verify import verify_pdf

    if args.session is not None and not args.session.is_file():
        raise file_error(args.session, "会话文件不存在")
    key = load_key(args.key) if args.key else None
    report = verify_pdf(args.pdf, args.session, key, args.templates)
    if args.json and report.notice is not None:
        print(json.dumps(report.notice, ensure_ascii=False, indent=2))
    print(report.render(), file=sys.stderr if args.json else sys.stdout)
    return {"genuine": 0, "unverifiable": EXIT_UNVERIFIABLE}.get(report.verdict, 1)

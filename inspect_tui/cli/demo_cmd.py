"""``inspect-tui demo OUTDIR``: what a group leader holds after a visit day, generated."""

from __future__ import annotations

import argparse
from pathlib import Path

from inspect_tui.core.demo import generate
from inspect_tui.errors import UserError
from inspect_tui.store.paths import session_filename
from inspect_tui.store.session import open_checklist
from inspect_tui.store.session_file import write_session


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="生成演示数据：每位观摩员一份会话文件（同一访问计划）")
    p.add_argument("outdir", type=Path)
    p.add_argument("--branches", type=int, default=6, help="支部数（默认 6）")
    p.add_argument("--inspectors", type=int, default=3, help="观摩员人数（默认 3）")
    p.add_argument("--seed", type=int, default=1, help="随机种子（相同种子生成相同数据）")
    p.add_argument("--checklist", default="party-branch-standard")
    p.add_argument("--force", action="store_true", help="覆盖已存在的同名文件")
    p.set_defaults(func=cmd_demo)


def write_demo(outdir: Path, *, branches: int, inspectors: int, seed: int,
               checklist: str = "party-branch-standard", force: bool = False) -> list[Path]:
    if not 1 <= branches <= 500 or not 1 <= inspectors <= 50:
        raise UserError("--branches 应在 1–500 之间，--inspectors 应在 1–50 之间")
    cl = open_checklist(checklist)
    outdir.mkdir(parents=True, exist_ok=True)
    paths = []
    for copy in generate(cl, branches=branches, inspectors=inspectors, seed=seed):
        path = outdir / session_filename(copy.meta.group, copy.meta.date, copy.meta.inspector)
        write_session(path, copy.meta.model_dump(mode="json"), copy.records, [], force=force)
        paths.append(path)
    return paths


def cmd_demo(args: argparse.Namespace) -> int:
    paths = write_demo(args.outdir, branches=args.branches, inspectors=args.inspectors, seed=args.seed,
                       checklist=args.checklist, force=args.force)
    for p in paths:
        print(p)
    return 0

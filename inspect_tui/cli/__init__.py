"""The command-line front door.

Every non-interactive job is a subcommand; each lives in its own module and registers itself with
``register(subparsers)``. With no subcommand (or a session file as the only argument) the TUI
opens. User mistakes (``UserError``) become a message on stderr and exit code 2; nothing a user can
type should produce a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from inspect_tui.errors import UserError

COMMAND_MODULES = {
    "checklist": "inspect_tui.cli.checklist_cmd",
    "session": "inspect_tui.cli.session_cmd",
    "doctor": "inspect_tui.cli.doctor_cmd",
    "demo": "inspect_tui.cli.demo_cmd",
    "merge": "inspect_tui.cli.merge_cmd",
    "disagreements": "inspect_tui.cli.merge_cmd",
    "settle": "inspect_tui.cli.merge_cmd",
    "handout": "inspect_tui.cli.merge_cmd",
    "export": "inspect_tui.cli.export_cmd",
    "verify": "inspect_tui.cli.export_cmd",
    "report": "inspect_tui.cli.report_cmd",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="inspect-tui",
        description="交叉观摩检查工具 — 述、看、查、问、评。不带子命令时打开界面；也可直接给出会话文件。",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    registered: set[str] = set()
    for module_name in dict.fromkeys(COMMAND_MODULES.values()):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue
            raise
        module.register(sub)
        registered.add(module_name)
    return parser


def _run_tui(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="inspect-tui", description="打开交叉观摩检查界面。")
    parser.add_argument("session", nargs="?", help="要打开的会话文件（默认：选择最近的会话）")
    parser.add_argument("--sessions-dir", default="sessions", help="会话文件所在目录")
    args = parser.parse_args(argv)
    from inspect_tui.tui.app import run_app

    return run_app(args.session, sessions_dir=args.sessions_dir)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if not argv or (argv[0] not in COMMAND_MODULES and argv[0] not in ("-h", "--help")):
            return _run_tui(argv)
        parser = build_parser()
        args = parser.parse_args(argv)
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"inspect-tui: {exc.render()}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("inspect-tui: 已中断", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader (e.g. `| head`) went away: not an error of ours; silence the interpreter's flush
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0

"""The command-line front door, and the one error boundary of every command.

Every non-interactive job is a subcommand; each lives in its own module and registers itself with
``register(subparsers)``. With no subcommand (or a session file as the only argument) the TUI
opens. Nothing a user can do produces a traceback; ``main`` tells three families apart:

* exit 2 — a mistake in the input (``UserError``, or bad arguments): which file, where, what;
* exit 3 — the machine refused (``OSError``: disk full, read-only media, no permission, a path
  that does not exist): which path and what to do. Nothing was half-written: files are written
  beside their target and renamed over it only when complete;
* exit 70 — a defect of inspect-tui: one sentence and a crash report file (``crash.py``).

Also: 1 — a command's own "no" (``verify`` failed, some exports failed), 4 — ``verify`` could not
tell (no embedded data or QR code left to check: a re-saved or scanned copy), 130 — interrupted.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import re
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from inspect_tui.crash import bug_message, debugging, write_crash_report
from inspect_tui.errors import EXIT_BUG, EXIT_ENVIRONMENT, EXIT_USER, UserError, describe_os_error

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
    "followup": "inspect_tui.cli.followup_cmd",
}


#: argparse's own sentences, in Chinese (its ``%s`` parts are kept as they are).
_ARGPARSE_MESSAGES = (
    (re.compile(r"^the following arguments are required: (.*)$"), r"缺少必需的参数：\1"),
    (re.compile(r"^unrecognized arguments: (.*)$"), r"无法识别的参数：\1"),
    (re.compile(r"^one of the arguments (.*) is required$"), r"必须给出以下参数之一：\1"),
    (re.compile(r"^ambiguous option: (\S+) could match (.*)$"), r"选项 \1 有歧义，可能是：\2"),
    (re.compile(r"^argument (.*?): invalid choice: (.*) \(choose from (.*)\)$"), r"参数 \1：\2 不是可选的值（可选：\3）"),
    (re.compile(r"^argument (.*?): expected one argument$"), r"参数 \1 后面需要一个值"),
    (re.compile(r"^argument (.*?): expected at least one argument$"), r"参数 \1 后面至少需要一个值"),
    (re.compile(r"^argument (.*?): expected (.*) arguments?$"), r"参数 \1 后面需要 \2 个值"),
    (re.compile(r"^argument (.*?): invalid (\w+) value: (.*)$"), r"参数 \1：\3 不是有效的 \2 值"),
    (re.compile(r"^argument (.*?): not allowed with argument (.*)$"), r"参数 \1 不能与 \2 同时使用"),
    (re.compile(r"^argument (.*?): ignored explicit argument (.*)$"), r"参数 \1 不接受值 \2"),
    (re.compile(r"^argument (.*?): (.*)$"), r"参数 \1：\2"),
)


class ArgumentParser(argparse.ArgumentParser):
    """argparse that speaks Chinese: its errors, its headings and the help option."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._positionals.title = "参数"
        self._optionals.title = "选项"
        for action in self._actions:
            if isinstance(action, argparse._HelpAction):
                action.help = "显示本帮助并退出"

    def format_usage(self) -> str:
        return super().format_usage().replace("usage: ", "用法：", 1)

    def format_help(self) -> str:
        return super().format_help().replace("usage: ", "用法：", 1)

    def error(self, message: str) -> NoReturn:
        for pattern, chinese in _ARGPARSE_MESSAGES:
            if pattern.match(message):
                message = pattern.sub(chinese, message).replace("有效的 int 值", "整数").replace(
                    "有效的 float 值", "数字")
                break
        self.print_usage(sys.stderr)
        self.exit(EXIT_USER, f"{self.prog}：参数错误：{message}\n")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or only of ``command``'s module: importing all of them costs a
    fifth of a second, which ``inspect-tui report …`` would otherwise pay before its own work."""
    parser = ArgumentParser(
        prog="inspect-tui",
        description="交叉观摩检查工具 — 述、看、查、问、评。不带子命令时打开界面；也可直接给出会话文件。",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    registered: set[str] = set()
    for module_name in [COMMAND_MODULES[command]] if command in COMMAND_MODULES else dict.fromkeys(COMMAND_MODULES.values()):
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
    parser = ArgumentParser(prog="inspect-tui", description="打开交叉观摩检查界面。")
    parser.add_argument("session", nargs="?", help="要打开的会话文件（默认：选择最近的会话）")
    parser.add_argument("--sessions-dir", default="sessions", help="会话文件所在目录")
    parser.add_argument("--read-only", action="store_true",
                        help="只读方式打开：可以查看，不能修改（只读介质、无写权限或文件已在别处打开时自动如此）")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    # Start-up (importing Textual, opening the session) creates only objects that live on: the
    # collector stays off until the first screen is up (InspectApp._settle_gc turns it back on).
    gc.disable()
    ahead = None
    if args.session:  # before Textual is imported: no thread exists yet to fork in the middle of
        from inspect_tui.store.read_ahead import read_ahead

        ahead = read_ahead(args.session)
    from inspect_tui.tui.app import run_app

    return run_app(args.session, sessions_dir=args.sessions_dir, read_only=args.read_only, read_ahead=ahead)


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: Any = None, line: str | None = None) -> None:
    """The program's own warnings (a session not closed cleanly, a compaction that failed) as one
    plain line on stderr; other libraries' as Python prints them."""
    if category.__module__.startswith("inspect_tui") or Path(filename).is_relative_to(_PACKAGE):
        print(f"inspect-tui: 注意：{message}", file=sys.stderr)
    else:
        _python_show_warning(message, category, filename, lineno, file, line)


_PACKAGE = Path(__file__).resolve().parent.parent
_python_show_warning = warnings.showwarning


class _OnTerminal:
    """A terminal stream that drops bidi controls from what is written to it, and shows an escape
    character as ␛ — a title or a note holding an escape sequence must not clear or rewrite the
    screen — except in the one sequence the progress lines use ("\r\x1b[K": back to the line start,
    clear it). Only a terminal: text piped into a file or another program is kept exactly as
    recorded."""

    def __init__(self, stream: Any) -> None:
        from inspect_tui.export.printable import BIDI_CONTROLS  # not on the app's start-up path

        self._stream = stream
        self._bidi = dict.fromkeys(map(ord, BIDI_CONTROLS))  # a name typed "\u202e梅红张" must not read 张红梅

    def write(self, text: str) -> int:
        text = text.translate(self._bidi)
        if "\x1b" in text:
            text = "\r\x1b[K".join(part.replace("\x1b", "␛") for part in text.split("\r\x1b[K"))
        return self._stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _guard_terminal() -> None:
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is not None and not isinstance(stream, _OnTerminal) and stream.isatty():
            setattr(sys, name, _OnTerminal(stream))


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    warnings.showwarning = _show_warning
    try:
        if any("\0" in arg for arg in argv):
            raise UserError("参数中含有 NUL 字符（\\0），无法作为名称或路径使用")
        if not argv or (argv[0] not in COMMAND_MODULES and argv[0] not in ("-h", "--help")):
            return _run_tui(argv)
        _guard_terminal()
        try:
            args = build_parser(argv[0]).parse_args(argv)
        except SystemExit as exc:  # --help, or bad arguments (already explained on stderr)
            return int(exc.code or 0)
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"inspect-tui: {exc.render()}", file=sys.stderr)
        return EXIT_USER
    except KeyboardInterrupt:
        print("inspect-tui: 已中断", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader (e.g. `| head`) went away: not an error of ours; silence the interpreter's flush
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        print(f"inspect-tui: {describe_os_error(exc)}", file=sys.stderr)
        return EXIT_ENVIRONMENT
    except Exception as exc:
        if debugging():
            raise
        report = write_crash_report(exc, [f"argv: {argv!r}", f"cwd: {os.getcwd()}"])
        print(f"inspect-tui: {bug_message(exc, report)}", file=sys.stderr)
        return EXIT_BUG

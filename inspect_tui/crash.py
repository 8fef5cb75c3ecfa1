"""Crash reports: what a defect of ours leaves behind instead of a traceback on the user's screen.

A traceback tells an inspector in a meeting room nothing, and scares them about their data (which
is safe: every committed value is already durable). So the CLI and the app catch what is neither a
user's mistake nor a refusal of the machine, write the traceback with the versions and the command
to a report file, and say in one sentence that it is a bug of inspect-tui and where the report is.

Developers and the test suite set ``INSPECT_TUI_DEBUG=1`` to have such errors raised instead.
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import traceback
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import inspect_tui


def debugging() -> bool:
    """Defects raise instead of being reported (``INSPECT_TUI_DEBUG=1``: development and tests)."""
    return os.environ.get("INSPECT_TUI_DEBUG", "") not in ("", "0")


def crash_dirs() -> list[Path]:
    """Where reports go, in order of preference: ``INSPECT_TUI_CRASH_DIR``, the user's state folder,
    the system's temporary folder (the first two may be on a full or read-only disk)."""
    dirs = [Path(os.environ["INSPECT_TUI_CRASH_DIR"])] if os.environ.get("INSPECT_TUI_CRASH_DIR") else []
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    dirs += [Path(state) / "inspect-tui" / "crashes", Path(tempfile.gettempdir()) / "inspect-tui-crashes"]
    return dirs


def write_crash_report(exc: BaseException, context: Sequence[str] = ()) -> Path | None:
    """Write the report to the first folder that takes it; None when none does."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    text = "\n".join([
        f"inspect-tui {getattr(inspect_tui, '__version__', '?')} crash report {datetime.now().isoformat()}",
        f"python {sys.version.split()[0]} on {platform.platform()}",
        *context,
        "",
        "".join(traceback.format_exception(exc)),
    ])
    return _write_first(f"crash-{stamp}-{os.getpid()}.txt", text)


def write_note(kind: str, lines: Sequence[str]) -> Path | None:
    """Keep text that could not be saved anywhere else (typed into a field the app had to leave
    unsaved when the terminal closed) beside the crash reports."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return _write_first(f"{kind}-{stamp}-{os.getpid()}.txt", "\n".join(lines) + "\n")


def _write_first(name: str, text: str) -> Path | None:
    for folder in crash_dirs():
        path = folder / name
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except (OSError, ValueError):
            continue
        return path
    return None


def bug_message(exc: BaseException, report: Path | None) -> str:
    """One short paragraph: a defect, not the user's fault; committed data is safe; the report."""
    where = f"崩溃报告已写入 {report}，请把它发给维护者。" if report else "崩溃报告无法写入（磁盘已满或只读？）。"
    return (f"程序内部错误（{type(exc).__name__}）：这是 inspect-tui 的缺陷，不是您的操作问题。"
            f"已保存的记录不受影响。{where}")


def explain(exc: BaseException, context: Sequence[str] = ()) -> str:
    """Any exception as the one message a user should read: their mistake (``UserError``), what
    the machine refused (``OSError``), or — for anything else — a defect, reported to a file."""
    from inspect_tui.errors import UserError, describe_os_error

    if isinstance(exc, UserError):
        return exc.render()
    if isinstance(exc, OSError):
        return describe_os_error(exc)
    return bug_message(exc, write_crash_report(exc, context))

"""Errors that are the user's to fix, as opposed to bugs, and how each family is told.

Three families reach a user, each with its exit code: a mistake in what they gave us (``UserError``,
exit 2: which file, where, what is wrong), a refusal of the machine (``OSError``: full disk,
read-only media, no permission — exit 3, ``describe_os_error`` says which path and what to do),
and our own defects (exit 70, a crash report instead of a traceback, see ``crash.py``). pydantic's
findings are put into Chinese in one place, ``validation_message``.
"""

from __future__ import annotations

import errno
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pydantic is imported by what raises its errors; the app starts without it
    from pydantic import ValidationError


@dataclass(frozen=True)
class Problem:
    """One thing wrong at one place in one file; printed as ``FILE:LINE:COL: message``."""

    path: str
    message: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = self.path
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.message}"


class UserError(Exception):
    """A mistake in the user's input; ``problems`` lists every one found, ``hint`` says what to do."""

    def __init__(self, message: str, *, problems: list[Problem] | None = None, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.problems = list(problems or [])
        self.hint = hint

    def render(self) -> str:
        lines = [str(p) for p in self.problems]
        if not lines or self.message not in lines:
            lines.insert(0, self.message)
        if self.hint:
            lines.append(self.hint)
        return "\n".join(lines)


def file_error(path: str | Path, message: str, *, line: int | None = None, column: int | None = None,
               hint: str = "") -> UserError:
    """A ``UserError`` about a single place in one file."""
    problem = Problem(str(path), message, line, column)
    return UserError(str(problem), problems=[problem], hint=hint)


# --- exit codes ------------------------------------------------------------------------------------

EXIT_USER = 2  #: the input (a file, an argument) is wrong: the message says where and what
EXIT_ENVIRONMENT = 3  #: the machine refused: disk full, read-only media, no permission, missing path
EXIT_UNVERIFIABLE = 4  #: verify: the file lacks what a check needs (embedded data, QR code): not shown genuine, not shown forged
EXIT_BUG = 70  #: a defect of inspect-tui (EX_SOFTWARE): a crash report was written


# --- what the operating system refused ------------------------------------------------------------

_OS_REASONS: dict[int, tuple[str, str]] = {
    errno.ENOSPC: ("磁盘已满", "请腾出空间或换一个有空间的位置后重试。"),
    errno.EDQUOT: ("超出磁盘配额", "请腾出空间或换一个位置后重试。"),
    errno.EROFS: ("所在介质是只读的（如写保护的 U 盘、光盘）",
                  "请换一个可写的位置；只需查看会话时可用 inspect-tui --read-only 文件 打开。"),
    errno.EACCES: ("没有权限", "请检查文件和文件夹的权限，或换一个位置。"),
    errno.EPERM: ("操作不被允许", "请检查文件和文件夹的权限，或换一个位置。"),
    errno.ENOENT: ("文件或文件夹不存在", "请检查路径是否写对。"),
    errno.ENOTDIR: ("路径中有一段不是文件夹", "请检查路径是否写对。"),
    errno.EISDIR: ("这是一个文件夹，不是文件", "请给出文件的路径。"),
    errno.EEXIST: ("文件已存在", "请换一个文件名。"),
    errno.ENAMETOOLONG: ("文件名或路径太长", "请用短一些的名称或路径。"),
    errno.EIO: ("读写出错（介质可能已损坏或已拔出）", "请检查 U 盘或磁盘后重试。"),
    errno.EMFILE: ("打开的文件太多", "请关闭其他程序后重试。"),
    errno.EBUSY: ("文件或设备正忙", "请稍后重试。"),
    errno.ETXTBSY: ("文件正被使用", "请稍后重试。"),
}


def with_path(exc: OSError, path: str | Path) -> OSError:
    """``exc`` naming ``path`` when it names nothing (a failed ``os.write`` knows only its fd)."""
    if exc.filename is None:
        exc.filename = str(path)
    return exc


def os_reason(exc: OSError) -> str:
    """Why the machine refused, in a few Chinese words (the system's own words when unknown)."""
    known = _OS_REASONS.get(exc.errno or 0)
    return known[0] if known else (exc.strerror or str(exc))


def describe_os_error(exc: OSError) -> str:
    """What the machine refused, in words a user can act on: the path, the reason, what to do.

    Nothing was half-written when this is shown: every file the tool writes is written beside the
    target and renamed over it only when complete (``store.journal.write_atomic``), and appends are
    undone when they fail (``NotSavedError``)."""
    reason, hint = _OS_REASONS.get(exc.errno or 0, (os_reason(exc), "请检查该位置后重试。"))
    paths = [str(p) for p in (exc.filename, exc.filename2) if p is not None]
    where = " → ".join(paths) if paths else "（未知位置）"
    return f"{where}：{reason}。已有的文件没有被改动。{hint}"


# --- pydantic's findings in Chinese ----------------------------------------------------------------

#: Field names as users know them; a field not listed is shown by its name.
FIELD_LABELS = {
    "name": "名称", "group": "观摩小组", "inspector": "观摩员姓名", "date": "日期", "unit": "单位",
    "report_limit_minutes": "汇报限时（分钟）", "score": "评分", "note": "说明", "text": "内容",
    "branch": "支部", "item": "检查项", "step": "环节", "status": "判定", "files": "照片或附件",
    "evidence": "证据", "reason": "理由", "role": "角色", "answer": "回答", "question": "问题",
    "deadline": "整改时限", "owner": "责任人", "inspectors": "观摩员", "checklist": "检查清单",
}


def validation_message(err: Mapping[str, Any]) -> str:
    """One pydantic error (an item of ``ValidationError.errors()``) as a Chinese sentence.

    The single place pydantic's English is translated: everything that reports a validation
    failure to a user goes through here (``first_error``, the checklist loader)."""
    kind = str(err.get("type", ""))
    ctx: Mapping[str, Any] = err.get("ctx") or {}
    given = err.get("input")
    if kind == "missing":
        return "缺少此项（必填）"
    if kind == "extra_forbidden":
        return "未知的字段（检查拼写和缩进）"
    if kind == "string_too_short":
        return "不能为空" if ctx.get("min_length", 1) <= 1 else f"至少 {ctx['min_length']} 个字"
    if kind == "string_too_long":
        have = f"（现有 {len(given)} 个）" if isinstance(given, str) else ""
        return f"太长：最多 {ctx.get('max_length')} 个字{have}"
    if kind == "string_pattern_mismatch":
        return "含有不允许的字符"
    if kind in ("string_type", "str_type"):
        return "应为文本" + (f"（请加引号，如 \"{given}\"）" if isinstance(given, int | float) else "")
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"应为整数，而不是“{given}”"
    if kind in ("float_type", "float_parsing", "finite_number"):
        return f"应为数字，而不是“{given}”"
    if kind in ("bool_type", "bool_parsing"):
        return "应为 true 或 false"
    if kind.startswith(("date_", "datetime_")):
        return f"“{given}”不是有效日期（应为 YYYY-MM-DD）"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = {"greater_than_equal": ("ge", "不能小于"), "greater_than": ("gt", "应大于"),
                 "less_than_equal": ("le", "不能大于"), "less_than": ("lt", "应小于")}[kind]
        return f"{bound[1]} {ctx.get(bound[0])}"
    if kind in ("enum", "literal_error"):
        return f"“{given}”不是可选的值（可选：{str(ctx.get('expected', '')).replace(' or ', '、')}）"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "应为映射（“键: 值”的形式）"
    if kind in ("list_type", "tuple_type", "set_type"):
        return "应为列表（以“- ”开头的各行）"
    if kind == "too_short":
        return f"至少需要 {ctx.get('min_length', 1)} 项，现有 {ctx.get('actual_length', 0)} 项"
    if kind == "too_long":
        return f"最多 {ctx.get('max_length')} 项"
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error", err.get("msg", "")))
    return f"值无效（{kind}）"


def validation_place(loc: Sequence[int | str]) -> str:
    """A pydantic ``loc`` as users read it: known fields by their Chinese label."""
    parts = [f"第 {p + 1} 项" if isinstance(p, int) else FIELD_LABELS.get(str(p), str(p))
             for p in loc if p != "[key]"]
    return "·".join(parts)


def first_error(exc: ValidationError) -> str:
    """The first problem pydantic found, as ``字段：问题`` for a one-line report."""
    first = exc.errors()[0]
    place = validation_place(first["loc"])
    return f"{place}：{validation_message(first)}" if place else validation_message(first)

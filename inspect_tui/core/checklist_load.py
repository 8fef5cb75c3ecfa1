"""Reading checklist files: YAML text in, a validated ``Checklist`` out — or every mistake, placed.

Checklists are written by hand by Party-affairs cadres, often in a plain text editor. A message such
as "validation error" is useless to them; they need ``FILE:LINE:COL`` and the path inside the file.
So the text is composed once into PyYAML's node tree (which keeps source marks), constructed with
the safe loader, validated by pydantic, and each pydantic error's ``loc`` is walked back down the node
tree to the deepest node that exists. Duplicate keys, which PyYAML silently accepts (the later value
wins), are found on the node tree too, because a silently dropped item is worse than an error.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from inspect_tui.core.checklist import Checklist
from inspect_tui.core.yaml_input import MAX_DEPTH, TooDeep
from inspect_tui.core.yaml_input import compose as compose_yaml
from inspect_tui.core.yaml_input import load as load_yaml
from inspect_tui.errors import Problem, UserError, os_reason, validation_message

SHIPPED_DIR = Path(__file__).resolve().parent.parent / "checklists"
DEFAULT_CHECKLIST_ID = "party-branch-standard"
DEFAULT_CHECKLIST_PATH = SHIPPED_DIR / f"{DEFAULT_CHECKLIST_ID}.yaml"

Loc = tuple[int | str, ...]
M = TypeVar("M", bound=BaseModel)

# Model-level validators report at the model; these send the reader to the field that needs changing.
# Each entry: (pattern on the message, path relative to the model that raised it).
_FOCUS: tuple[tuple[re.Pattern[str], Loc], ...] = (
    (re.compile(r"^各检查项满分合计"), ("full_marks",)),
    (re.compile(r"^各方面满分合计"), ("full_marks",)),
    (re.compile(r"（ratings）"), ("ratings",)),
    (re.compile(r"（classes）"), ("classes",)),
    (re.compile(r"^“问”（ask）环节至少需要"), ("steps", "ask")),
    (re.compile(r"^访谈题（questions）只能放在“问”（ask）环节，不能放在 '(?P<step>\w+)'"),
     ("steps", "{step}", "questions")),
    (re.compile(r"^每个检查项都需要"), ("steps",)),
)
_DUPLICATE_ID = re.compile(r"^编号重复 '(?P<ident>[^']*)'")


def load_checklist(path: str | Path) -> Checklist:
    """Read and validate one checklist file; raise ``UserError`` listing every problem found."""
    checklist, problems = _load(Path(path))
    if checklist is None or problems:
        raise UserError(_summary(path, problems), problems=problems,
                        hint="修改清单文件后，可用 `inspect-tui checklist validate 文件` 复查。")
    return checklist


def validate_checklist_files(paths: Iterable[str | Path]) -> list[Problem]:
    """Check many files at once and return all their problems (empty when every file is good)."""
    problems: list[Problem] = []
    for path in paths:
        problems.extend(_load(Path(path))[1])
    return problems


def try_load_checklist(path: str | Path) -> tuple[Checklist | None, list[Problem]]:
    """Like ``load_checklist`` but returns the problems instead of raising, for reporting tools."""
    return _load(Path(path))


@functools.lru_cache(maxsize=1)
def load_default_checklist() -> Checklist:
    """The shipped standard checklist. Cached: checklists are immutable and read on every screen."""
    return load_checklist(DEFAULT_CHECKLIST_PATH)


def find_checklists() -> list[Path]:
    """The checklist files shipped inside the package, sorted by file name."""
    if not SHIPPED_DIR.is_dir():
        return []
    return sorted(p for p in SHIPPED_DIR.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def resolve_checklist(name_or_path: str | Path | None = None) -> Path:
    """Turn what the user typed into a checklist file: an existing file wins, else a shipped id.

    ``None`` or an empty string means the default checklist. Ids match a shipped file's stem, which by
    convention equals the ``id`` inside it.
    """
    if name_or_path is None or str(name_or_path).strip() == "":
        return DEFAULT_CHECKLIST_PATH
    candidate = Path(name_or_path)
    if candidate.is_file():
        return candidate
    shipped = {p.stem: p for p in find_checklists()}
    if str(name_or_path) in shipped:
        return shipped[str(name_or_path)]
    if candidate.exists():
        return candidate
    known = "、".join(sorted(shipped)) or "（无）"
    raise UserError(f"{name_or_path}: 找不到该清单文件，也不是内置清单的编号",
                    problems=[Problem(str(name_or_path), "找不到该清单文件，也不是内置清单的编号")],
                    hint=f"内置清单：{known}")


# --- internals ------------------------------------------------------------------------------------


def _summary(path: str | Path, problems: Sequence[Problem]) -> str:
    return f"{path}: 清单有 {len(problems)} 处问题" if problems else f"{path}: 清单无法读取"


def _load(path: Path) -> tuple[Checklist | None, list[Problem]]:
    return load_yaml_model(path, Checklist, "checklist")


def load_yaml_model(path: Path, model: type[M], what: str = "checklist") -> tuple[M | None, list[Problem]]:
    """Read a YAML file into a pydantic ``model``: the value, or every problem as FILE:LINE:COL."""
    name = str(path)
    text_or_problem = _read_text(path)
    if isinstance(text_or_problem, Problem):
        return None, [text_or_problem]
    text = text_or_problem
    try:
        root = compose_yaml(text)
    except yaml.YAMLError as exc:
        return None, [_yaml_problem(name, exc, text)]
    except TooDeep as exc:
        mark = exc.mark
        return None, [Problem(name, f"嵌套超过 {MAX_DEPTH} 层，不是检查清单", mark.line + 1 if mark else None,
                              mark.column + 1 if mark else None)]
    if root is None:
        return None, [Problem(name, f"文件是空的（应为由{what}各字段组成的映射）", 1, 1)]
    if not isinstance(root, yaml.MappingNode):
        kind = "列表" if isinstance(root, yaml.SequenceNode) else "单个值"
        return None, [_at(name, root, f"顶层应为映射（“键: 值”的各行），而不是{kind}")]
    problems = list(duplicate_keys(name, root))
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        return None, [*problems, _yaml_problem(name, exc, text)]
    try:
        value = model.model_validate(data)
    except ValidationError as exc:
        problems.extend(_validation_problem(name, root, err) for err in _root_causes(exc.errors()))
        return None, _sorted(problems)
    return (value if not problems else None), _sorted(problems)


def _read_text(path: Path) -> str | Problem:
    name = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Problem(name, "文件不存在")
    except IsADirectoryError:
        return Problem(name, "这是一个文件夹，不是清单文件")
    except OSError as exc:
        return Problem(name, f"无法读取：{os_reason(exc)}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = len(before) - (before.rfind(b"\n") + 1) + 1
        return Problem(name, f"不是 UTF-8 文本（字节 0x{raw[exc.start]:02x}）；请把文件另存为 UTF-8"
                             "（GBK/GB2312 文件须先转换）", line, column)
    return text.removeprefix("\ufeff")


def _yaml_problem(name: str, exc: yaml.YAMLError, text: str) -> Problem:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None)
    context = getattr(exc, "context", None)
    if problem:
        kind = "不支持的 YAML" if isinstance(exc, yaml.constructor.ConstructorError) else "YAML 语法错误"
        message = f"{kind}：" + "；".join(s for s in (problem, context) if s)
    else:
        message = f"YAML 错误：{exc}"
    if mark is None:
        return Problem(name, message)
    lines = text.splitlines()
    source_line = lines[mark.line] if mark.line < len(lines) else ""
    if "\t" in source_line[: len(source_line) - len(source_line.lstrip())] or "'\\t'" in message:
        message += "（缩进用了制表符 Tab；YAML 只能用空格缩进）"
    return Problem(name, message, mark.line + 1, mark.column + 1)


def _at(name: str, node: yaml.Node, message: str) -> Problem:
    return Problem(name, message, node.start_mark.line + 1, node.start_mark.column + 1)


def duplicate_keys(name: str, root: yaml.Node) -> Iterator[Problem]:
    """Every key given twice in one mapping (YAML keeps the last silently), at its place."""
    seen_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, str]] = [(root, "")]
    while stack:
        node, where = stack.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first: dict[tuple[str, str], yaml.Node] = {}
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    sig = (key.tag, key.value)
                    if sig in first:
                        line = first[sig].start_mark.line + 1
                        path = _join(where, key.value)
                        yield _at(name, key, f"{path}: 键 '{key.value}' 重复（首次出现在第 {line} 行）；"
                                             "YAML 会悄悄只保留最后一个")
                    else:
                        first[sig] = key
                    stack.append((value, _join(where, key.value)))
                else:
                    stack.append((value, where))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((child, f"{where}[{i}]") for i, child in enumerate(node.value))


def _join(where: str, key: Any) -> str:
    return f"{where}.{key}" if where else str(key)


def _format_loc(loc: Loc) -> str:
    out = ""
    for part in loc:
        if part == "[key]":
            continue
        out = f"{out}[{part}]" if isinstance(part, int) else _join(out, part)
    return out


def _child(node: yaml.Node, part: int | str) -> tuple[yaml.Node, yaml.Node | None] | None:
    """The (value, key) node for one loc element, or None when the file has no such entry."""
    if isinstance(node, yaml.MappingNode):
        for key, value in reversed(node.value):  # the last duplicate is the one that was kept
            if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                return value, key
    elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        return node.value[part], None
    return None


def _walk(root: yaml.Node, loc: Loc) -> tuple[yaml.Node, yaml.Node | None, int]:
    """Follow ``loc`` as far as the file allows: (deepest node, its key node, how many parts matched)."""
    node, key, depth = root, None, 0
    for part in loc:
        found = _child(node, part)
        if found is None:
            break
        node, key = found
        depth += 1
    return node, key, depth


def _focus(err: ErrorDetails) -> Loc:
    """The extra path under a model-level error's loc that names the field to change, if known."""
    if err["type"] != "value_error":
        return ()
    message = str(err.get("ctx", {}).get("error", err["msg"]))
    for pattern, sub in _FOCUS:
        match = pattern.search(message)
        if match:
            return tuple(p.format(**match.groupdict()) if isinstance(p, str) else p for p in sub)
    return ()


def _find_ids(node: yaml.Node, ident: str, where: str = "") -> list[tuple[yaml.Node, str]]:
    """Every ``id:`` value node equal to ``ident`` with its path, in file order (for duplicate ids)."""
    found: list[tuple[yaml.Node, str]] = []
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode):
                continue
            if key.value == "id" and isinstance(value, yaml.ScalarNode) and value.value == ident:
                found.append((value, _join(where, "id")))
            else:
                found.extend(_find_ids(value, ident, _join(where, key.value)))
    elif isinstance(node, yaml.SequenceNode):
        for index, child in enumerate(node.value):
            found.extend(_find_ids(child, ident, f"{where}[{index}]"))
    found.sort(key=lambda hit: (hit[0].start_mark.line, hit[0].start_mark.column))
    return found


def _message(err: ErrorDetails) -> str:
    """pydantic's finding in Chinese (``validation_message``), with what only a checklist has."""
    if err["type"] == "enum" and err["loc"] and err["loc"][-1] == "[key]":
        return f"未知的环节 '{err['input']}'（可选：{str(err.get('ctx', {}).get('expected', '')).replace(' or ', '、')}）"
    return validation_message(err)


def _root_causes(errors: list[ErrorDetails]) -> list[ErrorDetails]:
    """Drop pydantic's "too short" echoes: a list whose only entry is invalid is also reported as
    having too few entries, which would send the user to fix a problem that is not there."""
    def has_inner(loc: tuple[int | str, ...]) -> bool:
        return any(len(e["loc"]) > len(loc) and tuple(e["loc"][: len(loc)]) == loc for e in errors)

    return [e for e in errors if not (e["type"] == "too_short" and has_inner(tuple(e["loc"])))]


def _validation_problem(name: str, root: yaml.Node, err: ErrorDetails) -> Problem:
    """Place one pydantic error: at the deepest node of its ``loc`` that the file has.

    Keys are preferred to their block values (``steps:`` rather than the first line under it) and
    unknown keys are reported at the key itself; model-level errors move to the field they concern.
    """
    loc: Loc = tuple(err["loc"])
    is_key_error = bool(loc) and loc[-1] == "[key]"
    walk_loc = loc[:-1] if is_key_error else loc
    node, key, depth = _walk(root, walk_loc)
    path = _format_loc(loc)
    message = _message(err)
    if depth == len(walk_loc) and err["type"] == "value_error":
        dup = _DUPLICATE_ID.search(message)
        if dup:
            ids = _find_ids(node, dup["ident"], path)
            if len(ids) > 1:
                second, second_path = ids[1]
                return _at(name, second, f"{second_path}: {message}")
        focus = _focus(err)
        if focus:
            deeper, deeper_key, matched = _walk(node, focus)
            if matched:
                node, key = deeper, deeper_key
                path = _format_loc(loc + focus[:matched])
    if key is not None and (is_key_error or err["type"] == "extra_forbidden"
                            or isinstance(node, yaml.MappingNode | yaml.SequenceNode)):
        node = key
    prefix = f"{path}: " if path else ""
    return _at(name, node, prefix + message)


def _sorted(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.line or 0, p.column or 0))

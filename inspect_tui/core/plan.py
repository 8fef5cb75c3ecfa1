"""Visit plans: the list of branches (and optionally group, date, inspectors) a visit covers.

A group leader usually has the plan as a spreadsheet or a short YAML file. Both are accepted:

* CSV with a header row containing 支部 / 支部名称 / branch / name (and optionally 单位 / unit and
  书记 / 支部书记 / secretary — the secretary's name, so a notice can name the person responsible);
* YAML with ``branches:`` (a list of names or of ``{name, unit, secretary}``) and optional ``group``,
  ``date``, ``inspectors``.

Errors name the file and the row or line, like every other file the tool reads.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from inspect_tui.core.meta import has_control_chars
from inspect_tui.core.yaml_input import MAX_DEPTH, TooDeep
from inspect_tui.core.yaml_input import load as load_yaml
from inspect_tui.errors import Problem, UserError, file_error, os_reason

NAME_HEADERS = ("支部", "支部名称", "被观摩支部", "branch", "name")
UNIT_HEADERS = ("单位", "所属单位", "unit")
SECRETARY_HEADERS = ("书记", "支部书记", "secretary")


@dataclass(frozen=True)
class PlannedBranch:
    name: str
    unit: str = ""
    secretary: str = ""


@dataclass(frozen=True)
class VisitPlan:
    branches: list[PlannedBranch]
    group: str | None = None
    date: date | None = None
    inspectors: list[str] = field(default_factory=list)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise file_error(path, "文件不存在") from None
    except UnicodeDecodeError as exc:
        raise file_error(path, f"不是 UTF-8 编码的文本（第 {exc.start} 字节处）",
                         hint="请用 UTF-8 另存该文件（Excel：另存为“CSV UTF-8”）。") from None
    except OSError as exc:
        raise file_error(path, f"无法读取：{os_reason(exc)}") from None
    except ValueError:  # a NUL in the path (pasted into the app's form)
        raise UserError(f"{str(path)!r}：路径中含有 NUL 字符，不是有效的文件路径") from None


def load_plan(path: str | Path) -> VisitPlan:
    p = Path(path)
    text = _read_text(p)
    plan = _load_csv(p, text) if p.suffix.lower() in (".csv", ".txt") else _load_yaml(p, text)
    names = [b.name for b in plan.branches]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise file_error(p, f"支部名称重复：{'、'.join(dupes)}")
    if not plan.branches:
        raise file_error(p, "计划中没有任何支部")
    return plan


def _load_csv(path: Path, text: str) -> VisitPlan:
    reader = csv.reader(io.StringIO(text), strict=True)
    numbered: list[tuple[int, list[str]]] = []
    try:
        for row in reader:
            numbered.append((reader.line_num, row))
    except csv.Error as exc:
        why = "引号没有配对（有一个引号没有结束）" if "end of data" in str(exc) or "EOF" in str(exc) else str(exc)
        raise file_error(path, f"CSV 格式错误：{why}", line=reader.line_num) from None
    if not numbered:
        raise file_error(path, "文件为空")
    header = [h.strip().lower() for h in numbered[0][1]]
    for names, what in ((NAME_HEADERS, "支部名称"), (UNIT_HEADERS, "单位"), (SECRETARY_HEADERS, "书记")):
        found = [h for h in header if h in names]
        if len(found) > 1:
            raise file_error(path, f"表头中有 {len(found)} 个{what}列（{'、'.join(found)}），不知该用哪一列", line=1)
    name_col = next((header.index(h) for h in NAME_HEADERS if h in header), None)
    if name_col is None:
        raise file_error(path, f"第一行应为表头，且包含以下列名之一：{'、'.join(NAME_HEADERS)}", line=1)
    unit_col = next((header.index(h) for h in UNIT_HEADERS if h in header), None)
    sec_col = next((header.index(h) for h in SECRETARY_HEADERS if h in header), None)
    branches, problems = [], []
    for n, row in numbered[1:]:
        if not any(c.strip() for c in row):
            continue
        name = row[name_col].strip() if name_col < len(row) else ""
        if not name:
            problems.append(Problem(str(path), "支部名称为空", n))
            continue
        unit = row[unit_col].strip() if unit_col is not None and unit_col < len(row) else ""
        secretary = row[sec_col].strip() if sec_col is not None and sec_col < len(row) else ""
        if has_control_chars(name, unit, secretary):
            problems.append(Problem(str(path), "支部名称、单位或书记姓名含有控制字符或不可见字符"
                                                "（如 NUL、换行、制表符、从右到左覆盖），请删去", n))
            continue
        branches.append(PlannedBranch(name, unit, secretary))
    if problems:
        raise UserError(f"{path}: 访问计划有 {len(problems)} 处错误", problems=problems)
    return VisitPlan(branches)


def _load_yaml(path: Path, text: str) -> VisitPlan:
    try:
        data: Any = load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise file_error(path, f"YAML 格式错误：{getattr(exc, 'problem', exc)}",
                         line=mark.line + 1 if mark else None, column=mark.column + 1 if mark else None) from None
    except TooDeep as exc:
        raise file_error(path, f"嵌套超过 {MAX_DEPTH} 层，不是访问计划", line=exc.mark.line + 1 if exc.mark else None,
                         column=exc.mark.column + 1 if exc.mark else None) from None
    if not isinstance(data, dict) or not isinstance(data.get("branches"), list):
        raise file_error(path, "应为一个包含 branches:（支部列表）的 YAML 映射")
    from inspect_tui.core.checklist_load import duplicate_keys  # only a YAML plan needs the node tree
    from inspect_tui.core.yaml_input import compose

    twice = list(duplicate_keys(str(path), compose(text)))
    if twice:
        raise UserError(f"{path}: 访问计划有 {len(twice)} 处错误", problems=twice)
    branches = []
    for n, entry in enumerate(data["branches"]):
        if isinstance(entry, str) and entry.strip():
            branches.append(PlannedBranch(entry.strip()))
        elif isinstance(entry, dict) and isinstance(entry.get("name"), str) and entry["name"].strip():
            branches.append(PlannedBranch(entry["name"].strip(), str(entry.get("unit") or "").strip(),
                                          str(entry.get("secretary") or "").strip()))
        else:
            raise file_error(path, f"branches[{n}]：应为支部名称，或包含 name 的映射")
        if has_control_chars(branches[-1].name, branches[-1].unit, branches[-1].secretary):
            raise file_error(path, f"branches[{n}]：支部名称、单位或书记姓名含有控制字符或不可见字符"
                                   "（如 NUL、换行、制表符、从右到左覆盖），请删去")
    day = data.get("date")
    if day is not None:
        try:
            day = date.fromisoformat(str(day))
        except ValueError:
            raise file_error(path, f"date：“{day}”不是 YYYY-MM-DD 格式的有效日期") from None
    inspectors = data.get("inspectors") or []
    if not isinstance(inspectors, list) or not all(isinstance(i, str) for i in inspectors):
        raise file_error(path, "inspectors：应为姓名列表")
    group = data.get("group")
    return VisitPlan(branches, str(group) if group else None, day, inspectors)

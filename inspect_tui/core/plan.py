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

from inspect_tui.core.yaml_input import MAX_DEPTH, too_deep
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
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise file_error(path, "文件为空")
    header = [h.strip().lower() for h in rows[0]]
    name_col = next((header.index(h) for h in NAME_HEADERS if h in header), None)
    if name_col is None:
        raise file_error(path, f"第一行应为表头，且包含以下列名之一：{'、'.join(NAME_HEADERS)}", line=1)
    unit_col = next((header.index(h) for h in UNIT_HEADERS if h in header), None)
    sec_col = next((header.index(h) for h in SECRETARY_HEADERS if h in header), None)
    branches, problems = [], []
    for n, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        name = row[name_col].strip() if name_col < len(row) else ""
        if not name:
            problems.append(Problem(str(path), "支部名称为空", n))
            continue
        unit = row[unit_col].strip() if unit_col is not None and unit_col < len(row) else ""
        secretary = row[sec_col].strip() if sec_col is not None and sec_col < len(row) else ""
        branches.append(PlannedBranch(name, unit, secretary))
    if problems:
        raise UserError(f"{path}: 访问计划有 {len(problems)} 处错误", problems=problems)
    return VisitPlan(branches)


def _load_yaml(path: Path, text: str) -> VisitPlan:
    try:
        deep = too_deep(text)
        data: Any = load_yaml(text) if deep is None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise file_error(path, f"YAML 格式错误：{getattr(exc, 'problem', exc)}",
                         line=mark.line + 1 if mark else None, column=mark.column + 1 if mark else None) from None
    if deep is not None:
        raise file_error(path, f"嵌套超过 {MAX_DEPTH} 层，不是访问计划", line=deep.line + 1, column=deep.column + 1)
    if not isinstance(data, dict) or not isinstance(data.get("branches"), list):
        raise file_error(path, "应为一个包含 branches:（支部列表）的 YAML 映射")
    branches = []
    for n, entry in enumerate(data["branches"]):
        if isinstance(entry, str) and entry.strip():
            branches.append(PlannedBranch(entry.strip()))
        elif isinstance(entry, dict) and isinstance(entry.get("name"), str) and entry["name"].strip():
            branches.append(PlannedBranch(entry["name"].strip(), str(entry.get("unit") or "").strip(),
                                          str(entry.get("secretary") or "").strip()))
        else:
            raise file_error(path, f"branches[{n}]：应为支部名称，或包含 name 的映射")
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

"""Spreadsheets (台账) an organisation department can filter, sort and forward: xlsx and CSV.

A sheet is declared as columns (header, width, kind) and rows of plain values; this module alone
decides how they are stored:

* **xlsx** through openpyxl in write-only mode (rows stream to the file, so a province-wide rollup
  does not hold a million cell objects): Chinese headers in a frozen first row, filters on, column
  widths set, numbers as numbers, rates as numbers with a percent format, dates as real dates. Text
  is always stored as text — openpyxl would otherwise take a value starting with ``=`` for a formula.
* **CSV** in UTF-8 with a BOM (what Excel on Windows needs to read Chinese correctly). Text that a
  spreadsheet could evaluate (starting with ``= + - @``, tab or carriage return) gets a leading
  apostrophe, the usual defence against CSV formula injection; numbers are left as numbers.

Files are written to a temporary name beside the target and renamed into place, so a crash never
leaves half a workbook under the real name.
"""

from __future__ import annotations

import contextlib
import csv
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from inspect_tui.export.printable import neutralise as as_printed
from inspect_tui.store.journal import temp_beside

TEXT, INT, NUMBER, PERCENT, DATE = "text", "int", "number", "percent", "date"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MAX_CELL = 32767  # characters Excel keeps in one cell
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_FORMATS = {INT: "0", NUMBER: "0.##", PERCENT: "0.0%", DATE: "yyyy-mm-dd"}


@dataclass(frozen=True)
class Column:
    header: str
    width: float = 12
    kind: str = TEXT


@dataclass
class Sheet:
    title: str
    columns: list[Column]
    rows: list[list[Any]] = field(default_factory=list)
    chart: tuple[int, int] | None = None  # (category column, value column), 1-based: a native bar chart


def neutralise(value: Any) -> Any:
    """A CSV cell that no spreadsheet evaluates, its text as it prints (``printable.neutralise``):
    formula-looking text gets a leading apostrophe."""
    if isinstance(value, str):
        value = as_printed(value)
        if value.startswith(FORMULA_START):
            return "'" + value
    return value


def _cell_value(value: Any, kind: str) -> Any:
    if value is None or value == "":
        return None
    if isinstance(value, str):  # as it prints: a bidi override must not make a cell read otherwise than the PDF
        value = _ILLEGAL.sub("\ufffd", as_printed(value))  # control characters are not allowed in xlsx XML
        if len(value) > MAX_CELL:
            value = value[:MAX_CELL - 1] + "…"
    if kind == DATE and isinstance(value, str):
        return date.fromisoformat(value)
    if kind in (INT, NUMBER, PERCENT) and not isinstance(value, int | float):
        return str(value)
    return value


def write_xlsx(path: Path, sheets: Sequence[Sheet]) -> None:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook(write_only=True)
    head_font, head_fill = Font(bold=True), PatternFill("solid", fgColor="DDE4EE")
    wrap = Alignment(vertical="top", wrap_text=True)
    for sheet in sheets:
        ws = wb.create_sheet(sheet.title[:31])
        for k, col in enumerate(sheet.columns, 1):
            ws.column_dimensions[get_column_letter(k)].width = col.width
        ws.freeze_panes = "A2"
        last = get_column_letter(len(sheet.columns))
        ws.auto_filter.ref = f"A1:{last}{len(sheet.rows) + 1}"
        header = []
        for col in sheet.columns:
            c = WriteOnlyCell(ws, value=col.header)
            c.font, c.fill, c.data_type = head_font, head_fill, "s"
            header.append(c)
        ws.append(header)
        styled = [col.kind in (PERCENT, DATE) for col in sheet.columns]
        for row in sheet.rows:
            ws.append([_cell(ws, _cell_value(raw, col.kind), col.kind, wrap) if fmt or isinstance(raw, str) else
                       _cell_value(raw, col.kind) for col, raw, fmt in zip(sheet.columns, row, styled, strict=True)])
        if sheet.chart and sheet.rows:
            ws.add_chart(_bar_chart(ws, sheet), f"{get_column_letter(len(sheet.columns) + 2)}2")
    _atomic(path, wb.save)


def _cell(ws: Any, value: Any, kind: str, wrap: Any) -> Any:
    """A plain value where openpyxl stores it right by itself (numbers, short text that cannot be
    taken for a formula): building a styled cell object costs several times more, which counts in a
    province-wide ledger; a cell object where the type or format must be set."""
    from openpyxl.cell import WriteOnlyCell

    if isinstance(value, str):
        if not value.startswith("=") and len(value) <= 30:
            return value
        c = WriteOnlyCell(ws, value=value)
        c.data_type = "s"  # never a formula, whatever it starts with
        if len(value) > 30:
            c.alignment = wrap
        return c
    if value is None:
        return None
    c = WriteOnlyCell(ws, value=value)
    c.number_format = _FORMATS[kind]
    return c


def _bar_chart(ws: Any, sheet: Sheet) -> Any:
    from openpyxl.chart import BarChart, Reference

    cat, val = sheet.chart
    n = len(sheet.rows) + 1
    chart = BarChart()
    chart.type, chart.title, chart.legend = "bar", sheet.columns[val - 1].header, None
    chart.y_axis.title = sheet.columns[val - 1].header
    chart.add_data(Reference(ws, min_col=val, min_row=1, max_row=n), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=cat, min_row=2, max_row=n))
    chart.x_axis.scaling.orientation = "maxMin"  # first row at the top, like the sheet
    chart.height, chart.width = max(7.5, 0.45 * len(sheet.rows)), 16
    return chart


def write_csv(folder: Path, sheets: Iterable[Sheet], stem: str) -> list[Path]:
    """One ``<stem>-<sheet>.csv`` per sheet, UTF-8 with BOM, formula-looking text neutralised."""
    paths = []
    for sheet in sheets:
        path = folder / f"{stem}-{sheet.title}.csv"

        def write(target: str, sheet: Sheet = sheet) -> None:
            with open(target, "w", encoding="utf-8-sig", newline="") as fh:
                w = csv.writer(fh)
                w.writerow([neutralise(c.header) for c in sheet.columns])
                for row in sheet.rows:
                    w.writerow(["" if v is None else neutralise(v) for v in row])

        _atomic(path, write)
        paths.append(path)
    return paths


def _atomic(path: Path, write: Any) -> None:
    """Written beside ``path`` and renamed over it when complete; a refusal names ``path`` (a
    full disk inside the zip writer knows no file name)."""
    try:
        fd, tmp = temp_beside(path)
    except OSError as exc:
        exc.filename = str(path)
        raise
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            exc.filename = str(path)
        raise

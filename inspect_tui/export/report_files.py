"""Writing a report's files: the one function behind ``inspect-tui report …`` and the app's key.

Everything is computed and rendered in memory first — facts, report, PDF bytes, sheets — and only
then written, each file atomically: a refused input (a damaged file, mixed checklists, unsettled
disagreements without ``draft``) leaves the output folder exactly as it was.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import tempfile
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inspect_tui.core.common_problems import DEFAULT_SHARE
from inspect_tui.core.report import GroupReport, build_group_report
from inspect_tui.core.rollup import Rollup, build_rollup
from inspect_tui.errors import UserError, file_error, with_path
from inspect_tui.export.report_pdf import render_report_pdf
from inspect_tui.export.report_sheets import group_sheets
from inspect_tui.export.workbook import Sheet, write_csv, write_xlsx
from inspect_tui.store.journal import replace_file

if TYPE_CHECKING:
    from inspect_tui.store.report_inputs import Unsealed

REPORT_PDF = "交叉观摩情况汇总报告.pdf"
WORKBOOK = "汇总.xlsx"
ROLLUP_PDF = "交叉观摩情况汇总报告（多组汇总）.pdf"
ROLLUP_WORKBOOK = "汇总（多组）.xlsx"


def refuse_unsettled(unsettled: Sequence[tuple[str, str]], draft: bool) -> None:
    if unsettled and not draft:
        shown = "；".join(f"{b} · {w}" for b, w in unsettled[:8]) + ("……" if len(unsettled) > 8 else "")
        raise UserError(f"还有 {len(unsettled)} 处分歧未裁定，排名只是暂定，不能出正式报告：{shown}",
                        hint="请先裁定分歧（inspect-tui disagreements / settle），或加 --draft 生成征求意见稿。")


def prepare_output(outdir: Path) -> None:
    if outdir.exists() and not outdir.is_dir():
        raise file_error(outdir, "输出位置已存在且不是文件夹")
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # the machine's refusal: exit 3
        raise with_path(exc, outdir) from None




def _render_and_write(outdir: Path, pdf_name: str, render_pdf: Callable[[], bytes], book_name: str,
                      sheets: list[Sheet] | SheetsMaker, csv: bool) -> list[Path]:
    """Render the PDF while another process builds the workbook (both are CPU-bound pure Python;
    on two cores the slower one sets the time), then put both in place. The workbook goes to a
    temporary folder first, so a PDF that fails to render leaves the output folder untouched.
    ``sheets`` may be a ``SheetsMaker``: the sheets are then made in the helper too."""
    try:
        with tempfile.TemporaryDirectory(prefix="inspect-tui-report-") as tmp:
            book_tmp = Path(tmp) / "book.xlsx"
            with _side_process() as pool:
                pending = pool.submit(_write_book, book_tmp, sheets, csv) if pool else None
                pdf = render_pdf()
                try:
                    if pending is None:
                        raise BrokenProcessPool
                    made = pending.result()
                except BrokenProcessPool:  # no helper, or it died: write the workbook here
                    made = _write_book(book_tmp, sheets, csv)
            if isinstance(made, str):
                raise UserError(made)
            prepare_output(outdir)
            replace_file(outdir / pdf_name, pdf)
            replace_file(outdir / book_name, book_tmp.read_bytes())
            written = [outdir / pdf_name, outdir / book_name]
            if csv:
                written += write_csv(outdir, made, Path(book_name).stem)
    except OSError as exc:  # the machine's refusal (disk full, read-only): exit 3, saying which folder
        raise with_path(exc, outdir) from None
    return written


def _write_book(path: Path, sheets: list[Sheet] | SheetsMaker, csv: bool) -> list[Sheet] | str | None:
    """The workbook at ``path`` (in the helper); returns the sheets when the CSV files need them
    too, or why they could not be made (a message: a worker's exception would reach the user as a
    traceback)."""
    if not isinstance(sheets, list):
        try:
            sheets = sheets()
        except UserError as exc:
            return exc.render()
    write_xlsx(path, sheets)
    return sheets if csv else None


@contextlib.contextmanager
def _side_process():
    """One forked helper process — only from a single-threaded program (the CLI): forking a program
    with threads (the app) can copy a held lock, so there the workbook is written in line."""
    if threading.active_count() > 1 or "fork" not in multiprocessing.get_all_start_methods():
        yield None
        return
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        yield pool


def group_report(sessions: Sequence[Any], *, share: Fraction = DEFAULT_SHARE, next_steps: str = "") -> GroupReport:
    """The report of open sessions (``store.session.Session``), facts computed from their records."""
    from inspect_tui.store.report_inputs import facts_of

    if not sessions:
        raise UserError("没有给出会话文件")
    return build_group_report(sessions[0].checklist, [facts_of(s) for s in sessions], share=share,
                              next_steps=next_steps)


@dataclass
class PreparedReport:
    """Everything read from the sessions; rendering and writing need nothing else (so the app can
    do those in a worker thread while the inspector goes on editing) — unless ``sheets`` is a
    ``SheetsMaker`` (the CLI), which reads the unchanged session files in the helper process."""

    report: GroupReport
    sheets: list[Sheet] | SheetsMaker
    draft: bool
    unsealed: list[str] = field(default_factory=list)  # inputs accepted though not closed cleanly


def prepare_group_report(sessions: Sequence[Any], *, draft: bool = False, share: Fraction = DEFAULT_SHARE,
                         next_steps: str = "") -> PreparedReport:
    report = group_report(sessions, share=share, next_steps=next_steps)
    refuse_unsettled(report.unsettled, draft)
    return PreparedReport(report, group_sheets(report, sessions), draft)


def write_prepared(prepared: PreparedReport, outdir: Path, *, csv: bool = False,
                   template_dir: str | Path | None = None) -> list[Path]:
    def pdf() -> bytes:
        return render_report_pdf(prepared.report, draft=prepared.draft, template_dir=template_dir,
                                 unsealed=prepared.unsealed)

    return _render_and_write(outdir, REPORT_PDF, pdf, WORKBOOK, prepared.sheets, csv)


@dataclass
class SheetsMaker:
    """The group workbook's sheets, made from the session files themselves — in the helper process
    while the PDF renders. The sessions must still be the bytes the report's facts were taken from
    (``hashes``), or the workbook could disagree with the PDF."""

    report: GroupReport
    paths: list[Path]
    hashes: list[str]

    def __call__(self) -> list[Sheet]:
        from inspect_tui.store.journal import paused_gc
        from inspect_tui.store.report_inputs import file_hashes, open_sessions

        with paused_gc():
            sessions = open_sessions(self.paths)
        try:
            changed = [str(p) for p, was, now in zip(self.paths, self.hashes, file_hashes(self.paths), strict=True)
                       if was != now]
            if changed:
                raise UserError(f"会话文件在生成报告时被修改，未写入任何文件：{'、'.join(changed)}",
                                hint="等保存完成后重新生成报告。")
            return group_sheets(self.report, sessions)
        finally:
            for s in sessions:
                s.close()


def write_group_report(paths: Sequence[Path], outdir: Path, *, draft: bool = False, csv: bool = False,
                       share: Fraction = DEFAULT_SHARE, next_steps: str = "", cache: Path | None = None,
                       template_dir: str | Path | None = None, unsealed: Unsealed | None = None) -> list[Path]:
    """One group's report from its session files (the CLI). The report's facts come from the
    sessions' digests (``store.report_digest``; a session without one is parsed and gets one), so
    the PDF starts rendering at once while the helper process reads the whole sessions for the
    workbook's interviews and rectification items — the same files ``prepare_group_report`` and
    ``write_prepared`` make from open sessions (the app), ~0.4 s sooner. Every file is judged
    first (``store.report_inputs``): damaged or torn ones are refused, ones not closed cleanly too
    unless ``unsealed`` accepts them."""
    prepared = prepare_group_files(paths, draft=draft, share=share, next_steps=next_steps, cache=cache,
                                   unsealed=unsealed)
    return write_prepared(prepared, outdir, csv=csv, template_dir=template_dir)


def prepare_group_files(paths: Sequence[Path], *, draft: bool = False, share: Fraction = DEFAULT_SHARE,
                        next_steps: str = "", cache: Path | None = None,
                        unsealed: Unsealed | None = None) -> PreparedReport:
    from inspect_tui.store.report_inputs import Unsealed, hashed_digests

    if not paths:
        raise UserError("没有给出会话文件")
    unsealed = unsealed or Unsealed()
    facts, checklists, hashes = hashed_digests(paths, cache=cache, workers=1, unsealed=unsealed)
    report = build_group_report(checklists[facts[0].checklist[2]], facts, share=share, next_steps=next_steps)
    refuse_unsettled(report.unsettled, draft)
    return PreparedReport(report, SheetsMaker(report, [Path(p) for p in paths], hashes), draft, unsealed.accepted)


def write_rollup(paths: Sequence[Path], outdir: Path, *, draft: bool = False, csv: bool = False,
                 share: Fraction = DEFAULT_SHARE, cache: Path | None = None, workers: int | None = None,
                 template_dir: str | Path | None = None, progress: Callable[[int, int], None] | None = None,
                 unsealed: Unsealed | None = None) -> tuple[list[Path], Rollup]:
    from inspect_tui.export.rollup_export import render_rollup_pdf, rollup_sheets
    from inspect_tui.store.report_inputs import Unsealed, load_digests

    unsealed = unsealed or Unsealed()
    facts, checklists = load_digests(paths, cache=cache, workers=workers, progress=progress, unsealed=unsealed)
    rollup = build_rollup(facts, checklists, share=share)
    unsettled = [(b.name, u) for s in facts for b in s.branches for u in b.unsettled]
    refuse_unsettled(unsettled, draft)
    sheets = rollup_sheets(rollup)

    def pdf() -> bytes:
        return render_rollup_pdf(rollup, draft=draft, template_dir=template_dir, unsealed=unsealed.accepted)

    return _render_and_write(outdir, ROLLUP_PDF, pdf, ROLLUP_WORKBOOK, sheets, csv), rollup

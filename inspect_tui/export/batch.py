"""Export many documents at once: view-models in this process, rendering in a process pool.

Why processes: WeasyPrint's layout is pure Python and Pango/fontconfig are not thread-safe, so
threads would serialise on the GIL and a lock. The pool is started with ``forkserver`` where the
platform has it (``spawn`` elsewhere) with WeasyPrint preloaded, so workers start fast *and* it is
safe to call from a program that already runs threads (the TUI). Each worker warms its font cache
once by rendering a one-line Chinese page, then renders its share of the documents.

The main process opens the session once, computes every number (``documents``), and ships plain
view-models to the workers; workers never touch the session file. A ``progress(done, total,
result)`` callback is called in the calling thread after each document. A failed document is a
result with an ``error`` message; the others still export.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inspect_tui.core.naming import output_name, unique_names
from inspect_tui.errors import UserError, describe_os_error, with_path
from inspect_tui.export.documents import FEEDBACK, KIND_LABELS, NOTICE, FeedbackVM, build_feedback
from inspect_tui.export.issuer import (
    Issuer,
    assign_numbers,
    assigned_number,
    issued_record,
    keep_content,
    renumber,
)
from inspect_tui.export.notice import NoticeVM, build_notice, changed_since_issue, content_hash
from inspect_tui.export.review import BranchReview, branch_review
from inspect_tui.store.journal import replace_file

KINDS = (FEEDBACK, NOTICE)


@dataclass
class ExportTask:
    kind: str
    branch_id: str
    branch_name: str
    filename: str
    vm: FeedbackVM | NoticeVM


@dataclass
class ExportResult:
    kind: str
    branch_id: str
    branch_name: str
    path: str | None = None
    seconds: float = 0.0
    error: str | None = None
    note: str | None = None  # e.g. "no problems: no notice"
    warnings: list[str] = field(default_factory=list)  # exported, but: placeholders, photos not printed

    @property
    def ok(self) -> bool:
        return self.error is None and self.path is not None


@dataclass
class ExportSummary:
    results: list[ExportResult] = field(default_factory=list)
    skipped: list[ExportResult] = field(default_factory=list)
    seconds: float = 0.0
    workers: int = 1
    reviews: list[BranchReview] = field(default_factory=list)  # what the leader must see, per branch

    @property
    def files(self) -> list[str]:
        return [r.path for r in self.results if r.ok and r.path]

    @property
    def errors(self) -> list[ExportResult]:
        return [r for r in self.results if r.error]

    @property
    def refused(self) -> list[ExportResult]:
        """Issued documents not made (unsettled disagreements, notice gaps)."""
        return [r for r in self.skipped if r.error]

    @property
    def warnings(self) -> list[str]:
        """Each warning of each exported document, prefixed with its branch."""
        return [f"{r.branch_name}：{w}" for r in self.results for w in r.warnings]


Progress = Callable[[int, int, ExportResult], None]


def select_branches(session, wanted: Sequence[str] | None):
    """Branches by id, 1-based position or name — the rule ``settle`` uses (``find_branch``) — all
    when ``wanted`` is empty; unknown ones are a ``UserError``."""
    from inspect_tui.core.disagreements import find_branch

    branches = session.branches()
    if not wanted:
        return branches
    chosen: dict[str, Any] = {}
    missing = []
    for w in wanted:
        try:
            b = find_branch(session.index, w)
        except UserError:
            missing.append(w)
            continue
        chosen.setdefault(b.id, b)
    if missing:
        known = "、".join(b.data["name"] for b in branches[:12]) + ("……" if len(branches) > 12 else "")
        raise UserError(f"会话中没有这些支部：{'、'.join(missing)}", hint=f"已有支部：{known}")
    return list(chosen.values())


def plan_export(session, kinds: Iterable[str] = KINDS, branches: Sequence[str] | None = None, *,
                issuer: Issuer | None = None, seal: bytes | None = None, draft: bool = False,
                reissue: bool = False) -> tuple[list[ExportTask], list[ExportResult], list[BranchReview]]:
    """The documents to render (view-models built here) and the ones not rendered, with the reason:
    skipped (nothing to notify) or refused (an issued document while the branch has unsettled
    disagreements or notice gaps — a draft is never refused). Issued documents get their 发文字号
    here, saved to the session before anything is rendered (the session must be writable).

    A notice issued before keeps its number only while it demands the same: once its demands
    changed it is refused — one number, one content — unless ``reissue``: then it gets a new number
    and the old one is recorded as replaced."""
    kinds = [k for k in KINDS if k in set(kinds)]
    issuer = issuer or Issuer()
    chosen = select_branches(session, branches)
    plans: list[tuple[Any, BranchReview, str]] = []
    skipped: list[ExportResult] = []
    reviews = []
    for b in chosen:
        review = branch_review(session, b)
        reviews.append(review)
        for kind in kinds:
            name = b.data["name"]
            if kind == NOTICE and not review.has_findings:
                skipped.append(ExportResult(NOTICE, b.id, name, note="未发现问题，无需整改通知书"))
                continue
            blockers = [] if draft else review.blockers(kind)
            if blockers:
                skipped.append(ExportResult(kind, b.id, name, error="不能正式签发：" + "；".join(blockers)
                                            + "（详见上方清单）。可先导出征求意见稿（--draft）。"))
                continue
            plans.append((b, review, kind))
    numbers: dict[tuple[str, str], str] = {}
    if not draft and plans:
        numbers = assign_numbers(session, issuer, [(b.id, k) for b, _, k in plans], session.meta.date)
    tasks: list[ExportTask] = []
    for b, review, kind in plans:
        records = session.records(b.id)
        name = b.data["name"]
        number = numbers.get((b.id, kind)) or (None if draft else assigned_number(records, b.id, kind))
        if kind == FEEDBACK:
            vm: FeedbackVM | NoticeVM = build_feedback(
                meta=session.meta, checklist=session.checklist, branch=b, records=records,
                result=review.result, session_path=Path(session.path), number=number, issuer=issuer,
                seal=seal, draft=draft)
        else:
            vm = build_notice(meta=session.meta, checklist=session.checklist, branch=b, records=records,
                              number=number, issuer=issuer, seal=seal, draft=draft)
            issued = None if draft else issued_record(records, b.id, NOTICE)
            if issued is not None and changed_since_issue(issued, vm.data):
                if not reissue:
                    skipped.append(ExportResult(kind, b.id, name, error=(
                        f"整改通知书已以 {number} 签发，此后整改事项有改动：同一文号不能印出不同的内容。"
                        f"如需按现有记录重新签发，选“重新签发”（命令行加 --reissue）：取新文号，{number} 记为已被取代。")))
                    continue
                number = renumber(session, issuer, issued, content_hash(vm.data), session.meta.date)
                vm = build_notice(meta=session.meta, checklist=session.checklist, branch=b, records=records,
                                  number=number, issuer=issuer, seal=seal, draft=draft)
            elif issued is not None and issued.data.get("content") is None:  # its first issue: what it says
                keep_content(session, issued, content_hash(vm.data))
        label = KIND_LABELS[kind] + ("-征求意见稿" if draft else "")
        tasks.append(ExportTask(kind, b.id, name, output_name(label, name), vm))
    for task, unique in zip(tasks, unique_names(t.filename for t in tasks), strict=True):
        task.filename = unique
    return tasks, skipped, reviews


# --- workers ------------------------------------------------------------------------------------

_WORKER: dict = {}


def _init_worker(template_dir: str | None, family: str, key: bytes | None = None) -> None:
    _WORKER.update(template_dir=template_dir, family=family, key=key)
    from inspect_tui.export.render import write_pdf

    # Warm fontconfig/Pango and the font face cache: the first render in a process is ~2x slower.
    # A failing warm-up shows up again, with its message, on the real work.
    with contextlib.suppress(Exception):
        write_pdf("<p>党支部标准化规范化建设 第 1 页 共 1 页</p>", font_family=family, template_dir=template_dir)




def render_task(task: ExportTask, output_dir: str, template_dir: str | None = None,
                family: str | None = None, key: bytes | None = None) -> ExportResult:
    """Render one document and write it; errors become the result's message, never an exception."""
    from inspect_tui.export.render import RenderReport, render_feedback, render_notice

    template_dir = template_dir if template_dir is not None else _WORKER.get("template_dir")
    family = family or _WORKER.get("family")
    key = key or _WORKER.get("key")
    result = ExportResult(task.kind, task.branch_id, task.branch_name)
    t0 = time.perf_counter()
    report = RenderReport()
    try:
        if task.kind == FEEDBACK:
            pdf = render_feedback(task.vm, template_dir=template_dir, font_family=family, report=report)
        else:
            pdf = render_notice(task.vm, template_dir=template_dir, font_family=family, key=key, report=report)
        target = Path(output_dir) / task.filename
        replace_file(target, pdf)
        result.path = str(target)
        result.warnings = report.warnings
    except UserError as exc:
        result.error = exc.render()
    except OSError as exc:
        result.error = describe_os_error(with_path(exc, Path(output_dir) / task.filename))
    except Exception as exc:  # noqa: BLE001 - one broken document must not stop the batch
        result.error = f"内部错误：{type(exc).__name__}: {exc}"
    result.seconds = time.perf_counter() - t0
    return result


def _pool_context(preimport: bool = True):
    """``fork`` when this process runs no other thread (the CLI: workers start at once, WeasyPrint
    already imported); ``forkserver`` with WeasyPrint preloaded when threads run (the TUI: forking a
    threaded process can deadlock); ``spawn`` where neither exists (Windows)."""
    methods = multiprocessing.get_all_start_methods()
    if sys.platform == "linux" and "fork" in methods and threading.active_count() == 1:
        if preimport:
            from inspect_tui.export.weasy import weasyprint

            weasyprint()  # imported once here, inherited by every worker

        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["weasyprint", "inspect_tui.export.render", "inspect_tui.export.batch"])
        with _real_stderr():
            # Both helpers pass sys.stderr's descriptor to the child they start; under Textual
            # sys.stderr is a capture object without one ("bad value(s) in fds_to_keep"). Start
            # them now with the real stream; later worker starts do not need it.
            from multiprocessing import forkserver, resource_tracker

            resource_tracker.ensure_running()
            forkserver.ensure_running()
        return ctx
    return multiprocessing.get_context("spawn")


@contextlib.contextmanager
def _real_stderr():
    saved = sys.stderr
    try:
        ok = saved is not None and saved.fileno() >= 0
    except (AttributeError, OSError, ValueError):
        ok = False
    if not ok and sys.__stderr__ is not None:
        sys.stderr = sys.__stderr__
    try:
        yield
    finally:
        sys.stderr = saved


def default_workers(n_tasks: int) -> int:
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, n_tasks))


def _noop() -> None:
    return None


def start_pool(workers: int, *, template_dir: str | Path | None, family: str, key: bytes | None = None,
               preimport: bool = True) -> ProcessPoolExecutor:
    """A pool whose worker processes are started (and warming up) when this returns.

    ``export_session`` starts it *before* opening the session, so the workers import WeasyPrint and
    warm their fonts while this process reads the session and builds the view-models.
    """
    ctx = _pool_context(preimport=preimport)
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                               initargs=(str(template_dir) if template_dir else None, family, key))
    with _main_hidden() if ctx.get_start_method() != "fork" else contextlib.nullcontext():
        for _ in range(workers):  # starts every worker now (the pool never replaces them)
            pool.submit(_noop)
    return pool


@contextlib.contextmanager
def _main_hidden():
    """Start spawn/forkserver children without re-running the parent's ``__main__``.

    multiprocessing re-imports the main script in each child unless it is a package's
    ``__main__``; a script without an ``if __name__ == "__main__"`` guard (a user's helper, a test
    runner) would then run again inside every worker. Workers need nothing from ``__main__`` — all
    they run lives in this module — so its file and spec are hidden while the workers start.
    """
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    saved = {k: main.__dict__[k] for k in ("__file__", "__spec__") if k in main.__dict__}
    main.__dict__.pop("__file__", None)
    main.__dict__["__spec__"] = None
    try:
        yield
    finally:
        main.__dict__.pop("__spec__", None)
        main.__dict__.update(saved)


def run_tasks(tasks: Sequence[ExportTask], output_dir: str | Path, *, template_dir: str | Path | None = None,
              workers: int | None = None, progress: Progress | None = None,
              family: str | None = None, key: bytes | None = None,
              pool: ProcessPoolExecutor | None = None) -> list[ExportResult]:
    """Render ``tasks`` into ``output_dir`` with ``workers`` processes (1: in this process), or in
    ``pool`` when given (the caller then shuts it down)."""
    from inspect_tui.export.fonts import check_pdf_prerequisites
    from inspect_tui.export.render import template_dirs

    family = family or check_pdf_prerequisites()
    template_dirs(template_dir)  # a missing template folder is reported before any work starts
    out = Path(output_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # the machine's refusal: exit 3
        raise with_path(exc, out) from None
    tdir = str(template_dir) if template_dir else None
    workers = default_workers(len(tasks)) if workers is None else max(1, workers)
    results: list[ExportResult] = []
    total = len(tasks)

    def done(r: ExportResult) -> None:
        results.append(r)
        if progress is not None:
            progress(len(results), total, r)

    if pool is None and (workers <= 1 or total <= 1):
        for task in tasks:
            done(render_task(task, str(out), tdir, family, key))
        return results
    own = pool is None
    if pool is None:
        pool = start_pool(workers, template_dir=tdir, family=family, key=key)
    try:
        futures = {pool.submit(render_task, t, str(out)): t for t in tasks}
        for fut in as_completed(futures):
            try:
                done(fut.result())
            except BrokenProcessPool as exc:
                t = futures[fut]
                done(ExportResult(t.kind, t.branch_id, t.branch_name, error=f"导出进程异常退出：{exc}"))
    finally:
        if own:
            pool.shutdown(cancel_futures=True)
    return results


def export_session(session_path: str | Path, output_dir: str | Path, *, kinds: Iterable[str] = KINDS,
                   branches: Sequence[str] | None = None, template_dir: str | Path | None = None,
                   workers: int | None = None, progress: Progress | None = None,
                   key: bytes | None = None, issuer: str | Path | None = None, draft: bool = False,
                   session: Any = None, reissue: bool = False) -> ExportSummary:
    """The one function behind ``inspect-tui export`` and the TUI's export screen.

    Issued documents get numbers saved in the session, so it is opened for writing (or ``session``,
    an already open writable one, is used — the app's own); a draft only reads it.
    """
    from inspect_tui.export.fonts import check_pdf_prerequisites
    from inspect_tui.export.issuer import load_issuer
    from inspect_tui.export.render import template_dirs
    from inspect_tui.store.session import Session

    t0 = time.perf_counter()
    family = check_pdf_prerequisites()  # before opening anything: fail at once, with what to install
    template_dirs(template_dir)
    issuer_obj, seal = load_issuer(issuer) if issuer else (None, None)
    kinds = tuple(kinds)
    expected = len(set(branches)) * len(kinds) if branches else None
    n = workers if workers is not None else default_workers(expected or 10**6)
    pool = None
    if n > 1 and (expected is None or expected > 1):
        pool = start_pool(n, template_dir=template_dir, family=family, key=key, preimport=False)
    try:
        opened = session if session is not None else Session.open(session_path, readonly=draft)
        try:
            tasks, skipped, reviews = plan_export(opened, kinds, branches, issuer=issuer_obj, seal=seal, draft=draft,
                                                  reissue=reissue)
        finally:
            if session is None:
                opened.close()
        n = min(n, max(1, len(tasks)))
        results = run_tasks(tasks, output_dir, template_dir=template_dir, workers=n, progress=progress,
                            family=family, key=key, pool=pool)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    order = {(t.kind, t.branch_id): i for i, t in enumerate(tasks)}
    results.sort(key=lambda r: order.get((r.kind, r.branch_id), 0))
    return ExportSummary(results=results, skipped=skipped, seconds=time.perf_counter() - t0, workers=n,
                         reviews=reviews)

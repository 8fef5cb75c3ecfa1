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
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from inspect_tui.core.naming import output_name, unique_names
from inspect_tui.errors import UserError, describe_os_error, os_reason, with_path
from inspect_tui.export.documents import (
    FEEDBACK,
    KIND_LABELS,
    NOTICE,
    FeedbackVM,
    NoticeVM,
    branch_numbers,
    build_feedback,
    build_notice,
)

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

    @property
    def ok(self) -> bool:
        return self.error is None and self.path is not None


@dataclass
class ExportSummary:
    results: list[ExportResult] = field(default_factory=list)
    skipped: list[ExportResult] = field(default_factory=list)
    seconds: float = 0.0
    workers: int = 1

    @property
    def files(self) -> list[str]:
        return [r.path for r in self.results if r.ok and r.path]

    @property
    def errors(self) -> list[ExportResult]:
        return [r for r in self.results if r.error]


Progress = Callable[[int, int, ExportResult], None]


def select_branches(session, wanted: Sequence[str] | None):
    """Branches by id or exact name (all when ``wanted`` is empty); unknown names are a ``UserError``."""
    branches = session.branches()
    if not wanted:
        return branches
    by_key = {}
    for b in branches:
        by_key.setdefault(b.id, b)
        by_key.setdefault(b.data["name"], b)
    missing = [w for w in wanted if w not in by_key]
    if missing:
        known = "、".join(b.data["name"] for b in branches[:12]) + ("……" if len(branches) > 12 else "")
        raise UserError(f"会话中没有这些支部：{'、'.join(missing)}", hint=f"已有支部：{known}")
    return list({by_key[w].id: by_key[w] for w in wanted}.values())


def plan_export(session, kinds: Iterable[str] = KINDS, branches: Sequence[str] | None = None
                ) -> tuple[list[ExportTask], list[ExportResult]]:
    """The documents to render (view-models built here) and the ones skipped, with the reason."""
    kinds = [k for k in KINDS if k in set(kinds)]
    positions = branch_numbers(session.branches())
    tasks: list[ExportTask] = []
    skipped: list[ExportResult] = []
    for b in select_branches(session, branches):
        records = session.records(b.id)
        name = b.data["name"]
        if FEEDBACK in kinds:
            vm = build_feedback(meta=session.meta, checklist=session.checklist, branch=b, records=records,
                                result=session.result(b.id), session_path=Path(session.path))
            tasks.append(ExportTask(FEEDBACK, b.id, name, output_name(KIND_LABELS[FEEDBACK], name), vm))
        if NOTICE in kinds:
            nvm = build_notice(meta=session.meta, checklist=session.checklist, branch=b, records=records,
                               position=positions[b.id])
            if nvm is None:
                skipped.append(ExportResult(NOTICE, b.id, name, note="未发现问题，无需整改通知书"))
            else:
                tasks.append(ExportTask(NOTICE, b.id, name, output_name(KIND_LABELS[NOTICE], name), nvm))
    for task, unique in zip(tasks, unique_names(t.filename for t in tasks), strict=True):
        task.filename = unique
    return tasks, skipped


# --- workers ------------------------------------------------------------------------------------

_WORKER: dict = {}


def _init_worker(template_dir: str | None, family: str, key: bytes | None = None) -> None:
    _WORKER.update(template_dir=template_dir, family=family, key=key)
    from inspect_tui.export.render import write_pdf

    # Warm fontconfig/Pango and the font face cache: the first render in a process is ~2x slower.
    # A failing warm-up shows up again, with its message, on the real work.
    with contextlib.suppress(Exception):
        write_pdf("<p>党支部标准化规范化建设 第 1 页 共 1 页</p>", font_family=family, template_dir=template_dir)


def _write_atomic(target: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".part-", suffix=".pdf", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def render_task(task: ExportTask, output_dir: str, template_dir: str | None = None,
                family: str | None = None, key: bytes | None = None) -> ExportResult:
    """Render one document and write it; errors become the result's message, never an exception."""
    from inspect_tui.export.render import render_feedback, render_notice

    template_dir = template_dir if template_dir is not None else _WORKER.get("template_dir")
    family = family or _WORKER.get("family")
    key = key or _WORKER.get("key")
    result = ExportResult(task.kind, task.branch_id, task.branch_name)
    t0 = time.perf_counter()
    try:
        if task.kind == FEEDBACK:
            pdf = render_feedback(task.vm, template_dir=template_dir, font_family=family)
        else:
            pdf = render_notice(task.vm, template_dir=template_dir, font_family=family, key=key)
        target = Path(output_dir) / task.filename
        _write_atomic(target, pdf)
        result.path = str(target)
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
            import weasyprint  # noqa: F401 - imported once here, inherited by every worker

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
    except OSError as exc:
        raise UserError(f"{output_dir}: 无法创建输出文件夹：{os_reason(exc)}") from None
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
                   key: bytes | None = None) -> ExportSummary:
    """The one function behind ``inspect-tui export`` and the TUI's export screen."""
    from inspect_tui.export.fonts import check_pdf_prerequisites
    from inspect_tui.export.render import template_dirs
    from inspect_tui.store.session import Session

    t0 = time.perf_counter()
    family = check_pdf_prerequisites()  # before opening anything: fail at once, with what to install
    template_dirs(template_dir)
    kinds = tuple(kinds)
    expected = len(set(branches)) * len(kinds) if branches else None
    n = workers if workers is not None else default_workers(expected or 10**6)
    pool = None
    if n > 1 and (expected is None or expected > 1):
        pool = start_pool(n, template_dir=template_dir, family=family, key=key, preimport=False)
    try:
        with Session.open(session_path, readonly=True) as session:
            tasks, skipped = plan_export(session, kinds, branches)
        n = min(n, max(1, len(tasks)))
        results = run_tasks(tasks, output_dir, template_dir=template_dir, workers=n, progress=progress,
                            family=family, key=key, pool=pool)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    order = {(t.kind, t.branch_id): i for i, t in enumerate(tasks)}
    results.sort(key=lambda r: order.get((r.kind, r.branch_id), 0))
    return ExportSummary(results=results, skipped=skipped, seconds=time.perf_counter() - t0, workers=n)

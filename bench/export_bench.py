"""Benchmark: PDF export speed, ours beside a naive baseline, in the same run.

Session: the demo generator's visit with 40 branches and 3 inspectors' records joined (≈15k
records), written with the store. Figures:

* one branch's feedback PDF, warm process (the ≤ 0.5 s target), median of several renders;
  baseline: the same HTML through a *default* WeasyPrint call (no restricted fetcher, bold headings
  → a second font face to subset, auto table layout);
* the CLI exporting that one document from a new process (what a user waits for);
* one branch's feedback with ten 12-megapixel phone photos: ours (every photo decoded, turned,
  scaled and re-encoded on each render) against WeasyPrint embedding the original files;
* feedback + notice for all 40 branches end to end (open session, build, render, write) with the
  process pool (the ≤ 20 s target); baseline: the same work one by one in one process.

Usage: ``python bench/export_bench.py [--branches 40] [--inspectors 3] [--skip-baseline]
[--record FILE]`` — prints a markdown table; ``--record`` appends it to FILE with a date line.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path


def make_session(folder: Path, branches: int, inspectors: int) -> Path:
    from inspect_tui.core.checklist_load import load_default_checklist
    from inspect_tui.core.demo import generate
    from inspect_tui.core.versions import join_records
    from inspect_tui.store.session_file import write_session

    copies = generate(load_default_checklist(), branches=branches, inspectors=inspectors, seed=2026)
    records: dict = {}
    for c in copies:
        records = join_records(records, {d["id"]: d for d in c.records})
    path = folder / "bench.jsonl"
    write_session(path, copies[0].meta.model_dump(mode="json"), list(records.values()), [])
    return path


def one_feedback(session_path: Path, repeat: int = 5) -> tuple[list[float], list[float], int]:
    """(ours, naive) seconds for one branch's feedback PDF in a warm process, and its page count."""
    from pypdf import PdfReader
    from weasyprint import CSS, HTML

    from inspect_tui.export.batch import plan_export
    from inspect_tui.export.render import render_feedback, render_html
    from inspect_tui.store.session import Session

    with Session.open(session_path, readonly=True) as s:
        tasks, _, _ = plan_export(s, kinds=["feedback"], branches=[s.branches()[0].id], draft=True)
    vm = tasks[0].vm
    pdf = render_feedback(vm)  # warm-up
    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    ours = []
    for _ in range(repeat):
        t = time.perf_counter()
        render_feedback(vm)
        ours.append(time.perf_counter() - t)
    html = (render_html("feedback.html", vm.context).replace("font-weight: normal", "font-weight: bold")
            .replace("table-layout: fixed", "table-layout: auto"))
    naive_css = CSS(string='html { font-family: "Noto Serif CJK SC", serif; }')
    HTML(string=html).write_pdf(stylesheets=[naive_css])
    naive = []
    for _ in range(repeat):
        t = time.perf_counter()
        HTML(string=html).write_pdf(stylesheets=[naive_css])  # default fetcher: reads any file:// or http
        naive.append(time.perf_counter() - t)
    return ours, naive, pages


def one_notice(session_path: Path, repeat: int = 5) -> tuple[list[float], list[float]]:
    """(ours, naive) seconds for one notice: ours = PNG QR with a fixed mask, fixed table layout;
    naive = the usual recipe — SVG QR with the best mask searched, auto table layout, default fetcher."""
    import base64
    import io as _io

    import qrcode
    import qrcode.image.svg
    from weasyprint import CSS, HTML

    from inspect_tui.export.batch import plan_export
    from inspect_tui.export.notice import notice_context
    from inspect_tui.export.qr import QRPayload
    from inspect_tui.export.render import render_html, render_notice
    from inspect_tui.store.session import Session

    with Session.open(session_path, readonly=True) as s:
        tasks, _, _ = plan_export(s, kinds=["notice"], branches=[s.branches()[0].id], draft=True)
    vm = tasks[0].vm
    render_notice(vm)
    ours = []
    for _ in range(repeat):
        t = time.perf_counter()
        render_notice(vm)
        ours.append(time.perf_counter() - t)
    naive_css = CSS(string='html { font-family: "Noto Serif CJK SC", serif; }')
    naive = []
    for _ in range(repeat):
        t = time.perf_counter()
        payload = QRPayload.for_notice(vm.data, vm.sha256).encode()
        buf = _io.BytesIO()
        qrcode.make(payload, image_factory=qrcode.image.svg.SvgPathImage).save(buf)
        qr = "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode()
        html = render_html("notice.html", {**notice_context(vm.data)[0], "qr": qr, "sha256": vm.sha256,
                                           "sha256_short": vm.sha256[:16]})
        HTML(string=html.replace("table-layout: fixed", "table-layout: auto")).write_pdf(stylesheets=[naive_css])
        naive.append(time.perf_counter() - t)
    return ours, naive


def photo_feedback(folder: Path, photos: int = 10, repeat: int = 3) -> dict[str, float]:
    """One branch's feedback with ``photos`` 12-megapixel phone photos (4000×3000 JPEG, EXIF
    orientation 6): ours, cold (each render prepares every photo again), against WeasyPrint reading
    the original files itself (what exports did before: full-size originals, EXIF and all)."""
    from datetime import date

    from PIL import Image
    from weasyprint import CSS, HTML

    from inspect_tui.core.checklist_load import load_default_checklist
    from inspect_tui.core.records import Kind, observation_id
    from inspect_tui.core.steps import Step
    from inspect_tui.export import photos as photo_module
    from inspect_tui.export.batch import plan_export
    from inspect_tui.export.render import render_feedback, render_html
    from inspect_tui.store.evidence import store_files
    from inspect_tui.store.session import Session, new_session

    files = []
    texture = Image.effect_noise((1000, 750), 40).convert("RGB").resize((4000, 3000))
    exif = Image.Exif()
    exif[0x0112] = 6
    for n in range(photos):
        shot = Image.blend(Image.linear_gradient("L").convert("RGB").resize((4000, 3000)), texture, 0.5)
        shot.paste((30 * n, 90, 160), (0, 0, 400, 300))
        files.append(folder / f"IMG_{n:04d}.jpg")
        shot.save(files[-1], quality=92, exif=exif)
    with new_session(folder, group="基准测试组", day=date(2026, 11, 20), inspector="甲",
                     checklist=load_default_checklist(), branches=["照片支部"], path=folder / "photos.jsonl") as s:
        branch, item = s.branches()[0].id, s.checklist.items_for(Step.LOOK)[0].id
        s.save(Kind.OBSERVATION, {"branch": branch, "item": item, "step": "look", "status": "partly",
                                  "files": store_files(s.path, [str(f) for f in files])},
               observation_id(branch, item, Step.LOOK, "甲"))
    with Session.open(folder / "photos.jsonl") as s:  # writable: the issued feedback gets its number
        (task,), _, _ = plan_export(s, kinds=["feedback"])
    ours, ours_cpu, ours_size = [], [], 0
    for _ in range(repeat):
        photo_module._cached.cache_clear()
        t, c = time.perf_counter(), time.process_time()
        ours_size = len(render_feedback(task.vm))
        ours.append(time.perf_counter() - t)
        ours_cpu.append(time.process_time() - c)
    html = render_html("feedback.html", task.vm.context)
    naive_css = CSS(string='html { font-family: "Noto Serif CJK SC", serif; }')
    naive, naive_cpu, naive_size = [], [], 0
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        naive_size = len(HTML(string=html).write_pdf(stylesheets=[naive_css]))
        naive.append(time.perf_counter() - t)
        naive_cpu.append(time.process_time() - c)
    return {"photos": photos, "originals_mb": sum(f.stat().st_size for f in files) / 2**20,
            "ours": min(ours), "ours_cpu": min(ours_cpu), "ours_mb": ours_size / 2**20,
            "naive": min(naive), "naive_cpu": min(naive_cpu), "naive_mb": naive_size / 2**20}


def cli_one_branch(session_path: Path, out: Path) -> float:
    """Wall time of ``inspect-tui export feedback S --branch B`` in a new process (imports, open, render)."""
    import subprocess

    from inspect_tui.store.session import Session

    with Session.open(session_path, readonly=True) as s:
        branch = s.branches()[0].id
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "inspect_tui", "export", "feedback", str(session_path), "--branch", branch,
                    "-o", str(out), "-q", "--draft"], check=True, capture_output=True)
    return time.perf_counter() - t


def all_branches(session_path: Path, out: Path, workers: int | None) -> tuple[float, int, int]:
    from inspect_tui.export.batch import export_session

    t, c = time.perf_counter(), os.times()
    summary = export_session(session_path, out, workers=workers, draft=True)  # the demo has open disagreements
    c2 = os.times()
    assert not summary.errors, summary.errors[:3]
    cpu = (c2.user + c2.system + c2.children_user + c2.children_system) - (c.user + c.system + c.children_user
                                                                          + c.children_system)
    return time.perf_counter() - t, len(summary.files), summary.workers, cpu


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--branches", type=int, default=40)
    ap.add_argument("--inspectors", type=int, default=3)
    ap.add_argument("--skip-baseline", action="store_true", help="skip the slow serial run")
    ap.add_argument("--record", type=Path, help="append the table to this markdown file")
    args = ap.parse_args(argv)
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="export-bench-") as tmp:
        folder = Path(tmp)
        session = make_session(folder, args.branches, args.inspectors)
        ours1, naive1, pages = one_feedback(session)
        cli1 = cli_one_branch(session, folder / "cli")
        ours_n, naive_n = one_notice(session)
        ph = photo_feedback(folder)
        load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        pooled, n_files, workers, pooled_cpu = all_branches(session, folder / "pool", None)
        serial = serial_cpu = None
        if not args.skip_baseline:
            serial, _, _, serial_cpu = all_branches(session, folder / "serial", 1)
        load_after = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    rows = [
        "| measure | ours | naive baseline | target |",
        "|---|---|---|---|",
        f"| one branch's feedback PDF ({pages} pages), warm, median of {len(ours1)} | "
        f"{statistics.median(ours1):.2f} s | {statistics.median(naive1):.2f} s (default WeasyPrint setup, bold "
        f"headings, auto table layout) | ≤ 0.5 s |",
        f"| `inspect-tui export feedback S --branch B`, new process, end to end | {cli1:.2f} s | | |",
        f"| one branch's notice, warm, median | {statistics.median(ours_n):.2f} s (PNG QR, fixed mask, PDF/A-3b "
        f"+ JSON) | {statistics.median(naive_n):.2f} s (SVG QR, mask search, auto table layout) | |",
        f"| one branch's feedback with {ph['photos']} phone photos of 12 MP ({ph['originals_mb']:.0f} MB), cold, "
        f"best of 3 | {ph['ours']:.2f} s ({ph['ours_cpu']:.2f} s CPU), PDF {ph['ours_mb']:.1f} MB (scaled, upright, "
        f"EXIF-free) | {ph['naive']:.2f} s ({ph['naive_cpu']:.2f} s CPU), PDF {ph['naive_mb']:.1f} MB (WeasyPrint "
        f"embeds the originals) | PDF < 3 MB |",
        f"| feedback + notice, all {args.branches} branches ({n_files} PDFs), end to end | {pooled:.1f} s "
        f"({workers} processes) | " + (f"{serial:.1f} s (one by one, one process)" if serial else "skipped")
        + " | ≤ 20 s |",
        f"| CPU time per PDF in that run (independent of other load) | {pooled_cpu / n_files:.2f} s "
        f"(ideal wall on {workers} idle cores: {pooled_cpu / workers:.1f} s) | "
        + (f"{serial_cpu / n_files:.2f} s" if serial_cpu else "skipped") + " | |",
    ]
    header = (f"Export benchmark {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — {cpus} cores, session of "
              f"{args.branches} branches × {args.inspectors} inspectors' records joined; load average "
              f"{load_before:.1f} before, {load_after:.1f} after (other jobs share this machine)")
    table = header + "\n\n" + "\n".join(rows) + "\n"
    print(table)
    if args.record:
        with args.record.open("a", encoding="utf-8") as fh:
            fh.write("\n" + table)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: summary reports — one group's report and a rollup over many groups.

    .venv/bin/python bench/report_bench.py [--sessions 200] [--branches 40] [--repeat 3]
                                           [--corpus DIR] [--baseline N] [--jobs 2]

Targets (issue): a rollup of 200 merged sessions of 40 branches each in at most 30 s on 2 cores
with peak memory at most 2 GB, and one group's report (40 branches, PDF + workbook) in at most 3 s.

The corpus is generated once into ``--corpus`` (default ``~/.cache/inspect-tui-bench/report``) and
reused: ``--distinct`` realistic visit days (``core.demo.generate``, 3 inspectors each, merged by
``merge_files``), each written again under other groups' names and visit ids until there are
``--sessions`` merged sessions (about 6 MB each). Demo sessions carry unsettled disagreements, so
every report here is a draft (征求意见稿) — the same work as a settled one plus the list.

One group's report is timed three ways in a warm process, alternately: ours (``report group``),
from an open session (the app's way), and naive (open, PDF, then workbook in one process); then as
a user runs it, in a new process each time (start-up and imports included): ``inspect-tui report
group`` beside the naive steps as a script.

Each rollup scenario runs in a fresh process (``--scenario``) so its peak memory (own and worker
processes) is measured alone:

* **naive**: open every session in one process (``Session.open``), compute its facts, then report —
  over ``--baseline`` sessions (default all) and scaled to all when fewer;
* **cold**: ``write_rollup`` with an empty digest cache — parsing in a pool of ``--jobs`` processes;
* **merge**: fills the digest cache the way ``merge`` and a closing session leave it — here by
  reading each file back (``remember_file``), serially, one process (``merge`` itself builds the
  digest from the records it has in memory: ``bench/merge_bench.py`` times that);
* **warm**: ``write_rollup`` with the digests in the cache — the first rollup over sessions merged
  (or last saved) on this machine, and every later run: hash every file, read the digests, report.

Prints markdown tables (paste them into docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inspect_tui.core.checklist_load import load_default_checklist  # noqa: E402
from inspect_tui.core.demo import generate  # noqa: E402
from inspect_tui.store.merge_files import merge_files  # noqa: E402
from inspect_tui.store.session_file import read_session, write_session  # noqa: E402

STAMP = "corpus.json"


def make_corpus(folder: Path, sessions: int, branches: int, distinct: int) -> list[Path]:
    spec = {"sessions": sessions, "branches": branches, "distinct": distinct}
    stamp = folder / STAMP
    if stamp.exists() and json.loads(stamp.read_text()) == spec:
        return sorted(folder.glob("s-*.jsonl"))
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    cl = load_default_checklist()
    bases = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(distinct):
            inputs = []
            for c in generate(cl, branches=branches, inspectors=3, seed=100 + seed):
                p = Path(tmp) / f"{seed}-{c.meta.inspector}.jsonl"
                write_session(p, c.meta.model_dump(mode="json"), c.records, [], force=True)
                inputs.append(p)
            out = Path(tmp) / f"merged-{seed}.jsonl"
            merge_files(inputs, out, replace=True)
            bases.append(read_session(out))
    paths = []
    for k in range(sessions):
        meta, records, log = bases[k % distinct]
        meta = {**meta, "group": f"第{k + 1}观摩小组", "visit_id": uuid.UUID(int=k + 1).hex}
        p = folder / f"s-{k:04d}.jsonl"
        write_session(p, meta, records, log, force=True)
        paths.append(p)
        print(f"\rcorpus {k + 1}/{sessions}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    stamp.write_text(json.dumps(spec))
    return paths


def scenario(name: str, paths: list[Path], out: Path, cache: Path, jobs: int) -> dict:
    from inspect_tui.export.report_files import write_rollup

    t0 = time.perf_counter()
    if name == "merge":
        from inspect_tui.store.report_inputs import remember_file

        for p in paths:
            remember_file(p, cache)
    elif name == "naive":
        from inspect_tui.core.rollup import build_rollup
        from inspect_tui.export.report_files import ROLLUP_PDF, ROLLUP_WORKBOOK, prepare_output
        from inspect_tui.export.rollup_export import render_rollup_pdf, rollup_sheets
        from inspect_tui.export.workbook import write_xlsx
        from inspect_tui.store.journal import replace_file
        from inspect_tui.store.report_inputs import facts_of
        from inspect_tui.store.session import Session

        facts, checklists = [], {}
        for p in paths:
            with Session.open(p, readonly=True) as s:
                facts.append(facts_of(s))
                checklists[s.checklist.content_hash()] = s.checklist
        rollup = build_rollup(facts, checklists)
        pdf = render_rollup_pdf(rollup, draft=True)
        prepare_output(out)
        replace_file(out / ROLLUP_PDF, pdf)
        write_xlsx(out / ROLLUP_WORKBOOK, rollup_sheets(rollup))
    else:
        write_rollup(paths, out, draft=True, cache=cache, workers=jobs)
    seconds = time.perf_counter() - t0
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"seconds": seconds, "own_mb": me.ru_maxrss / 1024, "worker_mb": kids.ru_maxrss / 1024,
            "cpu": me.ru_utime + me.ru_stime, "worker_cpu": kids.ru_utime + kids.ru_stime}


def run_scenario(name: str, paths: list[Path], out: Path, cache: Path, jobs: int) -> dict:
    listing = out.parent / f"{name}-paths.txt"
    listing.write_text("\n".join(map(str, paths)))
    cmd = [sys.executable, __file__, "--scenario", name, "--paths", str(listing), "--out", str(out),
           "--cache", str(cache), "--jobs", str(jobs)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{name} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def group_report_time(path: Path, out: Path, cache: Path, repeat: int, draft: bool, how: str
                      ) -> list[tuple[float, float, float]]:
    """(wall, CPU of this process, CPU of its helper) per run; CPU figures depend far less than wall
    time on what else the machine is doing, and on two idle cores the wall time is about the larger
    of the two (they run side by side). ``draft=False`` renders the same data as a settled report would be
    (no 征求意见稿 list) — demo sessions are never settled, so the refusal is stepped around here.

    ``how``: ``files`` is ``inspect-tui report group`` (facts from the session's digest, the whole
    session read for the workbook in the helper process while the PDF renders); ``sessions`` is
    the app's way (the open session's facts, the workbook written by the helper); ``naive`` opens
    the session, then renders the PDF, then writes the workbook, one after another."""
    from inspect_tui.export.render import write_pdf
    from inspect_tui.export.report_files import WORKBOOK, prepare_group_files, prepare_group_report, write_prepared
    from inspect_tui.export.report_pdf import render_report_pdf
    from inspect_tui.export.workbook import write_xlsx
    from inspect_tui.store.report_inputs import open_sessions

    def cpu() -> tuple[float, float]:
        me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime

    write_pdf("<p>预热 第 1 页</p>")  # fonts and Pango warmed, as in any process that has rendered once
    times = []
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), cpu()
        if how == "files":
            prepared = prepare_group_files([path], draft=True, cache=cache)
            prepared.draft = draft
            write_prepared(prepared, out)
        else:
            sessions = open_sessions([path])
            try:
                prepared = prepare_group_report(sessions, draft=True)
                prepared.draft = draft
                if how == "sessions":
                    write_prepared(prepared, out)
                else:
                    out.mkdir(exist_ok=True)
                    (out / "naive.pdf").write_bytes(render_report_pdf(prepared.report, draft=draft))
                    write_xlsx(out / WORKBOOK, prepared.sheets)
            finally:
                sessions[0].close()
        c1 = cpu()
        times.append((time.perf_counter() - t0, c1[0] - c0[0], c1[1] - c0[1]))
    return times


NAIVE_PROCESS = """
import sys
from pathlib import Path
from inspect_tui.export.report_files import WORKBOOK, prepare_group_report
from inspect_tui.export.report_pdf import render_report_pdf
from inspect_tui.export.workbook import write_xlsx
from inspect_tui.store.report_inputs import open_sessions
sessions = open_sessions([Path(sys.argv[1])])
prepared = prepare_group_report(sessions, draft=True)
out = Path(sys.argv[2]); out.mkdir(exist_ok=True)
(out / "naive.pdf").write_bytes(render_report_pdf(prepared.report, draft=True))
write_xlsx(out / WORKBOOK, prepared.sheets)
"""


def group_process_time(path: Path, out: Path, cache: Path, how: str) -> tuple[float, float]:
    """(wall, CPU of the process and its helper) of one group's draft report in a new process, the
    way a user runs it: ``inspect-tui report group`` (Python start-up and imports included, byte
    code cached as after installing), or the naive steps as a script. Only drafts: the demo
    sessions are never settled, and the program refuses a settled report of them."""
    cmd = ([sys.executable, "-m", "inspect_tui", "report", "group", str(path), "-o", str(out), "--draft",
            "--cache", str(cache)] if how == "ours" else [sys.executable, "-c", NAIVE_PROCESS, str(path), str(out)])
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                            cwd=Path(__file__).resolve().parent.parent)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{how} report failed:\n{proc.stderr.read().decode() if proc.stderr else ''}")
    return wall, usage.ru_utime + usage.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=200)
    ap.add_argument("--branches", type=int, default=40)
    ap.add_argument("--distinct", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--baseline", type=int, help="sessions for the naive baseline (default: all), scaled to all")
    ap.add_argument("--corpus", type=Path, default=Path.home() / ".cache" / "inspect-tui-bench" / "report")
    ap.add_argument("--digests", type=Path, help="digest cache to keep between runs (default: a fresh temporary one)")
    ap.add_argument("--skip", nargs="*", default=[], choices=["group", "naive", "cold", "merge", "warm"],
                    help="parts not to run")
    ap.add_argument("--scenario", choices=["naive", "cold", "merge", "warm"], help=argparse.SUPPRESS)
    ap.add_argument("--paths", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--cache", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.scenario:
        paths = [Path(p) for p in args.paths.read_text().splitlines()]
        print(json.dumps(scenario(args.scenario, paths, args.out, args.cache, args.jobs)))
        return 0

    paths = make_corpus(args.corpus, args.sessions, args.branches, args.distinct)
    size = sum(p.stat().st_size for p in paths)
    with tempfile.TemporaryDirectory(prefix="report-bench-") as tmp:
        tmpdir = Path(tmp)
        group_cache = tmpdir / "group-cache"
        groups: dict[str, list[tuple[float, float, float]]] = {}
        for _round in range(0 if "group" in args.skip else 2):  # alternated, so each sees the same load
            for how, label in (("files", "ours (`report group`: facts from the digest, the workbook's helper "
                                         "reads the session)"),
                               ("sessions", "from the open session (the app's way; workbook in the helper)"),
                               ("naive", "naive: open, PDF, then workbook, one process")):
                for kind, draft in ((" — settled", False), (" — draft", True)):
                    groups.setdefault(label + kind, []).extend(
                        group_report_time(paths[0], tmpdir / "group", group_cache, args.repeat, draft, how))
        processes: dict[str, list[tuple[float, float]]] = {}
        if "group" not in args.skip:
            group_process_time(paths[0], tmpdir / "process", group_cache, "ours")  # its digest, as merge leaves it
            for _round in range(2 * args.repeat):
                for how in ("ours", "naive"):
                    processes.setdefault(how, []).append(
                        group_process_time(paths[0], tmpdir / "process", group_cache, how))
        cache = args.digests or tmpdir / "cache"
        cold = run_scenario("cold", paths, tmpdir / "cold", tmpdir / "cold-cache", args.jobs) \
            if "cold" not in args.skip else None
        merge = run_scenario("merge", paths, tmpdir / "merge", cache, 1) if "merge" not in args.skip else None
        warm = [] if "warm" in args.skip else [run_scenario("warm", paths, tmpdir / "warm", cache, args.jobs)
                                               for _ in range(args.repeat)]
        n_base = min(args.baseline or len(paths), len(paths))
        naive = run_scenario("naive", paths[:n_base], tmpdir / "naive", cache, 1) if "naive" not in args.skip else None
    scale = len(paths) / n_base
    best_warm = min(warm, key=lambda r: r["seconds"]) if warm else None
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"corpus: {len(paths)} merged sessions x {args.branches} branches ({size / 1e9:.2f} GB), "
          f"{args.distinct} distinct visit days\n")
    if groups:
        print(f"| one group's report: facts, PDF + xlsx (40 branches) | wall, best of {2 * args.repeat} | median | "
              "CPU main, best | CPU helper, best |")
        print("|---|---:|---:|---:|---:|")
        for label, group in groups.items():
            print(f"| {label} | {min(g[0] for g in group):.2f} s | {statistics.median(g[0] for g in group):.2f} s | "
                  f"{min(g[1] for g in group):.2f} s | {min(g[2] for g in group):.2f} s |")
        print()
    if processes:
        print(f"| one group's draft report in a new process (start-up and imports included) | wall, best of "
              f"{2 * args.repeat} | median | CPU (process + helper), best |")
        print("|---|---:|---:|---:|")
        for how, label in (("ours", "ours: `inspect-tui report group S --draft`, its digest cached"),
                           ("naive", "naive: a script that opens the session, renders the PDF, writes the workbook")):
            runs = processes[how]
            print(f"| {label} | {min(r[0] for r in runs):.2f} s | {statistics.median(r[0] for r in runs):.2f} s | "
                  f"{min(r[1] for r in runs):.2f} s |")
        print()
    if merge:
        print(f"digest written by merge: {merge['cpu'] / len(paths):.2f} s CPU per merged session "
              f"({merge['seconds']:.1f} s wall for all {len(paths)})\n")
    if naive or cold or best_warm:
        print("| rollup of all sessions | wall time | CPU main + helpers | peak memory (main / largest helper) |")
        print("|---|---:|---:|---:|")

    def line(label: str, r: dict, k: float = 1.0) -> None:
        print(f"| {label} | {r['seconds'] * k:.1f} s | {r['cpu'] * k:.1f} s + {r['worker_cpu'] * k:.1f} s | "
              f"{r['own_mb']:.0f} MB / {r['worker_mb']:.0f} MB |")

    if naive:
        line("naive: open every session serially" + (f" ({n_base} sessions, x{scale:.0f})" if scale != 1 else ""),
             naive, scale)
    if cold:
        line(f"cold: digests built in {args.jobs} processes", cold)
    if best_warm:
        line(f"warm: digests from the cache — the first rollup after merging here (best of {args.repeat})",
             best_warm)
    if naive and best_warm:
        print(f"\nspeed-up over the naive baseline: warm {naive['seconds'] * scale / best_warm['seconds']:.1f}x"
              + (f", cold {naive['seconds'] * scale / cold['seconds']:.1f}x" if cold else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

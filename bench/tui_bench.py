"""TUI timings: time to the first usable screen, per-keystroke and per-save latency.

Usage:  .venv/bin/python bench/tui_bench.py [--branches 40] [--inspectors 5] [--keys 60]
        .venv/bin/python bench/tui_bench.py --terminal [--repeat 3] [--only start|keys]

``--terminal`` measures the way a user feels it: a new process in a real terminal (a pseudo-terminal
of 120×40, as tmux gives), byte code cached as after installing. Start-up is timed from the moment
the process is started until the branch table's first row is on screen — imports, opening, scoring
and the first render included — for an inspector's copy (~5k records), the leader's merged file
(~25k) and a 100k-record file, each opened the first time (no stored branches list: the cache is
emptied first) and again (``store.branch_table``: the list an earlier open stored is shown while the
session is read); beside it, alternating with it in the same run and timed the same way, a bare
Textual app (Header, a 40-row DataTable, Footer). Wall time and CPU time are both printed; the CPU
time is the program's with its helper processes (``store.read_ahead``, which works out the list of
a file opened the first time on the other core): on a shared machine it is the steadier figure,
and it shows what the second core's work costs. Then CPU per key
press in the branch screen of the inspector's copy (看 and 评: moving, typing a note, setting a
status), keys sent one at a time 80 ms apart with the idle CPU over the same time taken off, beside
a bare app (an OptionList of 36 items, an Input, a Footer) given the same keys.

Without ``--terminal`` (in-process, headless): two sessions are built from the deterministic demo
visit (``core.demo``): one inspector's copy of a 40-branch visit, and the group leader's merged file
holding all five inspectors' records. For each, the app is started headless (``App.run_test``) and
timed from construction until the branches list is mounted and filled. Beside it, in the same run,
a naive baseline: parse every line with stock ``json.loads`` (no index, no checksum), then
recompute every branch's result eagerly with a full scan of all records per branch. Keystroke
latency is the *CPU* time per key through Pilot (``time.process_time``), and wall time per key
including Pilot's round trip is shown for reference — Pilot waits on every widget of the screen
after each key, a cost a real terminal does not have, so these figures overstate a screen with
many widgets (the branch screen holds all five panes). Saves are timed directly
(``InspectApp.save``: validate + durable fsync'd append + index update) and with the refresh that
follows (``BranchScreen.changed``: core re-scores the branch, the five panes show it). Prints a
markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import platform
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from inspect_tui.core.checklist_load import load_default_checklist  # noqa: E402
from inspect_tui.core.demo import generate  # noqa: E402
from inspect_tui.core.index import Rec  # noqa: E402
from inspect_tui.core.records import Kind, observation_id  # noqa: E402
from inspect_tui.core.scoring import analyse_branch  # noqa: E402
from inspect_tui.core.steps import Step  # noqa: E402
from inspect_tui.store.session_file import write_session  # noqa: E402
from inspect_tui.tui.app import make_app  # noqa: E402


def build(folder: Path, branches: int, inspectors: int) -> tuple[Path, Path, int, int]:
    cl = load_default_checklist()
    copies = generate(cl, branches=branches, inspectors=inspectors, seed=1)
    one = folder / "inspector.jsonl"
    write_session(one, copies[0].meta.model_dump(mode="json"), copies[0].records, [])
    merged: dict[str, dict] = {}
    for c in copies:
        for doc in c.records:
            merged.setdefault(doc["id"], doc)
    leader = copies[0].meta.model_copy(update={"inspector": "组长", "role": "leader"})
    many = folder / "merged.jsonl"
    write_session(many, leader.model_dump(mode="json"), merged.values(), [])
    return one, many, len(copies[0].records), len(merged)


def naive_open(path: Path) -> float:
    """Stock json per line, last write wins, then every branch scored with a full scan."""
    t = time.perf_counter()
    cl = load_default_checklist()
    records: dict[str, dict] = {}
    with open(path, encoding="utf-8") as f:
        next(f)
        for line in f:
            obj = json.loads(line)
            obj.pop("c", None)
            if obj.get("t") == "records":
                for doc in obj["set"].values():
                    records[doc["id"]] = doc
    recs = [Rec.of(d) for d in records.values()]
    branches = [r for r in recs if r.kind is Kind.BRANCH]
    for b in branches:
        analyse_branch(cl, b, [r for r in recs if r.branch == b.id])
    return time.perf_counter() - t


async def first_screen(path: Path) -> tuple[float, int]:
    t = time.perf_counter()
    app = make_app(path, sessions_dir=path.parent)
    async with app.run_test(size=(120, 40)) as pilot:
        while True:
            screen = app.screen
            if type(screen).__name__ == "BranchesScreen" and screen.query("#branches") \
                    and screen.query_one("#branches").row_count:
                break
            await pilot.pause(0.002)
        elapsed = time.perf_counter() - t
        rows = screen.query_one("#branches").row_count
        await pilot.press("ctrl+q")
    return elapsed, rows


def open_parts(path: Path) -> tuple[float, float]:
    """The two parts of the loading worker: ``Session.open`` and scoring every branch (with the
    cyclic collector paused, as the worker does)."""
    from inspect_tui.store.journal import paused_gc
    from inspect_tui.store.session import Session
    from inspect_tui.tui.app import InspectApp

    with paused_gc():
        t = time.perf_counter()
        session = Session.open(path, readonly=True)
        t1 = time.perf_counter()
        InspectApp.compute_results(session)
        t2 = time.perf_counter()
    session.close()
    return t1 - t, t2 - t1


async def bare_start() -> float:
    """A bare Textual app with a Header, a DataTable of 40 rows and a Footer, to its first screen."""
    from textual.app import App, ComposeResult
    from textual.widgets import DataTable, Footer, Header

    class Bare(App[None]):
        def compose(self) -> ComposeResult:
            yield Header()
            yield DataTable()
            yield Footer()

        def on_mount(self) -> None:
            table = self.query_one(DataTable)
            table.add_columns("支部", "得分")
            for k in range(40):
                table.add_row(f"第{k}党支部", "90")

    t = time.perf_counter()
    app = Bare()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        elapsed = time.perf_counter() - t
    return elapsed


async def keystrokes(path: Path, n: int) -> dict[str, tuple[float, float]]:
    """Per-key (cpu ms, wall ms) for moving between items and typing, and per-save timings."""
    out: dict[str, tuple[float, float]] = {}
    app = make_app(path, sessions_dir=path.parent)
    async with app.run_test(size=(120, 40)) as pilot:
        while type(app.screen).__name__ != "BranchesScreen":
            await pilot.pause(0.01)
        await pilot.press("enter", "f3")
        await pilot.pause()
        screen = app.screen

        async def timed(label: str, keys: list[str]) -> None:
            gc.collect()
            c, w = time.process_time(), time.perf_counter()
            for k in keys:
                await pilot.press(k)
            out[label] = ((time.process_time() - c) * 1000 / len(keys), (time.perf_counter() - w) * 1000 / len(keys))

        await timed("move between items (看, ↓/↑)", ["down", "up"] * (n // 2))
        await pilot.press("tab")
        await timed("type Chinese into a note", list("党务公开栏内容更新不及时部分材料仍为去年" * (n // 20 + 1))[:n])
        await pilot.press("escape")
        await timed("set a status (y/p: save + re-score)", ["p", "up", "y", "up"][: 4] * (n // 8 or 1))
        await pilot.press("5")
        await pilot.pause()
        await timed("move between items (评, ↓/↑)", ["down", "up"] * (n // 2))

        branch, me = screen.branch, app.me
        item = app.session.checklist.items_for(Step.LOOK)[0].id
        rid = observation_id(branch, item, Step.LOOK, me)
        save_ms, refresh_ms = [], []
        for k in range(n):
            t = time.perf_counter()
            app.update(Kind.OBSERVATION, rid, branch=branch, item=item, step="look", note=f"说明{k}")
            t2 = time.perf_counter()
            screen.changed()
            t3 = time.perf_counter()
            save_ms.append((t2 - t) * 1000)
            refresh_ms.append((t3 - t2) * 1000)
        out["save (validate + fsync'd append), median"] = (statistics.median(save_ms), statistics.median(save_ms))
        out["re-score + refresh after a save, median"] = (statistics.median(refresh_ms), statistics.median(refresh_ms))
        await pilot.press("ctrl+q")
    return out


async def floor(n: int) -> dict[str, float]:
    """The same keys in a bare Textual app (an OptionList of 36 items, an Input, a Footer): what
    Textual and Pilot cost by themselves on this machine, to read the figures above against."""
    from textual.app import App, ComposeResult
    from textual.widgets import Footer, Input, OptionList

    class Bare(App[None]):
        def compose(self) -> ComposeResult:
            yield OptionList(*[f"检查项 {k}" for k in range(36)])
            yield Input()
            yield Footer()

    out: dict[str, float] = {}
    app = Bare()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        for label, keys in (("move", ["down", "up"] * (n // 2)), ("type", None)):
            if keys is None:
                await pilot.press("tab")
                keys = list("党务公开栏内容更新不及时部分材料仍为去年" * (n // 20 + 1))[:n]
            c = time.process_time()
            for k in keys:
                await pilot.press(k)
            out[label] = (time.process_time() - c) * 1000 / len(keys)
    return out


BARE_APP = """
from textual.app import App
from textual.widgets import DataTable, Footer, Header

class Bare(App):
    def compose(self):
        yield Header()
        yield DataTable()
        yield Footer()

    def on_mount(self):
        table = self.query_one(DataTable)
        table.add_columns("序", "支部", "得分")
        for k in range(40):
            table.add_row(str(k + 1), f"第{k + 1}裸党支部", "90")

Bare().run()
"""
_ANSI = re.compile(rb"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])")


class Terminal:
    """A program running in a 120×40 pseudo-terminal (as tmux gives), its screen read as it comes."""

    def __init__(self, argv: list[str], cwd: Path) -> None:
        import fcntl
        import os
        import pty
        import struct
        import subprocess
        import termios

        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        # As installed: byte code cached (Python writes it on the first run), whatever this shell says.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env |= {"TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40",
                "INSPECT_TUI_CONFIG": str(cwd / "settings.json"), "XDG_CACHE_HOME": str(cwd / "cache")}
        self.master = master
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=env,
                                     start_new_session=True)
        os.close(slave)
        self.seen = b""

    def _read(self, timeout: float) -> bool:
        import os
        import select

        if not select.select([self.master], [], [], max(timeout, 0))[0]:
            return True
        try:
            chunk = os.read(self.master, 65536)
        except OSError:
            return False
        self.seen = (self.seen + chunk)[-400000:]
        return bool(chunk)

    def wait_for(self, marker: str, timeout: float = 60.0) -> float:
        """Seconds since the start until ``marker`` is on screen."""
        wanted = marker.encode("utf-8")
        while time.perf_counter() - self.started < timeout:
            if not self._read(0.05):
                break
            if wanted in _ANSI.sub(b"", self.seen[-200000:]):
                return time.perf_counter() - self.started
        raise RuntimeError(f"{marker!r} never appeared on screen")

    def drain(self, seconds: float) -> None:
        """Keep reading what the program draws for ``seconds``."""
        end = time.perf_counter() + seconds
        while (left := end - time.perf_counter()) > 0:
            if not self._read(left):
                return

    def send(self, keys: bytes) -> None:
        import os

        os.write(self.master, keys)

    def cpu(self) -> float:
        """CPU seconds (user + system, all threads) the program has used so far — with its helper
        processes (the read-ahead), running or reaped."""
        return _cpu_ticks(self.proc.pid) + self._helpers()

    def _helpers(self, kill: bool = False) -> float:
        """CPU seconds of the program's child processes still running (they run in sessions of
        their own: with ``kill``, they are stopped too)."""
        import contextlib
        import os
        import signal
        from pathlib import Path

        total = 0.0
        for task in Path(f"/proc/{self.proc.pid}/task").glob("*/children"):
            for child in task.read_text(encoding="ascii").split():
                with contextlib.suppress(OSError):  # ended meanwhile: counted as reaped, if it was
                    total += _cpu_ticks(int(child))
                    if kill:
                        os.kill(int(child), signal.SIGKILL)
        return total

    def kill(self) -> float:
        """Stop the program and its helpers; its total CPU seconds (from ``wait4``: exact, not in
        clock ticks), with what its helpers still running had used."""
        import os
        import signal

        helpers = self._helpers(kill=True)
        os.killpg(self.proc.pid, signal.SIGKILL)
        _, _, usage = os.wait4(self.proc.pid, 0)
        self.proc.returncode = -signal.SIGKILL
        os.close(self.master)
        return usage.ru_utime + usage.ru_stime + helpers


def _cpu_ticks(pid: int) -> float:
    """User + system CPU seconds of ``pid`` from /proc (clock ticks), with its reaped children."""
    import os

    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def terminal_start(argv: list[str], marker: str, cwd: Path, linger: float = 0.0) -> tuple[float, float]:
    """(wall s, CPU s) from starting ``argv`` until ``marker`` is on screen. The CPU time is the
    program's own, killed the moment the marker shows (or ``linger`` seconds later, letting it
    finish what it does after the first screen): less noisy than wall time on a shared machine."""
    term = Terminal(argv, cwd)
    try:
        wall = term.wait_for(marker)
        cpu = term.cpu()
        term.drain(linger)
    finally:
        killed = term.kill()
    return wall, killed if not linger else cpu


KEY = {"down": b"\x1b[B", "up": b"\x1b[A", "enter": b"\r", "tab": b"\t", "f3": b"\x1bOR", "escape": b"\x1b"}


def terminal_keys(argv: list[str], marker: str, cwd: Path, setup: list[str],
                  runs: list[tuple[str, list[str], list[str]]], gap: float = 0.08,
                  saves: Path | None = None) -> dict[str, float]:
    """CPU ms per key press in a real terminal, for each (label, first, keys) of ``runs`` in turn
    (``first``: keys pressed before, not counted). Keys are
    sent one at a time, ``gap`` seconds apart (a fast typist); the CPU the program spends over the
    same time with no key pressed (cursor blink, timers) is measured first and taken off. With
    ``saves``, a run whose label says it saves must have made that file grow (else the keys did not
    do what they were meant to, and the figure would flatter us)."""
    term = Terminal(argv, cwd)
    out: dict[str, float] = {}
    try:
        term.wait_for(marker)
        for k in setup:
            term.send(KEY.get(k, k.encode("utf-8")))
            term.drain(0.5)
        term.drain(1.0)
        n = max(len(keys) for _, _, keys in runs)
        c = term.cpu()
        term.drain(n * gap + 0.5)
        idle = term.cpu() - c
        for label, first, keys in runs:
            for k in first:
                term.send(KEY.get(k, k.encode("utf-8")))
                term.drain(0.5)
            size = saves.stat().st_size if saves else 0
            c = term.cpu()
            for k in keys:
                term.send(KEY.get(k, k.encode("utf-8")))
                term.drain(gap)
            term.drain(0.5 + (n - len(keys)) * gap)
            out[label] = (term.cpu() - c - idle) * 1000 / len(keys)
            if saves and "save" in label and saves.stat().st_size == size:
                raise RuntimeError(f"{label}: nothing was saved, the keys missed")
    finally:
        term.kill()
    return out


BARE_KEYS_APP = """
from textual.app import App
from textual.widgets import Footer, Input, OptionList

class Bare(App):
    def compose(self):
        yield OptionList(*[f"检查项 {k}" for k in range(36)])
        yield Input()
        yield Footer()

Bare().run()
"""


def terminal_main(repeat: int, big_branches: int, only: str | None = None, n_keys: int = 60) -> None:
    """Ours and the bare app alternately, ``repeat`` rounds; best wall and best CPU of each."""
    from inspect_tui.store.session import Session

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        one, many, n_one, n_many = build(folder, 40, 5)
        big_dir = folder / "big"
        big_dir.mkdir()
        _, big, _, n_big = build(big_dir, big_branches, 5)
        exe = str(Path(sys.executable).parent / "inspect-tui")
        bare_argv = [sys.executable, "-c", BARE_APP]
        cases = []
        for label, path, n in (("inspector's copy", one, n_one), ("leader's merged file", many, n_many),
                               ("large merged file", big, n_big)):
            with Session.open(path, readonly=True) as s:
                cases.append((label, path, n, s.branches()[0].data["name"]))
        terminal_start([exe, str(one)], cases[0][3], folder)  # warm-up: byte code written, files cached
        terminal_start(bare_argv, "第1裸党支部", folder)
        print(f"# inspect-tui in a real terminal (120×40 pty) — {platform.python_version()}, {platform.machine()}, "
              f"best of {repeat}\n")
        if only != "keys":
            terminal_startup(repeat, exe, bare_argv, cases, folder)
        if only != "start":
            terminal_per_key(repeat, exe, one, cases[0][3], folder, n_keys)


def terminal_startup(repeat: int, exe: str, bare_argv: list[str], cases: list[tuple[str, Path, int, str]],
                     folder: Path) -> None:
    """Each file opened for the first time (no stored branches list: the cache emptied before each
    run) and again (its list stored by an earlier open, which is left running until it has)."""
    import shutil

    tables = folder / "cache" / "inspect-tui" / "branch-tables"
    bare: list[tuple[float, float]] = []
    ours: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for _ in range(repeat):
        for label, path, _n, first in cases:
            shutil.rmtree(tables, ignore_errors=True)
            bare.append(terminal_start(bare_argv, "第1裸党支部", folder))
            ours.setdefault((label, "first"), []).append(terminal_start([exe, str(path)], first, folder, linger=4.0))
            bare.append(terminal_start(bare_argv, "第1裸党支部", folder))
            ours.setdefault((label, "again"), []).append(terminal_start([exe, str(path)], first, folder))
    bare_wall, bare_cpu = min(w for w, _ in bare), min(c for _, c in bare)
    print(f"Start-up, load average {_load()} at the end:\n")
    print("| session | records | opened | inspect-tui, process start → branch table on screen: wall / CPU "
          "| bare Textual app: wall / CPU | ratio wall / CPU |")
    print("|---|---|---|---|---|---|")
    for label, _path, n, _first in cases:
        for when, said in (("first", "first time"), ("again", "again")):
            runs = ours[(label, when)]
            wall, cpu = min(w for w, _ in runs), min(c for _, c in runs)
            print(f"| {label} | {n} | {said} | {wall * 1000:.0f} ms / {cpu * 1000:.0f} ms "
                  f"| {bare_wall * 1000:.0f} ms / {bare_cpu * 1000:.0f} ms "
                  f"| {wall / bare_wall:.2f}× / {cpu / bare_cpu:.2f}× |")
    print()


def terminal_per_key(repeat: int, exe: str, path: Path, marker: str, folder: Path, n: int) -> None:
    """CPU per key in the branch screen (看 and 评) of an inspector's copy, beside a bare app (an
    OptionList of 36 items, an Input, a Footer) given the same keys in the same terminal."""
    text = list("党务公开栏内容更新不及时部分材料仍为去年" * (n // 20 + 1))[:n]
    moves = ["down", "up"] * (n // 2)
    ours_runs = [("move between items (看, ↓/↑)", [], moves),
                 ("type Chinese into a note", ["tab"], text),
                 ("set a status (y/p: save + re-score)", ["escape", "down"], ["p", "up", "y", "up"] * (n // 4)),
                 ("move between items (评, ↓/↑)", ["5"], moves)]
    bare_runs = [("move", [], moves), ("type", ["tab"], text)]
    ours: list[dict[str, float]] = []
    bare: list[dict[str, float]] = []
    for _ in range(repeat):
        bare.append(terminal_keys([sys.executable, "-c", BARE_KEYS_APP], "检查项 0", folder, [], bare_runs))
        ours.append(terminal_keys([exe, str(path)], marker, folder, ["enter", "f3"], ours_runs, saves=path))
    print(f"CPU per key press, {n} keys {0.08 * 1000:.0f} ms apart, idle CPU taken off, load average {_load()} "
          "at the end:\n")
    print("| key presses | inspect-tui | bare Textual app, same keys |")
    print("|---|---|---|")
    for label, _, _ in ours_runs:
        ref = min(b["type" if "type" in label else "move"] for b in bare)
        print(f"| {label} | {min(o[label] for o in ours):.1f} ms | {ref:.1f} ms |")
    print()


def _load() -> str:
    try:
        with open("/proc/loadavg", encoding="ascii") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "unknown"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--terminal", action="store_true", help="start-up in a real (pseudo-)terminal")
    ap.add_argument("--only", choices=("start", "keys"), help="--terminal: only start-up, or only key presses")
    ap.add_argument("--big-branches", type=int, default=160, help="branches of the large file (--terminal)")
    ap.add_argument("--branches", type=int, default=40)
    ap.add_argument("--inspectors", type=int, default=5)
    ap.add_argument("--keys", type=int, default=60)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if args.terminal:
        terminal_main(args.repeat, args.big_branches, args.only, args.keys)
        return
    with tempfile.TemporaryDirectory() as tmp:
        one, many, n_one, n_many = build(Path(tmp), args.branches, args.inspectors)
        print(f"# TUI benchmark — {platform.python_version()}, {platform.machine()}\n")
        print(f"Sessions: {args.branches} branches × default checklist; inspector copy {n_one} records, "
              f"merged ({args.inspectors} inspectors) {n_many} records.\n")
        print("| measurement | inspect-tui | naive baseline |")
        print("|---|---|---|")
        for label, path, n in (("inspector copy", one, n_one), ("merged file", many, n_many)):
            ours = [asyncio.run(first_screen(path)) for _ in range(args.repeat)]
            base = [naive_open(path) for _ in range(args.repeat)]
            best = min(t for t, _ in ours)
            print(f"| first usable screen, {label} ({n} records, {ours[0][1]} branches), best of {args.repeat} "
                  f"| {best * 1000:.0f} ms | {min(base) * 1000:.0f} ms (load + score only, no UI) |")
            parts = [open_parts(path) for _ in range(args.repeat)]
            print(f"| · of which, in the worker: Session.open / score all branches ({label}) "
                  f"| {min(p[0] for p in parts) * 1000:.0f} ms / {min(p[1] for p in parts) * 1000:.0f} ms | — |")
        bare_ms = min(asyncio.run(bare_start()) for _ in range(args.repeat)) * 1000
        print(f"| · for scale: a bare Textual app (Header, 40-row table, Footer) to its first screen "
              f"| {bare_ms:.0f} ms | — |")
        runs = [asyncio.run(keystrokes(one, args.keys)) for _ in range(args.repeat)]
        bare = [asyncio.run(floor(args.keys)) for _ in range(args.repeat)]
        move_floor, type_floor = min(b["move"] for b in bare), min(b["type"] for b in bare)
        for label in runs[0]:
            cpu = min(r[label][0] for r in runs)
            wall = min(r[label][1] for r in runs)
            if "median" in label:
                print(f"| {label} | {cpu:.2f} ms | — |")
                continue
            ref = type_floor if "type" in label else move_floor
            print(f"| {label}, per key (best of {args.repeat}) | {cpu:.1f} ms CPU ({wall:.0f} ms wall incl. Pilot) "
                  f"| bare Textual app, same keys: {ref:.1f} ms CPU |")


if __name__ == "__main__":
    main()

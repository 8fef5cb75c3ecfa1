"""Every subcommand against a hostile world: no traceback, a message, and no input file changed.

The table has one row per subcommand, read from the CLI parser itself
(``test_the_table_covers_every_subcommand``), so a new subcommand cannot be added without being
tried here. Each row builds its arguments from a ``World`` — where its inputs are, where it writes,
which name and date it is given — and each condition makes that world hostile in one way:

* a full disk and a read-only target: a small tmpfs (full, or remounted read-only) when this
  process may mount (root in CI), else the same refusals raised in-process (``_Refusing``);
* inputs missing, unreadable (no permission), a folder instead of a file, binary garbage with NUL
  bytes, nested 100,000 deep;
* a date that does not exist, names 201 characters long, blank, or with a NUL byte.

``main()`` runs in-process with ``INSPECT_TUI_DEBUG=1`` (conftest), so a defect raises and fails
the test instead of being turned into a crash report.
"""

from __future__ import annotations

import argparse
import builtins
import contextlib
import errno
import hashlib
import io
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import pytest
from conftest import small_session

from inspect_tui.cli import build_parser, main
from inspect_tui.core.checklist_load import DEFAULT_CHECKLIST_PATH, load_default_checklist
from inspect_tui.errors import EXIT_BUG
from inspect_tui.store.session import new_session

DEEP = 100_000


@dataclass(frozen=True)
class World:
    session: Path  # read, and written in place by the IN_PLACE commands
    other: Path  # a second session (merge)
    plan: Path
    checklist: Path
    pdf: Path
    scored: Path  # a visit whose branches are scored (what the reports sum up)
    out: Path  # a file to create
    outdir: Path  # a folder to create or fill
    name: str = "张伟"
    day: str = "2026-11-20"


COMMANDS: dict[tuple[str, ...], Callable[[World], list[object]]] = {
    ("checklist", "validate"): lambda w: [w.checklist],
    ("checklist", "show"): lambda w: [w.checklist],
    ("session", "new"): lambda w: ["--group", w.name, "--inspector", w.name, "--date", w.day, "--plan", w.plan,
                                   "--branch", w.name, "--inspectors", w.name, "-o", w.out],
    ("session", "check"): lambda w: [w.session, w.other],
    ("session", "show"): lambda w: [w.session],
    ("session", "digest"): lambda w: [w.session],
    ("session", "log"): lambda w: [w.session],
    ("session", "recover"): lambda w: [w.session, "-o", w.out],
    ("session", "photos"): lambda w: [w.session],
    ("handout",): lambda w: [w.session, "--to", w.name, "-o", w.out],
    ("merge",): lambda w: [w.session, w.other, "-o", w.out, "--as", w.name, "--checklist", w.checklist],
    ("disagreements",): lambda w: [w.session, "--branch", w.name],
    ("settle",): lambda w: [w.session, "--branch", "1", "--item", "pol-01", "--field", "score", "--value", "1",
                            "--reason", w.name],
    ("export",): lambda w: ["all", w.session, "--branch", "1", "-o", w.outdir, "-q", "-j", "1"],
    ("verify",): lambda w: [w.pdf, "--session", w.session],
    ("followup", "new"): lambda w: [w.pdf, "--session", w.session, "-o", w.out, "--inspector", w.name, "--date", w.day],
    ("followup", "show"): lambda w: [w.session, "--today", w.day],
    ("followup", "set"): lambda w: [w.session, w.name, "--measures", w.name],
    ("followup", "close"): lambda w: [w.session, w.name, "--checker", w.name, "--date", w.day],
    ("followup", "reopen"): lambda w: [w.session, w.name, "--reason", w.name, "--deadline", w.day],
    ("followup", "attach"): lambda w: [w.session, w.pdf],
    ("followup", "export"): lambda w: [w.session, "-o", w.outdir, "--today", w.day],
    ("followup", "import"): lambda w: [w.session, w.other],
    ("demo",): lambda w: [w.outdir, "--branches", "1", "--inspectors", "1"],
    ("report", "group"): lambda w: [w.scored, "-o", w.outdir, "--draft", "--csv", "--next-steps", w.plan],
    ("report", "rollup"): lambda w: [w.scored, w.session, "-o", w.outdir, "--draft", "-j", "1",
                                     "--cache", w.outdir / "cache"],
    ("doctor",): lambda w: ["--sessions-dir", w.outdir, "--exports-dir", w.outdir / "exports"],
}


#: Commands that write their session in place (export records the numbers it issues): in the
#: full/read-only test that session lives in the target.
IN_PLACE = {("settle",), ("session", "photos"), ("export",)}  # export records its 发文字号


def subcommands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield prefix
    for action in subs:
        for name, sub in action.choices.items():
            yield from subcommands(sub, (*prefix, name))


def test_the_table_covers_every_subcommand():
    assert set(subcommands(build_parser())) == set(COMMANDS)


# --------------------------------------------------------------------------- the hostile file system


def _can_mount() -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    probe = Path(f"/tmp/inspect-tui-mount-probe-{os.getpid()}")
    probe.mkdir(exist_ok=True)
    try:
        ok = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe)],
                            capture_output=True).returncode == 0
        if ok:
            subprocess.run(["umount", str(probe)], check=True)
        return ok
    finally:
        probe.rmdir()


MOUNT = _can_mount() and not os.environ.get("INSPECT_TUI_TEST_NO_MOUNT")


class _Refusing:
    """Creating or writing anything under ``root`` fails with ``error``, in-process (``os.open``
    with a write flag, ``open`` for writing, ``mkdir``, ``replace``/``rename``); with ``reads``,
    opening anything there at all (a root process reads any file whatever its mode)."""

    def __init__(self, root: Path, error: int, monkeypatch: pytest.MonkeyPatch, *, reads: bool = False) -> None:
        self.root, self.error = str(root.resolve()), error
        real_open, real_builtin_open = os.open, builtins.open
        real_mkdir, real_replace, real_rename = os.mkdir, os.replace, os.rename
        writing = -1 if reads else os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
        write_modes = set("rwax+") if reads else set("wax+")

        def os_open(path, flags, *a, **k):
            if flags & writing or reads:
                self.check(path)
            return real_open(path, flags, *a, **k)

        def b_open(file, mode="r", *a, **k):
            if isinstance(file, str | os.PathLike) and set(str(mode)) & write_modes:
                self.check(file)
            return real_builtin_open(file, mode, *a, **k)

        def mkdir(path, *a, **k):
            self.check(path)
            return real_mkdir(path, *a, **k)

        def moved(real):
            def move(src, dst, *a, **k):
                self.check(dst)
                return real(src, dst, *a, **k)
            return move

        monkeypatch.setattr(os, "open", os_open)
        monkeypatch.setattr(builtins, "open", b_open)
        monkeypatch.setattr(io, "open", b_open)  # pathlib's read_bytes/write_text
        monkeypatch.setattr(os, "mkdir", mkdir)
        monkeypatch.setattr(os, "replace", moved(real_replace))
        monkeypatch.setattr(os, "rename", moved(real_rename))

    def check(self, path) -> None:
        if isinstance(path, int):
            return
        full = os.path.abspath(os.fspath(path))
        if full == self.root or full.startswith(self.root + os.sep):
            raise OSError(self.error, os.strerror(self.error), os.fspath(path))


@contextlib.contextmanager
def hostile_fs(root: Path, kind: str, populate: Callable[[Path], None],
               monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``root`` holds what ``populate`` puts there, then is full (``kind="full"``) or read-only."""
    root.mkdir()
    if not MOUNT:
        populate(root)
        _Refusing(root, errno.ENOSPC if kind == "full" else errno.EROFS, monkeypatch)
        yield
        return
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(root)], check=True)
    try:
        populate(root)
        if kind == "full":
            with contextlib.suppress(OSError), open(root / "filler", "wb") as f:
                while True:
                    f.write(b"\0" * 65536)
                    f.flush()
        else:
            subprocess.run(["mount", "-o", "remount,ro", str(root)], check=True)
        yield
    finally:
        subprocess.run(["umount", "-l", str(root)], check=True)


# --------------------------------------------------------------------------- the inputs


def _session(path: Path, inspector: str) -> Path:
    s = new_session(path.parent, group="第三观摩小组", day=date(2026, 11, 20), inspector=inspector,
                    checklist=load_default_checklist(), branches=["省财政厅办公室党支部"], path=path)
    s.close()
    return path


@pytest.fixture
def good(tmp_path: Path) -> World:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    plan = inputs / "plan.yaml"
    plan.write_text("group: 第三观摩小组\ndate: 2026-11-20\nbranches: [省财政厅办公室党支部]\n", encoding="utf-8")
    checklist = inputs / "checklist.yaml"
    shutil.copy(DEFAULT_CHECKLIST_PATH, checklist)
    pdf = inputs / "通知书.pdf"
    pdf.write_bytes(b"%PDF-1.7\n%\xe2\xe3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n")
    out = tmp_path / "out"
    out.mkdir()
    return World(session=_session(inputs / "a.jsonl", "张伟"), other=_session(inputs / "b.jsonl", "李秀英"),
                 plan=plan, checklist=checklist, pdf=pdf, scored=small_session(inputs, "scored.jsonl"),
                 out=out / "result.jsonl", outdir=out / "folder")


INPUTS = ("session", "other", "plan", "checklist", "pdf", "scored")


def _inputs(w: World) -> list[Path]:
    return [getattr(w, f) for f in INPUTS]


def _bad_inputs(w: World, folder: Path, make: Callable[[Path, str], None]) -> World:
    folder.mkdir()
    paths = {}
    for field in INPUTS:
        p = folder / getattr(w, field).name
        make(p, p.suffix)
        paths[field] = p
    return replace(w, **paths)


def _garbage(p: Path, suffix: str) -> None:
    p.write_bytes(b'{"format": "inspect-tui-session"\x00\xff\xfe branches: [\x00]\n\x00\x81\xfe\n')


def _deep(p: Path, suffix: str) -> None:
    if suffix == ".jsonl":
        p.write_text('{"format": "inspect-tui-session", "version": 1}\n' + "[" * DEEP + "]" * DEEP + "\n")
    else:
        p.write_text("branches: " + "[" * DEEP + "]" * DEEP + "\nid: " + "{a: " * 5000 + "1" + "}" * 5000)


def _nul_text(p: Path, suffix: str) -> None:
    if suffix == ".jsonl":
        p.write_text('{"format": "inspect-tui-session", "version": 1}\n{"t": "a\x00b"}\n')
    else:
        p.write_text("group: a\x00b\nbranches: [a\x00b]\nid: x\x00\n")


def _plan_with(w: World, folder: Path, text: str) -> World:
    folder.mkdir()
    plan = folder / "plan.yaml"
    plan.write_text(text, encoding="utf-8")
    return replace(w, plan=plan)


CONDITIONS: dict[str, Callable[[World, Path], World]] = {
    "missing input": lambda w, t: replace(w, **{f: t / "没有这个文件" / getattr(w, f).name
                                               for f in INPUTS}),
    "folder as input": lambda w, t: _bad_inputs(w, t / "dirs", lambda p, s: p.mkdir()),
    "no permission to read": lambda w, t: w,  # the inputs' folder refuses every open (see the test)
    "binary garbage with NUL": lambda w, t: _bad_inputs(w, t / "garbage", _garbage),
    "text with NUL": lambda w, t: _bad_inputs(w, t / "nul", _nul_text),
    "nested 100,000 deep": lambda w, t: _bad_inputs(w, t / "deep", _deep),
    "date that does not exist": lambda w, t: replace(
        _plan_with(w, t / "baddate", "date: 2026-13-45\nbranches: [甲支部]\n"), day="2026-13-45"),
    "name of 201 characters": lambda w, t: replace(
        _plan_with(w, t / "long", f"branches: [{'长' * 201}]\ninspectors: [{'长' * 201}]\n"), name="长" * 201),
    "blank name": lambda w, t: replace(_plan_with(w, t / "blank", "branches: ['  ']\n"), name="  "),
    "name with NUL": lambda w, t: replace(_plan_with(w, t / "nulname", 'branches: ["甲\\0乙"]\n'), name="甲\x00乙"),
}


def _digest(paths: list[Path]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for p in paths:
        out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else None
    return out


def _files(root: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in root.rglob("*") if p.is_file() and p.name != "filler"}


def _run(command: tuple[str, ...], w: World, capsys) -> tuple[int, str]:
    capsys.readouterr()
    argv = [*command, *map(str, COMMANDS[command](w))]
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.err + captured.out  # doctor and verify report on stdout


def _assert_clean(code: int, out: str, argv_desc: str) -> None:
    assert code != EXIT_BUG and "Traceback" not in out, f"{argv_desc}: {out}"
    # 4 and 5 are session check's documented states (torn tail, damaged)
    allowed = (0, 1, 2, 3, 4, 5, 6) if argv_desc.startswith("session check") else (0, 1, 2, 3)
    assert code in allowed, f"{argv_desc}: exit {code}: {out}"
    if code != 0:
        assert out.strip(), f"{argv_desc}: exit {code} without a message"


@pytest.mark.parametrize("condition", list(CONDITIONS))
@pytest.mark.parametrize("command", list(COMMANDS), ids=" ".join)
def test_bad_inputs_give_a_message_and_change_nothing(command, condition, good, tmp_path, capsys,
                                                      monkeypatch):
    monkeypatch.chdir(tmp_path)
    w = CONDITIONS[condition](good, tmp_path)
    inputs = _inputs(w)
    before = _digest(inputs)
    with monkeypatch.context() as refusing:
        if condition == "no permission to read":
            _Refusing(w.session.parent, errno.EACCES, refusing, reads=True)
        code, err = _run(command, w, capsys)
    _assert_clean(code, err, f"{' '.join(command)} / {condition}")
    after = _digest(inputs)
    if command in IN_PLACE and code == 0:  # writing its session in place is its job
        before.pop(str(w.session)), after.pop(str(w.session))
    assert after == before, f"{' '.join(command)} / {condition} changed an input"
    # What was accepted must be sound, not a file nothing can open (recover copies whatever is
    # intact, which from garbage is nothing: its output is a rescue, not a session).
    if code == 0 and w.out.is_file() and command != ("session", "recover"):
        assert main(["session", "check", str(w.out)]) == 0, f"{' '.join(command)} / {condition}"


@pytest.mark.parametrize("kind", ["full", "read-only"])
@pytest.mark.parametrize("command", list(COMMANDS), ids=" ".join)
def test_full_disk_and_read_only_target(command, kind, good, tmp_path, capsys, monkeypatch):
    """Outputs go to the hostile folder; the session of an IN_PLACE command lives there too."""
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "target"

    def populate(root: Path) -> None:
        shutil.copy(good.session, root / "a.jsonl")

    with hostile_fs(target, kind, populate, monkeypatch):
        w = replace(good, out=target / "result.jsonl", outdir=target / "folder")
        if command in IN_PLACE:
            w = replace(w, session=target / "a.jsonl")
        inputs = _inputs(w)
        before, files_before = _digest(inputs), _files(target)
        code, err = _run(command, w, capsys)
        _assert_clean(code, err, f"{' '.join(command)} / {kind}")
        after = _digest(inputs)
        if command in IN_PLACE:
            # A tmpfs file's last page may still have room for a whole committed change (export
            # records its numbers before the PDFs fail): allowed, if the session is still sound.
            before.pop(str(w.session)), after.pop(str(w.session)), files_before.pop(str(w.session))
            assert main(["session", "check", str(w.session)]) == 0
        assert after == before
        if code != 0:  # nothing half-written left behind in the target (the writer's lock sidecar aside)
            companions = {str(w.session), str(w.session.with_name(f".{w.session.name}.lock"))}
            assert {k: v for k, v in _files(target).items() if k not in companions} == files_before, err
        if command in WRITERS:
            assert code != 0, f"{' '.join(command)} / {kind}: wrote to a {kind} target?"
        if command[0] == "report":  # the machine refused: 3, not a mistake in the input (2)
            assert code == 3, f"{' '.join(command)} / {kind}: exit {code}\n{err}"
        if code == 3:
            assert str(target) in err or "target" in err, err


#: Commands whose output goes to the hostile target (``settle`` may still fit in its file's last page).
WRITERS = {("session", "new"), ("session", "recover"), ("handout",), ("merge",), ("export",), ("demo",),
           ("doctor",), ("report", "group"), ("report", "rollup")}


def test_a_defect_leaves_a_crash_report_not_a_traceback(tmp_path, capsys, monkeypatch):
    import inspect_tui.cli.doctor_cmd as doctor

    monkeypatch.delenv("INSPECT_TUI_DEBUG")
    monkeypatch.setenv("INSPECT_TUI_CRASH_DIR", str(tmp_path / "crashes"))
    monkeypatch.setattr(doctor, "run_checks", lambda *a: [][1])  # an IndexError of ours
    assert main(["doctor"]) == EXIT_BUG
    err = capsys.readouterr().err
    assert "Traceback" not in err and "缺陷" in err and len(err.splitlines()) == 1
    (report,) = (tmp_path / "crashes").iterdir()
    assert str(report) in err
    text = report.read_text(encoding="utf-8")
    assert "IndexError" in text and "Traceback" in text and "'doctor'" in text


def test_argument_mistakes_are_explained_in_chinese(capsys):
    assert main(["session", "new"]) == 2
    err = capsys.readouterr().err
    assert "缺少必需的参数：--group" in err and "用法：" in err and "required" not in err
    assert main(["export", "everything", "x.jsonl"]) == 2
    assert "不是可选的值" in capsys.readouterr().err
    assert main(["--help"]) == 0
    assert main(["--read-only", "--no-such-flag"]) == 2  # the app's own arguments, before any screen
    assert "无法识别的参数：--no-such-flag" in capsys.readouterr().err


def test_a_terminal_is_shown_no_bidi_control_and_a_pipe_gets_the_text_as_recorded(tmp_path):
    """A right-to-left override in a typed name would make a listing read otherwise on a terminal
    that does bidi, and an escape sequence could clear it; piped output stays exact."""
    import pty
    import sys

    name = tmp_path / "会话\u202e甲乙\x1b[2J.jsonl"
    argv = [sys.executable, "-m", "inspect_tui", "session", "show", str(name)]
    piped = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert piped.returncode == 2 and "\u202e甲乙\x1b[2J" in piped.stderr
    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.execv(sys.executable, argv)
    seen = b""
    with contextlib.suppress(OSError):
        while chunk := os.read(fd, 4096):
            seen += chunk
    assert os.waitpid(pid, 0)[1] >> 8 == 2
    shown = seen.decode("utf-8")
    assert "会话甲乙␛[2J.jsonl" in shown and "\u202e" not in shown and "\x1b[2J" not in shown

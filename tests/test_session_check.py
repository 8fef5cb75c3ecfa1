"""``session check`` says, per file, exactly which state it is in — with the line, the byte count,
the writer, the number of records and their digest — and exits with that state's code.

Every state of ``integrity.State`` is produced from one real session and the whole output compared,
so a wrong word, number or exit code fails here, not only a crash.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from inspect_tui.cli import main
from inspect_tui.cli.demo_cmd import write_demo
from inspect_tui.core.versions import digest
from inspect_tui.store.lines import encode_line
from inspect_tui.store.session_file import FORMAT, SessionFile, read_session

RECOVER = "损坏的文件可用 inspect-tui session recover 文件 -o 新文件 抢救其中全部完好的修改（原文件不会被改动）。"
NOBODY = "没有进程在写入——程序曾崩溃，或这是在某行之后被截断（或在写入中途拷贝）的副本，无法区分"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[bytes], str]:
    """A sealed demo session, its lines and what every report on its records ends with."""
    [path] = write_demo(tmp_path_factory.mktemp("demo"), branches=1, inspectors=1, seed=3)
    records = read_session(path)[1]
    return path, path.read_bytes().splitlines(keepends=True), f"（{len(records)} 条记录，摘要 {digest(records)}）"


def check(capsys: pytest.CaptureFixture[str], *paths: Path) -> tuple[int, str, str]:
    code = main(["session", "check", *map(str, paths)])
    out, err = capsys.readouterr()
    return code, out, err


def copy(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_sealed(demo, capsys) -> None:
    path, lines, tail = demo
    assert len(lines) == 5  # header, meta, records, log, seal
    assert check(capsys, path) == (0, f"{path}: 正常：完好，已正常关闭（封存于第 5 行）{tail}\n", "")


def test_sealed_without_the_last_newline_is_still_sealed(demo, tmp_path, capsys) -> None:
    path, lines, tail = demo
    cut = copy(tmp_path, "n.jsonl", b"".join(lines)[:-1])
    assert check(capsys, cut) == (0, f"{cut}: 正常：完好，已正常关闭（封存于第 5 行）{tail}\n", "")


def test_open_by_a_writer(demo, tmp_path, capsys) -> None:
    path, lines, tail = demo
    live = copy(tmp_path, "live.jsonl", b"".join(lines))
    with SessionFile.open(live):
        code, out, err = check(capsys, live)
    who = f"pid {os.getpid()}，主机 {socket.gethostname()}"
    assert (code, out, err) == (0, f"{live}: 正常：完好，正被写入（{who}），关闭时封存{tail}\n", "")


def test_unsealed(demo, tmp_path, capsys) -> None:
    path, lines, tail = demo
    cut = copy(tmp_path, "u.jsonl", b"".join(lines[:-1]))
    assert check(capsys, cut) == (4, f"{cut}: 注意：内容完好，但未正常关闭：{NOBODY}{tail}\n", "")


def test_unsealed_format_1_cannot_prove_it_is_whole(demo, tmp_path, capsys) -> None:
    path, lines, tail = demo
    meta, records, log = read_session(path)
    old = copy(tmp_path, "v1.jsonl", encode_line({"format": FORMAT, "version": 1}) + b"".join(
        encode_line({"t": t, "set": {str(i): d for i, d in enumerate(docs, 1)}})
        for t, docs in (("meta", [meta]), ("records", records), ("log", log))))
    note = "格式版本 1 没有封存，无法证明完整（以写入方式打开一次即升级到当前格式）"
    assert check(capsys, old) == (4, f"{old}: 注意：内容完好，但未正常关闭：{note}{tail}\n", "")


def test_torn(demo, tmp_path, capsys) -> None:
    path, lines, tail = demo
    torn = copy(tmp_path, "t.jsonl", b"".join(lines[:-1]) + lines[-1][:10])
    what = "末尾 10 字节是未完成的写入，已忽略；其前内容完好，未正常关闭：没有进程在写入——程序曾在写入中途崩溃，或这是中途截断的副本"
    assert check(capsys, torn) == (5, f"{torn}: 注意：{what}{tail}\n", "")


def test_torn_while_a_writer_has_it(demo, tmp_path, capsys) -> None:
    path, lines, tail = demo
    live = copy(tmp_path, "live.jsonl", b"".join(lines))
    with SessionFile.open(live):
        with open(live, "ab") as f:
            f.write(b'{"t":"rec')
        code, out, err = check(capsys, live)
    who = f"pid {os.getpid()}，主机 {socket.gethostname()}"
    what = f"末尾 9 字节是未完成的写入，已忽略；其前内容完好，未正常关闭；正被写入（{who}）"
    assert (code, out, err) == (5, f"{live}: 注意：{what}{tail}\n", "")


def test_damaged_names_the_line_and_how_to_recover(demo, tmp_path, capsys) -> None:
    path, lines, tail = demo
    bad = list(lines)
    bad[2] = bad[2].replace(b'"', b"'", 1)
    damaged = copy(tmp_path, "d.jsonl", b"".join(bad))
    err = f"inspect-tui: 1 处问题\n{damaged}:3: 已损坏：第 3 行：校验和不符（该行被改动或已损坏）\n{RECOVER}\n"
    assert check(capsys, damaged) == (6, "", err)


def test_several_files_each_reported_and_the_worst_code_returned(demo, tmp_path, capsys) -> None:
    path, lines, tail = demo
    cut = copy(tmp_path, "u.jsonl", b"".join(lines[:-1]))
    missing = tmp_path / "missing.jsonl"
    code, out, err = check(capsys, path, missing, cut)
    assert code == 4  # unsealed (4) is worse than "cannot be read" (2) and sealed (0)
    assert out.splitlines() == [f"{path}: 正常：完好，已正常关闭（封存于第 5 行）{tail}",
                                f"{cut}: 注意：内容完好，但未正常关闭：{NOBODY}{tail}"]
    assert err == f"inspect-tui: 1 处问题\n{missing}: 会话文件不存在\n"


def test_a_damaged_file_among_others_gives_the_recovery_hint(demo, tmp_path, capsys) -> None:
    path, lines, tail = demo
    torn = copy(tmp_path, "t.jsonl", b"".join(lines[:-1]) + lines[-1][:10])
    damaged = copy(tmp_path, "d.jsonl", b"".join(lines[:3]) + lines[2] + b"".join(lines[3:]))
    code, out, err = check(capsys, torn, damaged)
    assert code == 6 and out.startswith(f"{torn}: 注意：末尾 10 字节")
    assert err.startswith(f"inspect-tui: 1 处问题\n{damaged}:4: 已损坏：第 4 行") and err.endswith(f"\n{RECOVER}\n")


def test_a_copy_cut_inside_its_session_line_is_said_to_be_cut_not_invalid(demo, tmp_path, capsys) -> None:
    """Cut inside line 2 (the session's own line), a copy used to get five schema complaints, a
    digest of nothing (exit 0) and a "recovered" file that ``check`` then refused."""
    path, lines, _ = demo
    cut = copy(tmp_path, "cut.jsonl", lines[0] + lines[1][: len(lines[1]) // 2])
    code, _, err = check(capsys, cut)
    assert code == 2 and f"{cut}: 文件在开头就被截断：会话信息所在的一行不完整" in err and "缺少" not in err
    assert main(["session", "digest", str(cut)]) == 2
    assert "找不到会话信息" in capsys.readouterr().err
    assert main(["session", "recover", str(cut), "-o", str(tmp_path / "r.jsonl")]) == 2
    assert "未写入任何内容" in capsys.readouterr().err and not (tmp_path / "r.jsonl").exists()


def test_recover_says_a_torn_tail_was_dropped_not_that_nothing_was_wrong(demo, tmp_path, capsys) -> None:
    path, lines, _ = demo
    cut = copy(tmp_path, "cut.jsonl", b"".join(lines[:-2]) + lines[-2][:40])
    assert main(["session", "recover", str(cut), "-o", str(tmp_path / "r.jsonl")]) == 0
    out = capsys.readouterr().out
    assert "末尾是未完成的写入（拷贝被截断，或写入中途中断），已丢弃 1 行" in out and "没有发现损坏" not in out

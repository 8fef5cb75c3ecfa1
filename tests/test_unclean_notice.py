"""A session file not closed cleanly is said so whenever a command opens it: opening drops a torn last
write and a writable open seals the file again, so a copy cut short would otherwise pass, unremarked,
as a shorter sound session (and come out of ``export`` sealed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import small_session

from inspect_tui.cli import main


@pytest.fixture
def sound(tmp_path: Path) -> Path:
    return small_session(tmp_path)


def cut_mid_line(path: Path) -> int:
    lines = path.read_bytes().splitlines(keepends=True)
    torn = len(lines[-2]) // 2
    path.write_bytes(b"".join(lines[:-2]) + lines[-2][:torn])
    return torn


def cut_after_a_line(path: Path) -> None:
    lines = path.read_bytes().splitlines(keepends=True)
    path.write_bytes(b"".join(lines[:-1]))  # the seal gone


@pytest.mark.parametrize("command", [["session", "show"], ["export", "feedback", "--draft", "--branch", "1"]])
def test_a_torn_copy_is_named_with_what_was_dropped(sound, tmp_path, capsys, command):
    torn = cut_mid_line(sound)
    out = ["-o", str(tmp_path / "out")] if command[0] == "export" else []
    main([*command[:2], str(sound), *command[2:], *out])
    err = capsys.readouterr().err
    assert f"inspect-tui: 注意：{sound}: 末尾 {torn} 字节是未完成的写入，已忽略；其前内容完好，未正常关闭：" \
           "没有进程在写入——程序曾在写入中途崩溃，或这是中途截断的副本" in err, err


@pytest.mark.parametrize("command", [["export", "feedback", "{}", "--branch", "1", "-o", "{}/out"],
                                     ["settle", "{}", "--branch", "1", "--item", "1", "--field", "分数", "--value", "1"]])
def test_a_command_that_writes_refuses_a_torn_copy_and_leaves_it_as_it_was(sound, tmp_path, capsys, command):
    """Writing would cut the tail off for good and seal what is left as sound: a copy cut short
    would then pass every later check. The app (which says what it drops) may; a command may not."""
    cut_mid_line(sound)
    before = sound.read_bytes()
    argv = [a.format(sound if a == "{}" else tmp_path) for a in command]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"{sound}: 无法以写入方式打开：文件末尾有" in err and "未做任何修改" in err and "session recover" in err
    assert sound.read_bytes() == before and not (tmp_path / "out").exists()


def test_an_unsealed_copy_is_named_and_a_sealed_one_is_not(sound, capsys):
    main(["session", "show", str(sound)])
    assert "注意" not in capsys.readouterr().err
    cut_after_a_line(sound)
    main(["session", "show", str(sound)])
    err = capsys.readouterr().err
    assert f"inspect-tui: 注意：{sound}: 内容完好，但未正常关闭：没有进程在写入——程序曾崩溃，" in err, err


def test_the_app_says_so_when_it_opens_a_copy_not_closed_cleanly(sound):
    import asyncio

    from test_app_startup_cost import _until

    from inspect_tui.tui.app import make_app

    cut_after_a_line(sound)

    async def run() -> list[str]:
        app = make_app(sound, sessions_dir=sound.parent)
        async with app.run_test(size=(100, 30)) as pilot:
            await _until(pilot, app, "BranchesScreen")
            await pilot.pause()
            return [f"{n.title}|{n.message}" for n in app._notifications]

    shown = asyncio.run(run())
    assert f"上次未正常关闭|{sound.name}：内容完好，但未正常关闭：没有进程在写入——程序曾崩溃，或这是在某行之后被截断" \
           "（或在写入中途拷贝）的副本，无法区分。" in shown, shown


def test_the_app_opens_a_torn_copy_read_only_and_leaves_it_as_it_was(sound):
    """Opening and quitting used to cut the tail off and seal the rest as sound, so the cut copy then
    passed ``merge``."""
    import asyncio

    from test_app_startup_cost import _until

    from inspect_tui.tui.app import make_app

    torn = cut_mid_line(sound)
    before = sound.read_bytes()

    async def run() -> tuple[str | None, list[str]]:
        app = make_app(sound, sessions_dir=sound.parent)
        async with app.run_test(size=(100, 30)) as pilot:
            await _until(pilot, app, "BranchesScreen")
            await pilot.pause()
            return app.read_only, [n.message for n in app._notifications]

    read_only, shown = asyncio.run(run())
    assert read_only is not None and f"文件末尾有 {torn} 字节未完成的写入" in read_only
    assert any("可以查看，不能修改" in m for m in shown), shown
    assert sound.read_bytes() == before
    assert main(["merge", str(sound), "-o", str(sound.parent / "m.jsonl")]) == 2


def test_a_report_that_accepted_an_unsealed_copy_says_so_once(sound, tmp_path):
    """The report judges its inputs and names an accepted one itself; reading it again for the
    workbook (in the helper process) must not say it a second time."""
    import subprocess
    import sys

    cut_after_a_line(sound)
    done = subprocess.run([sys.executable, "-m", "inspect_tui", "report", "group", str(sound), "-o",
                           str(tmp_path / "out"), "--draft", "--accept-unsealed", "--cache", str(tmp_path / "c")],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("未正常关闭") == 1 and "报告包含 1 个未正常关闭的会话文件" in done.stderr, done.stderr

"""``doctor``: each check on its own line, marked ✓ or ✗ — the mark is asserted line by line, since a
substring such as "中文字体" is in the ✗ line as much as in the ✓ one."""

from __future__ import annotations

import sys
from importlib import metadata

import pytest

from inspect_tui.cli import doctor_cmd, main
from inspect_tui.export import fonts


def doctor(tmp_path, capsys, sessions=None) -> tuple[int, dict[str, str], list[str], str]:
    """Exit code, {line without its mark: mark}, the lines in order, and the verdict (last line)."""
    code = main(["doctor", "--sessions-dir", str(sessions or tmp_path / "s"), "--exports-dir", str(tmp_path / "e")])
    *lines, verdict = capsys.readouterr().out.splitlines()
    assert all(line[:2] in ("✓ ", "✗ ") for line in lines), lines
    return code, {line[2:]: line[0] for line in lines}, [line[2:] for line in lines], verdict


def marks(found: dict[str, str], start: str) -> list[str]:
    """The marks of the lines starting with ``start``."""
    return [mark for text, mark in found.items() if text.startswith(start)]


@pytest.fixture
def fonts_present(monkeypatch):
    monkeypatch.setattr(fonts, "find_cjk_font", lambda: "Noto Sans CJK SC")
    monkeypatch.setattr(fonts, "harfbuzz_subset_available", lambda: True)
    monkeypatch.setattr(fonts, "has_glyph", lambda ch: True)


def test_doctor_on_a_ready_machine(tmp_path, capsys):
    code, found, lines, verdict = doctor(tmp_path, capsys)
    assert (code, verdict) == (0, "一切就绪。"), lines
    assert set(found.values()) == {"✓"}
    assert lines[0] == f"Python {sys.version.split()[0]}"
    assert lines[1:13] == [f"{dist} {metadata.version(dist)}" for dist in doctor_cmd.PACKAGES]
    assert lines[13:15] == [f"{tmp_path / 's'}: 可写", f"{tmp_path / 'e'}: 可写"]
    assert lines[15].startswith("中文字体：") and lines[16] == "HarfBuzz 子集化库：已找到"
    assert lines[17:] == ["表情符号：可打印", "生僻字（CJK 扩展 B）：可打印", "其他文字（如藏文、蒙古文）：可打印"]
    assert (tmp_path / "s").is_dir() and (tmp_path / "e").is_dir()


def test_doctor_names_what_to_install(tmp_path, capsys, monkeypatch, fonts_present):
    monkeypatch.setattr(fonts, "find_cjk_font", lambda: None)
    monkeypatch.setattr(fonts, "harfbuzz_subset_available", lambda: False)
    code, found, lines, verdict = doctor(tmp_path, capsys)
    assert (code, verdict) == (1, "2 项未通过。")
    failed = [text for text, mark in found.items() if mark == "✗"]
    assert failed == ["未找到中文字体（fontconfig 无 zh 字体）。Debian/Ubuntu：apt-get install fonts-noto-cjk",
                      "缺少 HarfBuzz 子集化库，中文 PDF 会慢约 30 倍。Debian/Ubuntu：apt-get install libharfbuzz-subset0"]
    assert len(found) == 20


def test_missing_fallback_fonts_are_optional(tmp_path, capsys, monkeypatch, fonts_present):
    monkeypatch.setattr(fonts, "has_glyph", lambda ch: ch != "😀")
    code, found, lines, verdict = doctor(tmp_path, capsys)
    assert (code, verdict) == (0, "一切就绪。")
    assert found["表情符号：无字体，将印为占位符 [U+1F600]（可选：apt-get install fonts-noto-color-emoji）"] == "✓"
    assert found["中文字体：Noto Sans CJK SC"] == "✓" and found["生僻字（CJK 扩展 B）：可打印"] == "✓"


def test_doctor_reports_unwritable_folder(tmp_path, capsys, fonts_present):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    code, found, lines, verdict = doctor(tmp_path, capsys, sessions=blocker / "sessions")
    assert (code, verdict) == (1, "1 项未通过。")
    assert marks(found, f"{blocker / 'sessions'}: 不可写（") == ["✗"]
    assert found[f"{tmp_path / 'e'}: 可写"] == "✓"


def test_a_package_that_does_not_import_is_named(tmp_path, capsys, monkeypatch, fonts_present):
    monkeypatch.setattr(doctor_cmd, "PACKAGES", {**doctor_cmd.PACKAGES, "no-such-dist": "no_such_module_here"})
    code, found, lines, verdict = doctor(tmp_path, capsys)
    assert (code, verdict) == (1, "1 项未通过。")
    assert found[f"no-such-dist: 无法导入（ModuleNotFoundError: No module named 'no_such_module_here'）。"
                 f"{doctor_cmd.INSTALL_HINT}"] == "✗"
    assert found[f"textual {metadata.version('textual')}"] == "✓"

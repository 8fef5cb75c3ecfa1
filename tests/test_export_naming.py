"""Output file names are safe whatever a branch is called (pure functions, no rendering)."""

from __future__ import annotations

from pathlib import Path

import pytest

from inspect_tui.core.naming import output_name, safe_stem, unique_names


@pytest.mark.parametrize("name", ["../../etc/x", "..\\..\\Windows\\x", "/etc/passwd", "a/../../b", "...", "./.",
                                  "x\x00y", "a:b*c?d\"e<f>g|h", "\u202eexe.pdf", "  .hidden  "])
def test_no_separators_no_traversal(name, tmp_path):
    stem = safe_stem(name)
    assert stem and "/" not in stem and "\\" not in stem and "\x00" not in stem
    assert not stem.startswith(".") and not stem.endswith((".", " "))
    assert (tmp_path / f"{stem}.pdf").resolve().parent == tmp_path.resolve()


@pytest.mark.parametrize("name", ["CON", "con", "NUL", "PRN.txt", "com1", "LPT9", "aux"])
def test_reserved_windows_names_are_prefixed(name):
    assert safe_stem(name).startswith("_")


def test_chinese_kept_and_length_bounded_in_bytes():
    assert safe_stem("省财政厅办公室党支部") == "省财政厅办公室党支部"
    long = safe_stem("党" * 300)
    assert len(long.encode()) <= 150 and set(long) == {"党"}  # never cut inside a character
    assert len(output_name("点对点反馈意见", "党" * 300).encode()) < 255


def test_empty_and_whitespace_names():
    assert safe_stem("") == safe_stem("   ") == safe_stem("///") == "未命名"


def test_unique_names_case_insensitive():
    assert unique_names(["a.pdf", "A.pdf", "a.pdf", "b"]) == ["a.pdf", "A-2.pdf", "a-3.pdf", "b"]


def test_branch_called_like_a_path_stays_in_the_output_folder(tmp_path: Path):
    name = output_name("整改通知书", "../../etc/x")
    assert (tmp_path / name).resolve().parent == tmp_path.resolve()
    assert name == "整改通知书-etc_x.pdf"

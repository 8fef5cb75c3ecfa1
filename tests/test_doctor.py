from __future__ import annotations

from inspect_tui.cli import main
from inspect_tui.export import fonts


def test_doctor_on_a_ready_machine(tmp_path, capsys):
    code = main(["doctor", "--sessions-dir", str(tmp_path / "s"), "--exports-dir", str(tmp_path / "e")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "✓ textual" in out and "✓ weasyprint" in out and "中文字体" in out and "HarfBuzz" in out
    assert "表情符号" in out and "生僻字" in out
    assert (tmp_path / "s").is_dir() and (tmp_path / "e").is_dir()


def test_doctor_names_what_to_install(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(fonts, "find_cjk_font", lambda: None)
    monkeypatch.setattr(fonts, "harfbuzz_subset_available", lambda: False)
    code = main(["doctor", "--sessions-dir", str(tmp_path / "s"), "--exports-dir", str(tmp_path / "e")])
    out = capsys.readouterr().out
    assert code == 1
    assert "fonts-noto-cjk" in out and "libharfbuzz-subset0" in out and "2 项未通过" in out


def test_doctor_reports_unwritable_folder(tmp_path, capsys):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    code = main(["doctor", "--sessions-dir", str(blocker / "sessions"), "--exports-dir", str(tmp_path / "e")])
    assert code == 1 and "不可写" in capsys.readouterr().out

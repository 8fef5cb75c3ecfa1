"""``inspect-tui doctor``: is this laptop ready for a visit day?

Checks what fails late and far from a network: Python packages, write access to the data folders,
and the system pieces PDF export needs (a Chinese font found by fontconfig, HarfBuzz's subsetting
library). Each failed check says what to install.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import tempfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from inspect_tui.errors import os_reason

PACKAGES = {"textual": "textual", "tinydb": "tinydb", "pyyaml": "yaml", "pydantic": "pydantic",
            "jinja2": "jinja2", "qrcode": "qrcode", "pillow": "PIL", "jsonschema": "jsonschema",
            "pypdf": "pypdf", "pypdfium2": "pypdfium2", "zxing-cpp": "zxingcpp", "weasyprint": "weasyprint"}
INSTALL_HINT = "请运行 README 中的安装命令（./run setup）"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("doctor", help="检查运行环境：Python 包、数据目录写权限、中文字体与 HarfBuzz")
    p.add_argument("--sessions-dir", type=Path, default=Path("sessions"))
    p.add_argument("--exports-dir", type=Path, default=Path("exports"))
    p.set_defaults(func=cmd_doctor)


def _package(dist: str, module: str) -> tuple[bool, str]:
    try:
        importlib.import_module(module)
    except Exception as exc:  # a broken install raises anything (OSError for missing pango, …)
        return False, f"{dist}: 无法导入（{type(exc).__name__}: {exc}）。{INSTALL_HINT}"
    return True, f"{dist} {metadata.version(dist)}"


def _writable(folder: Path) -> tuple[bool, str]:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-") as f:
            f.write(b"ok")
            f.flush()
            os.fsync(f.fileno())
    except OSError as exc:
        return False, f"{folder}: 不可写（{os_reason(exc)}）"
    return True, f"{folder}: 可写"


FALLBACK_FONTS = (("表情符号", "😀", "fonts-noto-color-emoji"), ("生僻字（CJK 扩展 B）", "𠀀", "fonts-hanazono"),
                  ("其他文字（如藏文、蒙古文）", "ཀ", "fonts-noto-core"))


def _pdf_checks() -> list[tuple[bool, str]]:
    try:
        from inspect_tui.export.fonts import find_cjk_font, harfbuzz_subset_available, has_glyph
    except Exception as exc:
        return [(False, f"PDF 导出模块无法加载：{exc}")]
    font = find_cjk_font()
    out = [(True, f"中文字体：{font}") if font else
           (False, "未找到中文字体（fontconfig 无 zh 字体）。Debian/Ubuntu：apt-get install fonts-noto-cjk")]
    out.append((True, "HarfBuzz 子集化库：已找到") if harfbuzz_subset_available() else
               (False, "缺少 HarfBuzz 子集化库，中文 PDF 会慢约 30 倍。"
                       "Debian/Ubuntu：apt-get install libharfbuzz-subset0"))
    # Optional: without these, such typed characters print as a visible [U+XXXX] placeholder.
    for label, sample, package in FALLBACK_FONTS:
        out.append((True, f"{label}：可打印" if has_glyph(sample) else
                    f"{label}：无字体，将印为占位符 [U+{ord(sample):04X}]（可选：apt-get install {package}）"))
    return out


def run_checks(sessions_dir: Path, exports_dir: Path) -> list[tuple[bool, str]]:
    py_ok = sys.version_info >= (3, 11)
    checks: list[Callable[[], list[tuple[bool, str]]]] = [
        lambda: [(py_ok, f"Python {sys.version.split()[0]}" + ("" if py_ok else "（需要 3.11 或更新）"))],
        lambda: [_package(d, m) for d, m in PACKAGES.items()],
        lambda: [_writable(sessions_dir), _writable(exports_dir)],
        _pdf_checks,
    ]
    return [result for check in checks for result in check()]


def cmd_doctor(args: argparse.Namespace) -> int:
    results = run_checks(args.sessions_dir, args.exports_dir)
    for ok, text in results:
        print(f"{'✓' if ok else '✗'} {text}")
    failed = sum(1 for ok, _ in results if not ok)
    print("一切就绪。" if not failed else f"{failed} 项未通过。")
    return 0 if not failed else 1

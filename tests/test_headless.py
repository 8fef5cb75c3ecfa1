"""The core must run without a UI: importing it must not pull in Textual."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import inspect_tui

HEADLESS = ("inspect_tui.core", "inspect_tui.store", "inspect_tui.export")


def _modules() -> list[str]:
    found = []
    for info in pkgutil.walk_packages(inspect_tui.__path__, "inspect_tui."):
        if info.name.startswith(HEADLESS):
            found.append(info.name)
    return found


def test_headless_packages_do_not_import_textual():
    modules = _modules()
    assert "inspect_tui.core.versions" in modules and "inspect_tui.store.session" in modules
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"headless modules imported: {out.stdout}"

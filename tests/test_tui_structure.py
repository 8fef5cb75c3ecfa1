"""The app's shape, checked: screens never import each other, panes never reach up, Textual's
private API stays in its adapter, and the adapter knows the Textual it runs on."""

from __future__ import annotations

import ast
from pathlib import Path

import inspect_tui.tui as tui_pkg
from inspect_tui.tui import textual_adapter

TUI = Path(tui_pkg.__file__).parent
SCREENS = TUI / "screens"


def imported_modules(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def screen_module(path: Path) -> str:
    """The screen a file belongs to: ``branch`` for every module of the branch package."""
    return path.relative_to(SCREENS).parts[0].removesuffix(".py")


def test_no_screen_module_imports_another_screen():
    offenders = []
    for path in SCREENS.rglob("*.py"):
        own = screen_module(path)
        for mod in imported_modules(path):
            if mod.startswith("inspect_tui.tui.screens."):
                other = mod.split(".")[3]
                if other != own:
                    offenders.append(f"{path.relative_to(TUI)} imports {mod}")
    assert offenders == []


def test_panes_do_not_reach_up_or_keep_ad_hoc_state():
    for path in (SCREENS / "branch").glob("*.py"):
        if path.name == "screen.py":
            continue
        text = path.read_text(encoding="utf-8")
        assert "self.app" not in text and "self.screen" not in text, path.name
    for path in TUI.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "__dict__" not in text and "getattr(self," not in text and "hasattr(self," not in text, path.name


def test_private_textual_api_only_in_the_adapter():
    for path in Path(tui_pkg.__file__).parents[1].rglob("*.py"):
        if path.name == "textual_adapter.py":
            continue
        text = path.read_text(encoding="utf-8")
        for name in ("_modal_binding_chain", "_check_action_state", "widgets._footer"):
            assert name not in text, f"{path.name} uses {name}"


def test_adapter_matches_the_installed_textual():
    assert textual_adapter.textual_major() == textual_adapter.TESTED_MAJOR
    assert textual_adapter.PRIVATE_API_OK


def test_every_screen_is_on_the_shared_base():
    from textual.screen import ModalScreen, Screen

    from inspect_tui.tui.base_screen import BaseScreen

    for path in SCREENS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and node.name != "BaseScreen":
                bases = {ast.unparse(b).split("[")[0] for b in node.bases}
                assert not bases & {Screen.__name__}, f"{path.name}: {node.name} skips BaseScreen"
    assert issubclass(BaseScreen, Screen) and not issubclass(BaseScreen, ModalScreen)

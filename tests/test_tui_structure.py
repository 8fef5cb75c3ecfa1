"""The app's shape, checked: screens never import each other, panes never reach up, Textual's
private API stays in its adapter, and the adapter knows the Textual it runs on."""

from __future__ import annotations

import ast
import importlib
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


def textual_bases(cls: type) -> list[type]:
    return [c for c in cls.__mro__ if c.__module__.split(".")[0] == "textual"]


def tui_modules() -> list[tuple[Path, object]]:
    found = []
    for path in sorted(TUI.rglob("*.py")):
        name = ".".join(("inspect_tui", *path.relative_to(TUI.parent).with_suffix("").parts)).removesuffix(".__init__")
        found.append((path, importlib.import_module(name)))
    return found


def test_private_textual_api_only_in_the_adapter():
    """No tui module but the adapter reads, calls or overrides anything private of Textual's: no
    ``_name`` of an App, Screen or Widget (nor of the Textual classes our widgets derive from), no
    override of such a method, no import from a private module."""
    from textual.app import App
    from textual.screen import Screen
    from textual.widget import Widget

    def private(names) -> set[str]:
        return {n for n in names if n.startswith("_") and not n.startswith("__")}

    modules = tui_modules()
    textual_private = private(n for obj in (App(), Screen(), Widget()) for n in dir(obj))
    for _path, mod in modules:
        for cls in vars(mod).values():
            if isinstance(cls, type) and cls.__module__ == mod.__name__:
                textual_private |= private(n for base in textual_bases(cls) for n in dir(base))
    offenders = []
    for path, mod in modules:
        if path.name == "textual_adapter.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in textual_private:
                offenders.append(f"{path.name}:{node.lineno} uses {node.attr}")
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("textual") and \
                    any(part.startswith("_") for part in node.module.split(".")):
                offenders.append(f"{path.name}:{node.lineno} imports {node.module}")
            elif isinstance(node, ast.ClassDef) and isinstance(cls := getattr(mod, node.name, None), type):
                offenders += [f"{path.name}:{d.lineno} overrides {d.name}" for d in node.body
                              if isinstance(d, ast.FunctionDef | ast.AsyncFunctionDef) and d.name in private([d.name])
                              and any(d.name in vars(base) for base in textual_bases(cls))]
    assert offenders == []
    for path in Path(tui_pkg.__file__).parents[1].rglob("*.py"):  # nor anywhere else in the package
        if path.name != "textual_adapter.py":
            text = path.read_text(encoding="utf-8")
            for name in ("_modal_binding_chain", "_check_action_state", "widgets._footer", "_handle_exception"):
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


def test_ledger_labels_have_one_home():
    """Ledger statuses and categories are named in ``core.labels`` alone: every module that deals with
    the ledger (core, export, the follow-up screens, the CLI) takes the words from there."""
    from inspect_tui.core import labels
    from inspect_tui.core.records import Category, LedgerStatus

    assert set(labels.LEDGER_STATUS_LABELS) == set(LedgerStatus) and set(labels.CATEGORY_LABELS) == set(Category)
    words = {*labels.LEDGER_STATUS_LABELS.values(), *labels.CATEGORY_LABELS.values()}
    package = Path(tui_pkg.__file__).parents[1]
    offenders = []
    for path in package.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if path.name == "labels.py" or not any(m in text for m in ("core.ledger", "store.followup", "LedgerStatus")):
            continue
        offenders += [f"{path.relative_to(package)}:{node.lineno} {node.value}" for node in ast.walk(ast.parse(text))
                      if isinstance(node, ast.Constant) and node.value in words]
    assert offenders == []

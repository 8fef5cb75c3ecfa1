"""The one place that knows WeasyPrint's insides: importing it quickly, and drawing SVG text runs whole.

Two costs of WeasyPrint are not the document's but the library's, and a summary report pays both:

* **Finding its libraries.** ``weasyprint.text.ffi`` tries several names per C library and cffi
  falls back to ``ctypes.util.find_library`` for each name that does not load, which starts
  ``ldconfig`` and ``gcc`` every time — about 16 failed searches and 0.15 s per process on Linux.
  While WeasyPrint is imported here, that search answers "not found" at once: every library is
  still loaded by a later name on its list (``libpango-1.0.so.0``, …). Should that fail on some
  system, the import is tried again with the real search, so nothing is lost but time.
* **SVG text letter by letter.** WeasyPrint lays out and draws every character of an SVG ``<text>``
  on its own (so that per-letter ``x``/``dx``/``rotate`` lists work): a chart's 370 labels cost
  2,400 Pango layouts, half a second per report. A label with one position and none of those
  features is drawn here as one run — the same glyphs at the same place (the run's advance is the
  sum of its letters'), with better kerning, and selectable as a word. Anything else is left to
  WeasyPrint's own code. The fast path is used only with the WeasyPrint versions it was checked
  against (``CHECKED``); with another, charts are drawn WeasyPrint's way, just slower.
"""

from __future__ import annotations

import importlib
import sys
import threading
from math import inf
from types import ModuleType
from typing import Any

CHECKED = ("70",)  # WeasyPrint major versions the SVG text path was checked with (tests/test_weasy_adapter.py)
_PER_LETTER = ("dx", "dy", "rotate", "letter-spacing", "textLength", "lengthAdjust", "direction")
_lock = threading.Lock()


def weasyprint() -> ModuleType:
    """The ``weasyprint`` module, imported (once) without the library search and with the SVG
    text fast path installed."""
    module = sys.modules.get("weasyprint")
    if module is not None and getattr(module, "_inspect_tui_ready", False):
        return module
    with _lock:
        if module is None:
            module = _import_without_search()
        if not getattr(module, "_inspect_tui_ready", False):
            _install_svg_text(module)
            module._inspect_tui_ready = True  # type: ignore[attr-defined]
    return module


def _import_without_search() -> ModuleType:
    import ctypes.util

    search = ctypes.util.find_library
    ctypes.util.find_library = _not_searched
    try:
        return importlib.import_module("weasyprint")
    except OSError:
        ctypes.util.find_library = search
        return importlib.import_module("weasyprint")
    finally:
        ctypes.util.find_library = search


def _not_searched(name: str) -> None:
    return None


def _install_svg_text(module: ModuleType) -> None:
    if module.__version__.split(".")[0] not in CHECKED:
        return
    svg = importlib.import_module("weasyprint.svg")
    letters = svg.TAGS.get("text")
    if letters is None or getattr(letters, "_inspect_tui_whole_runs", False):
        return

    def text(svg_: Any, node: Any, font_size: float) -> None:
        if not _one_run(node):
            return letters(svg_, node, font_size)
        return _draw_run(svg_, node, font_size)

    text._inspect_tui_whole_runs = True  # type: ignore[attr-defined]
    # draw_node recognises text nodes by comparing with the module's own ``text``
    svg.TAGS["text"] = text
    svg.text = text


def _one_run(node: Any) -> bool:
    """A label with at most one x and one y and no per-letter feature."""
    attrib = node.attrib
    if not node.text or any(a in attrib for a in _PER_LETTER):
        return False
    return all(len(attrib.get(a, "").replace(",", " ").split()) <= 1 for a in ("x", "y"))


def _draw_run(svg: Any, node: Any, font_size: float) -> None:
    """WeasyPrint's ``svg.text.text`` for one run: the same style, anchor and bounding box."""
    from weasyprint.css.properties import INITIAL_VALUES
    from weasyprint.draw.text import draw_emojis, draw_first_line
    from weasyprint.matrix import Matrix
    from weasyprint.svg.bounding_box import extend_bounding_box
    from weasyprint.svg.text import Style, TextBox
    from weasyprint.svg.utils import normalize, size
    from weasyprint.text.line_break import split_first_line

    style = Style()
    style.update(INITIAL_VALUES)
    style.font_config = svg.font_config
    style["font_family"] = [f.strip("\"'") for f in node.get("font-family", "sans-serif").split(",")]
    style["font_style"] = node.get("font-style", "normal")
    weight = node.get("font-weight", 400)
    style["font_weight"] = {"normal": 400, "bold": 700}.get(weight, weight)
    try:
        style["font_weight"] = int(style["font_weight"])
    except ValueError:
        style["font_weight"] = 400
    style["font_size"] = font_size
    layout, _, _, width, height, baseline = split_first_line(node.text, style, svg.context, inf, 0)

    x = size(normalize(node.attrib["x"]).strip(), font_size, svg.inner_width) if "x" in node.attrib else None
    y = size(normalize(node.attrib["y"]).strip(), font_size, svg.inner_height) if "y" in node.attrib else None
    if x is not None:
        svg.cursor_d_position[0] = 0
    if y is not None:
        svg.cursor_d_position[1] = 0
    x = svg.cursor_position[0] if x is None else x
    y = svg.cursor_position[1] if y is None else y
    svg.cursor_position = x + width, y

    ascent, descent = font_size * 0.8, font_size * 0.2
    anchor = node.get("display-anchor")
    baseline_align = node.get("dominant-baseline", node.get("alignment-baseline"))
    if anchor == "middle":
        y_align = -height / 2
    elif anchor == "top":
        y_align = 0
    elif anchor == "bottom":
        y_align = -height
    elif baseline_align in ("central", "middle"):
        y_align = (ascent + descent) / 2 - descent
    elif baseline_align in ("text-before-edge", "before_edge", "top", "hanging", "text-top"):
        y_align = ascent
    elif baseline_align in ("text-after-edge", "after_edge", "bottom", "text-bottom"):
        y_align = -descent
    else:
        y_align = 0

    x_position = x + svg.cursor_d_position[0]
    y_position = y + svg.cursor_d_position[1] + y_align
    node.text_bounding_box = extend_bounding_box(
        node.text_bounding_box, ((x_position, y_position - baseline), (x_position + width, y_position - baseline + height)))

    svg.stream.push_state()
    fill, stroke = svg.set_graphical_state(node, font_size)
    svg.stream.begin_text()
    layout.reactivate(style)
    svg.fill_stroke(fill, stroke, text=True)
    box = TextBox(layout, style)
    box.baseline = baseline
    emojis = draw_first_line(svg.stream, box, "none", "none", Matrix(a=1, d=-1, e=x_position, f=y_position))
    svg.stream.end_text()
    svg.stream.pop_state()
    draw_emojis(svg.stream, style, x, y, emojis)

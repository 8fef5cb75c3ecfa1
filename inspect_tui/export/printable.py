"""What typed text looks like in print: one function for the exporter and for ``verify``.

The data keeps exactly what was typed; only the printed form changes:

* **Neutralised.** Bidi controls (LRO/RLO/PDF, LRI…PDI, LRM/RLM/ALM) and zero-width characters
  (ZWSP, ZWNJ, word joiner, BOM, soft hyphen and the other format characters) are dropped, so a
  typed right-to-left override cannot make ``2026年12月31日`` print as ``日13月21年6202`` and an
  invisible character cannot make two different texts print the same. A zero-width joiner is kept
  only inside an emoji sequence (👨‍👩‍👧), where it is how the picture is spelled. Control characters
  print as a space.
* **Right-to-left words kept to themselves.** A run of right-to-left script (a Uyghur name, an
  Arabic word) is wrapped in an isolate (RLI…PDI): it still reads right to left, but it cannot turn
  the numbers after it around — without it a single Arabic letter before ``2026-12-03`` prints
  ``03-12-2026``.
* **Always printable.** A character no installed font covers would print as an empty box; it prints
  as a visible placeholder ``[U+XXXXX]`` instead and the caller is told which field held it, so an
  export never fails because of what someone typed.

``verify`` rebuilds the page from the embedded data through this same function, so a genuine
notice verifies whatever its text holds.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

ZWJ = "\u200d"
RLI, PDI = "\u2067", "\u2069"
KEEP_CF = {ZWJ, RLI, PDI}  # written by neutralise: ZWJ inside emoji sequences, RLI…PDI around right-to-left runs
#: Characters that change the order text is shown in (ALM, LRM, RLM, embeddings, overrides, isolates).
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _emoji_like(ch: str) -> bool:
    return unicodedata.category(ch) == "So" or 0x1F3FB <= ord(ch) <= 0x1F3FF or ch == "\ufe0f"


def neutralise(text: str) -> str:
    """``text`` without bidi controls, zero-width and other format characters (see module doc)."""
    out: list[str] = []
    n = len(text)
    for i, ch in enumerate(text):
        cat = unicodedata.category(ch)
        if ch == ZWJ:
            if out and i + 1 < n and _emoji_like(out[-1]) and _emoji_like(text[i + 1]):
                out.append(ch)
            continue
        if cat == "Cf":
            continue
        if cat == "Cc":
            out.append("\n" if ch == "\n" else " ")
            continue
        out.append(ch)
    return _isolate_rtl("".join(out))


def _isolate_rtl(text: str) -> str:
    """Each run of right-to-left text — from a right-to-left letter to the last one before a
    left-to-right letter or a line break, with the spaces and numbers between — inside RLI…PDI."""
    if text.isascii():
        return text
    out: list[str] = []
    start = end = -1  # the open run: its first and last right-to-left letter
    for i, ch in enumerate(text):
        kind = unicodedata.bidirectional(ch)
        if kind in ("R", "AL"):
            if start < 0:
                start = i
            end = i
        elif start >= 0 and (kind in ("L", "B") or ch == "\n"):
            out.append(RLI + text[start:end + 1] + PDI + text[end + 1:i])
            start = -1
        if start < 0 and kind not in ("R", "AL"):
            out.append(ch)
    if start >= 0:
        out.append(RLI + text[start:end + 1] + PDI + text[end + 1:])
    return "".join(out)


def _selector(ch: str) -> bool:
    """Variation selectors: they pick a glyph form of the character before them, drawn by its font."""
    return 0xFE00 <= ord(ch) <= 0xFE0F or 0xE0100 <= ord(ch) <= 0xE01EF


def placeholder(ch: str) -> str:
    return f"[U+{ord(ch):04X}]"


def printable(text: str, covered: Callable[[str], bool] | None = None) -> tuple[str, list[str]]:
    """The printed form of ``text`` and the characters that became placeholders.

    ``covered(ch)``: does an installed font have ``ch`` (default: ``fonts.has_glyph``).
    """
    if covered is None:
        from inspect_tui.export.fonts import has_glyph as covered
    clean = neutralise(text)
    if clean.isascii():
        return clean, []
    missing: list[str] = []
    out: list[str] = []
    for ch in clean:
        if ord(ch) < 0x370 or ch.isspace() or ch in KEEP_CF or _selector(ch) or covered(ch):
            out.append(ch)
        else:
            missing.append(ch)
            out.append(placeholder(ch))
    return "".join(out), list(dict.fromkeys(missing))


class Printer:
    """``printable`` for a whole document: collects one warning per field that needed placeholders."""

    def __init__(self) -> None:
        self.warnings: list[str] = []

    def __call__(self, label: str, text: object) -> str:
        out, missing = printable("" if text is None else str(text))
        if missing:
            self.warnings.append(f"{label}：字体中没有 " + "、".join(f"{c}（U+{ord(c):04X}）" for c in missing)
                                 + "，已印为占位符")
        return out

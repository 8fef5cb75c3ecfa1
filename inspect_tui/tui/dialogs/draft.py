"""Dialogs whose typed text is saved only when they are confirmed (a new problem, a verdict, a
follow-up answer): quitting with such a dialog open must not throw that text away without asking.

A ``DraftDialog`` remembers what its inputs held when it opened; ``drafts`` are the inputs whose
text has changed since. The app asks before quitting over them, as it does for a field that refused
its text (``UnsavedScreen``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual.screen import ModalScreen, Screen
from textual.widget import Widget
from textual.widgets import Input

_TYPED = "Input, TextArea"  # by name: the text area's module is not imported until a dialog needs it


def _text(widget: Widget) -> str:
    return widget.value if isinstance(widget, Input) else str(getattr(widget, "text", ""))


class DraftDialog(ModalScreen[Any]):
    """A modal dialog holding typed text until it is confirmed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._opened_with: dict[int, str] = {}  # each input's text when the dialog opened

    def on_mount(self) -> None:
        self._opened_with = {id(w): _text(w) for w in self.query(_TYPED)}

    def drafts(self) -> list[Widget]:
        """The inputs whose text differs from what they held when the dialog opened."""
        return [w for w in self.query(_TYPED) if _text(w).strip() and _text(w) != self._opened_with.get(id(w), "")]


def unconfirmed(screens: Iterable[Screen[Any]]) -> list[Widget]:
    """Every input with typed text in an open draft dialog."""
    return [w for s in screens if isinstance(s, DraftDialog) for w in s.drafts()]

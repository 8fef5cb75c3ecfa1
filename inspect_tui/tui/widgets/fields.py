"""Text fields that commit: the one place where "saved when committed" is implemented.

An inspector's typing is only safe once it is in the store, but saving on every keystroke would
write a new record version per character. So a field *commits* — hands its value to a callback
that saves through the session — when the inspector presses Enter, leaves the field, or the
screen is left (screens call :func:`commit_all` on suspend and before quitting). A field remembers
the value last committed, so leaving an unchanged field writes nothing. Any widget with the CSS
class ``commits`` and a ``commit_now()`` method (the report timer, too) takes part in
:func:`commit_all`.

The callback returns ``False`` to refuse a value (invalid number, missing file …); the field then
stays "dirty" and is marked invalid so the inspector sees that it was not saved — and keeps the
text, so nothing typed is lost. When the app has the session open read-only, fields show their
values but take no typing (a one-line field is disabled, a text area becomes read-only). The
multi-line ``FieldArea`` is in :mod:`inspect_tui.tui.widgets.field_area`.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.dom import DOMNode
from textual.widgets import Input

from inspect_tui.tui.widgets.steady import FixedVirtualSize

Commit = Callable[[str], bool | None]
COMMITS = "commits"


class FieldInput(FixedVirtualSize, Input):
    """A one-line field saved on Enter or blur. Showing another value lays out nothing (the box
    stays as it is)."""

    def __init__(self, value: str = "", *, commit: Commit | None = None, **kwargs) -> None:
        super().__init__(value, **kwargs)
        self.add_class(COMMITS)
        self._commit = commit
        self.committed = value

    @property
    def dirty(self) -> bool:
        return self.value != self.committed

    def load(self, value: str) -> None:
        """Show a stored value without saving it. No ``Changed`` is posted: nothing was typed (and
        moving through a list loads several fields per key press)."""
        self.committed = value
        with self.prevent(Input.Changed):
            self.value = value
        self.remove_class("-unsaved")

    def commit_now(self) -> bool:
        if not self.dirty or self._commit is None:
            return True
        ok = self._commit(self.value)
        if ok is False:
            self.add_class("-unsaved")
            return False
        self.committed = self.value
        self.remove_class("-unsaved")
        return True

    def on_mount(self) -> None:
        if getattr(self.app, "read_only", None):
            self.disabled = True

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.commit_now()

    def on_input_blurred(self, event: Input.Blurred) -> None:
        self.commit_now()


def commit_all(node: DOMNode) -> bool:
    """Commit every dirty field under ``node``; False when one refused its value."""
    ok = True
    for field in node.query(f".{COMMITS}"):
        ok = field.commit_now() and ok  # type: ignore[attr-defined]
    return ok

"""The multi-line committing field (``FieldArea``), apart from ``fields`` because it brings Textual's
``TextArea`` (and its document model), which screens without one — the branch list shown at
start-up — need not import. Committing works as in :mod:`inspect_tui.tui.widgets.fields`."""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import TextArea

from inspect_tui.tui.widgets.fields import COMMITS, Commit


class FieldArea(TextArea):
    """A multi-line, soft-wrapped field (long notes) saved on blur or Ctrl+S."""

    BINDINGS = [Binding("ctrl+s", "commit", "保存", tooltip="保存此文本框的内容")]

    def __init__(self, text: str = "", *, commit: Commit | None = None, **kwargs) -> None:
        kwargs.setdefault("soft_wrap", True)
        kwargs.setdefault("show_line_numbers", False)
        kwargs.setdefault("tab_behavior", "focus")
        super().__init__(text, **kwargs)
        self.add_class(COMMITS)
        self._commit = commit
        self.committed = text

    @property
    def dirty(self) -> bool:
        return self.text != self.committed

    def load(self, text: str) -> None:
        self.committed = text
        self.load_text(text)
        self.remove_class("-unsaved")

    def commit_now(self) -> bool:
        if not self.dirty or self._commit is None:
            return True
        ok = self._commit(self.text)
        if ok is False:
            self.add_class("-unsaved")
            return False
        self.committed = self.text
        self.remove_class("-unsaved")
        return True

    def on_mount(self) -> None:
        if getattr(self.app, "read_only", None):
            self.read_only = True

    def action_commit(self) -> None:
        self.commit_now()

    def on_blur(self) -> None:
        self.commit_now()

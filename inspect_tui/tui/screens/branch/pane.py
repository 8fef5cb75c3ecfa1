"""What the five step panes share: their workbench, and the messages they send up.

A pane is given its :class:`~inspect_tui.core.workbench.BranchWorkbench` when it is built and gets
the branch's fresh result handed down (:meth:`StepPane.show_result`) after every change. It never
reaches up to the screen or the app: a change is reported with :class:`Saved`, a refusal with
:class:`Refused`, a question for the inspector with :class:`Confirm`, a form to open with
:class:`EditFeedback`; the screen decides what follows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widget import Widget

from inspect_tui.core.index import Rec
from inspect_tui.core.records import Kind
from inspect_tui.core.scoring import BranchResult
from inspect_tui.core.steps import Step
from inspect_tui.core.workbench import BranchWorkbench
from inspect_tui.errors import UserError


class Saved(Message):
    """A change was stored; the branch's figures must be shown again."""

    def __init__(self, record: Rec | None, note: str = "") -> None:
        super().__init__()
        self.record = record
        self.note = note


class Refused(Message):
    """A value was not stored: refused by the rules (``UserError``) or by the machine (``OSError``)."""

    def __init__(self, error: UserError | OSError) -> None:
        super().__init__()
        self.error = error


class Confirm(Message):
    """Ask the inspector; ``then`` runs only on yes."""

    def __init__(self, question: str, then: Callable[[], None], detail: str = "") -> None:
        super().__init__()
        self.question = question
        self.then = then
        self.detail = detail


class EditFeedback(Message):
    """Open the form for a new (``record`` None) or an existing highlight/problem/suggestion/demand."""

    def __init__(self, kind: Kind, record: Rec | None = None) -> None:
        super().__init__()
        self.kind = kind
        self.record = record


@dataclass(frozen=True)
class Outcome:
    ok: bool
    value: Any = None


class Detail(VerticalScroll, can_focus=False):
    """The right-hand side of a pane: scrolls with its fields, never takes focus itself."""


class StepPane(Vertical):
    step: Step

    def __init__(self, bench: BranchWorkbench, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bench = bench

    def run(self, command: Callable[..., Any], *args: Any, say: str = "", **kwargs: Any) -> Outcome:
        """Run one workbench command; report it up as saved (unless it changed nothing) or refused."""
        try:
            value = command(*args, **kwargs)
        except (UserError, OSError) as exc:
            self.post_message(Refused(exc))
            return Outcome(False)
        if value is not None:
            self.post_message(Saved(value if isinstance(value, Rec) else None, say))
        return Outcome(True, value)

    def first_focus(self) -> Widget | None:
        return None

    def show_result(self, result: BranchResult) -> None:
        """Called after every change with the branch's fresh result."""

    def leave(self) -> None:
        """The step is being left (another step, another screen, quitting)."""

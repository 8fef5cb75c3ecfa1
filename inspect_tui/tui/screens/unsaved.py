"""Asked when quitting while a field holds text that could not be saved, or a dialog holds typed
text not yet confirmed (``dialogs.draft``): keep editing or discard.

Quitting must never throw typed text away without asking: a score above full marks, a missing photo
file or a full disk leave the field "unsaved" (marked red, the reason in the status line). The
answer is ``True`` to discard that text and quit, ``False`` to go back to the field, text intact.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class UnsavedScreen(ModalScreen[bool]):
    BINDINGS = [
        Binding("escape,k", "keep", "继续编辑", tooltip="回到未保存的输入框，内容保留"),
        Binding("d", "discard", "放弃并退出", tooltip="放弃未保存的输入，退出程序"),
    ]
    DEFAULT_CSS = """
    UnsavedScreen { align: center middle; }
    #unsaved { width: 64; height: auto; border: thick $error; background: $surface; padding: 1 2; }
    #unsaved-buttons { height: auto; margin-top: 1; }
    #unsaved-buttons Button { margin-right: 2; }
    """

    def __init__(self, fields: int, reason: str) -> None:
        super().__init__()
        self.fields = fields
        self.reason = reason

    def compose(self) -> ComposeResult:
        with Vertical(id="unsaved"):
            yield Static(f"有 {self.fields} 处输入尚未保存，退出会丢失这些内容。", classes="title")
            if self.reason:
                yield Static(f"原因：{self.reason}", id="unsaved-reason")
            with Horizontal(id="unsaved-buttons"):
                yield Button("继续编辑 (K)", id="keep", variant="primary")
                yield Button("放弃并退出 (D)", id="discard", variant="error")

    def on_mount(self) -> None:
        self.query_one("#keep", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "discard")

    def action_keep(self) -> None:
        self.dismiss(False)

    def action_discard(self) -> None:
        self.dismiss(True)

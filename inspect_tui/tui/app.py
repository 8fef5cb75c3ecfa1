"""The Textual app: one factory (``make_app``) for the console script, the tests and the benchmark.

The app owns the open :class:`~inspect_tui.store.session.Session`. Screens change it through a
:class:`~inspect_tui.core.workbench.BranchWorkbench` (or :meth:`InspectApp.write`); every outcome
comes back to :meth:`InspectApp.report_saved` / :meth:`InspectApp.report_refused`, which refresh
every status line and turn a refused value into a notification instead of a traceback. A save
(validate + durable append, ≈0.5 ms) runs on the UI thread and is measured in
``bench/tui_bench.py``. Where each screen leads is ``tui.navigation``'s business. Opening a
session — reading and indexing thousands of records and scoring every branch — runs in a thread
worker behind a loading screen, so the interface never blocks.

Every screen's key bindings double as command-palette entries (:meth:`get_system_commands` reads
the screen's *active* bindings), so a key, its footer hint and its palette entry can never drift
apart, and an action greyed out in the footer (``check_action`` → ``None``) is also marked
unavailable in the palette. The UI computes nothing: scores, ratings, rates and progress are
``Session.result`` (i.e. ``core.scoring``) values, only formatted here.

Screens and keys (all also in the command palette, Ctrl+P):

* 会话 (sessions): Enter open · L last session · N new · M merge (MergeScreen) · F5 refresh
* 新建会话: Ctrl+O import a CSV/YAML visit plan · Ctrl+S create · Esc cancel
* 支部 (branches): Enter open branch · V review · / find · A add · R rename · Del delete · Ctrl+Z undo ·
  E export (ExportScreen) · M merge · Esc close session
* 支部观摩 (one branch): F2/F3 previous/next step (also [ ] and 1–5 outside text fields) · D step
  done · V review · Ctrl+F find · Ctrl+Z undo · Esc from a field back to the step's list, then back to
  the branches
  - 述: F4 start/pause the report timer, +/- limit, Ctrl+R reset; notes (Ctrl+S or leave to save);
    Space claims an item
  - 看/查: Y meets · P partly · N not · X n/a (then the cursor moves on) · C clear · F promote to a problem
  - 问: Enter picks a question · Ctrl+N next interviewee · Del deletes an interview
  - 评: Enter edits the score · H highlight · B problem · S suggestion · Z rectification ·
    F promote the item's shortfalls · E/Enter edit · Del delete
* 审阅 (review): E go to 评 · Esc back
* everywhere: F1 help · Ctrl+T light/dark theme · Ctrl+Q save what is typed and quit · Ctrl+P palette

Nothing an inspector does ends in a traceback, and typed text is never dropped unasked. Quitting
with a field that refuses its value (a score above full marks, a full disk) asks whether to keep
editing or discard (``UnsavedScreen``). One error boundary: ``run_action`` (every key, palette
entry and footer click) and the worker handler turn a user's mistake or a refusal of the machine
into a notification and a defect into a notification plus a crash report (``crash.py``); what
Textual still catches elsewhere ends the app with one sentence and a report, not a traceback.

Read-only mode (``--read-only``, or automatically when the file is on read-only media, not
writable, or open in another writer — ``store.access``): the status line says 只读 and why, every
editing key is greyed out and refused with a message, and fields cannot be typed in.
"""

from __future__ import annotations

import asyncio
import gc
import signal
from collections.abc import Callable, Iterable
from datetime import date, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.actions import ActionParseResult
from textual.actions import parse as parse_action
from textual.app import App, SystemCommand
from textual.binding import ActiveBinding, Binding
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from inspect_tui.crash import bug_message, debugging, explain, write_crash_report
from inspect_tui.errors import EXIT_BUG, UserError, describe_os_error, os_reason
from inspect_tui.tui.session_loading import SessionLoading, loading_type
from inspect_tui.tui.settings import load_settings, save_settings
from inspect_tui.tui.textual_adapter import ActionGate, LastResort, Palette, action_state, binding_chain, speak_chinese

if TYPE_CHECKING:  # the records' models (pydantic) are imported by the worker that reads a session
    from inspect_tui.core.index import Rec
    from inspect_tui.core.records import Kind
    from inspect_tui.core.scoring import BranchResult
    from inspect_tui.store.read_ahead import ReadAhead

THEMES = ("textual-dark", "textual-light")

#: Actions that change the open session: refused (and greyed out) in read-only mode.
EDITING_ACTIONS = frozenset({
    "add", "add_branch", "commit", "delete_feedback", "delete_interview", "edit_feedback", "limit",
    "new_interview", "promote", "reset_timer", "save", "status", "toggle_done", "toggle_timer",
    "clear_status", "undo", "rename_branch", "delete_branch",
})


class InspectApp(SessionLoading, ActionGate, LastResort, App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "交叉观摩检查"
    SUB_TITLE = "述 · 看 · 查 · 问 · 评"
    ENABLE_COMMAND_PALETTE = True
    COMMAND_PALETTE_BINDING = "ctrl+p"
    BINDINGS = [
        Binding("ctrl+q", "quit", "退出", tooltip="保存当前输入并退出", priority=True, id="quit"),
        Binding("ctrl+t", "toggle_theme", "主题", tooltip="切换浅色/深色主题（下次启动沿用）", show=False, id="theme"),
        Binding("f1", "help", "帮助", tooltip="本屏幕的全部按键和用法说明", show=False, id="help"),
        Binding("ctrl+p", "command_palette", "命令", tooltip="打开命令面板：本屏幕的全部操作", show=False,
                priority=True, id="palette"),
    ]

    def __init__(self, session_path: Path | None = None, sessions_dir: Path = Path("sessions"),
                 exports_dir: Path = Path("exports"), *, read_only: bool = False) -> None:
        super().__init__()
        speak_chinese()
        self.open_read_only = read_only  # --read-only: every session is opened read-only
        self.read_only: str | None = None  # why the open session is read-only; None when writable
        self.last_refusal = ""  # why the last save was refused (shown when quitting with it unsaved)
        self.session_path = Path(session_path) if session_path else None
        self.sessions_dir = Path(sessions_dir)
        self.exports_dir = Path(exports_dir)
        self.session: Any = None  # inspect_tui.store.session.Session once a session is open
        self.theme = load_settings().get("theme") if load_settings().get("theme") in self.available_themes \
            else THEMES[0]
        self.save_count = 0  # number of durable saves this run (tests and the crash driver read it)
        self.today: date | None = None  # days left/overdue are counted to this day (None: the real today)
        self.freeze_gc = False  # run_app: freeze start-up's objects once the first screen is up (_settle_gc)
        self.loading: Path | None = None  # the session being read, until it is open (or failed)

    # --- start-up and opening sessions ---------------------------------------------------------

    def on_mount(self) -> None:
        self._commit_on_signals()
        self.theme_changed_signal.subscribe(self, lambda theme: save_settings(theme=theme.name))
        # With a session given, go straight to loading it; the sessions list is only built when the
        # inspector closes the session (two screens mounting at once trips Textual's Header).
        if self.session_path is not None:
            self.open_session(self.session_path)
        else:
            self.show_sessions()
            self._settle_gc()

    def _commit_on_signals(self) -> None:
        """Closing the terminal (SIGHUP) or being asked to stop (SIGTERM) quits the way Ctrl+Q does:
        what is typed in the focused field is committed first. (Committed values never depend on
        this — every save is already durable — it only rescues a half-typed field.)"""
        if self.is_headless:
            return
        try:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGHUP, signal.SIGTERM):
                loop.add_signal_handler(sig, lambda: self.call_later(self._quit_on_signal))
        except (AttributeError, NotImplementedError, RuntimeError):  # Windows has neither signal nor handlers
            pass

    def show_sessions(self) -> None:
        """Back to the list of sessions: pop to it, or put it in place of the current screen."""
        from inspect_tui.tui.screens.sessions import SessionsScreen

        if any(isinstance(s, SessionsScreen) for s in self.screen_stack):
            while not isinstance(self.screen, SessionsScreen):
                self.pop_screen()
        elif len(self.screen_stack) > 1:
            self.switch_screen(SessionsScreen())
        else:
            self.push_screen(SessionsScreen())

    def _settle_gc(self) -> None:
        """Once the first screen is up (``run_app`` only): move everything alive so far — modules,
        widgets, the first session's records — out of the cyclic collector's sight (``gc.freeze``)
        and turn the collector back on (start-up had it off). These objects live as long as the
        app; without this, every full collection walks all of them again, which made opening a
        large session grow faster than its record count, and key presses pay for it too.
        Reference counting still frees them as usual. Only once: a later freeze would also keep
        whatever cyclic garbage (closed screens) is pending at that moment, for good."""
        if self.freeze_gc:
            self.freeze_gc = False
            gc.freeze()
            gc.enable()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Errors of the app's own workers (screens handle theirs): opening a session falls back
        to the list; anything else is told like an action's error."""
        if event.state is not WorkerState.ERROR or event.worker.node is not self:
            return
        error = event.worker.error
        if debugging() and not isinstance(error, UserError | OSError):
            raise error  # type: ignore[misc]
        if event.worker.group == "load":
            self.loading = None
            if isinstance(self.screen, loading_type()):
                self.pop_screen()
            self.show_sessions()
            self._settle_gc()
            self.notify(explain(error, [f"worker: {event.worker.name}"]), title="无法打开会话", severity="error",
                        timeout=10)
        else:
            self.show_error(error, f"worker: {event.worker.name}")

    # --- writing ----------------------------------------------------------------------------------

    @property
    def me(self) -> str:
        return self.session.meta.inspector

    @property
    def mine_only(self) -> bool:
        return self.session.meta.role != "leader"

    def result(self, branch: str) -> BranchResult:
        return self.session.result(branch, mine_only=self.mine_only)

    def write(self, change: Callable[..., Any], *args: Any, **kwargs: Any) -> Any | None:
        """Run one durable change through the session; on a refusal or a failed write, say why
        and return None. Every write of the UI goes through here, so the status line is always
        right."""
        if self.session is None:  # a field losing focus while the app closes: nothing to save into
            return None
        if self.read_only:
            return self._refuse_read_only()
        try:
            result = change(*args, **kwargs)
        except UserError as exc:
            self.report_refused(exc)
            return None
        except OSError as exc:
            self.report_refused(exc)
            return None
        self.report_saved()
        return result

    def report_saved(self, *, wrote: bool = True) -> None:
        """A change was stored (or a refused value withdrawn): count it and clear any earlier
        refusal from the status lines."""
        self.save_count += wrote
        self.last_refusal = ""
        self._show_status("")

    def report_refused(self, exc: UserError | OSError) -> None:
        """A change that did not happen, and why: a notification and the status lines (the field
        keeps its text)."""
        if self.read_only:
            self._refuse_read_only()
            return
        if isinstance(exc, OSError):
            self.notify(describe_os_error(exc), title="未保存", severity="error", timeout=15)
            why = f"写入失败（{os_reason(exc)}）"
        else:
            self.notify(exc.render(), title="未保存", severity="error")
            why = exc.message
        self.last_refusal = why
        self._show_status(f"未保存：{why}")

    def _refuse_read_only(self) -> None:
        self.bell()
        self.notify(f"{self.read_only}：可以查看，不能修改。", title="只读", severity="warning")
        self._show_status("")

    def save(self, kind: Kind, data: dict[str, Any], record_id: str | None = None) -> Rec | None:
        return self.write(lambda: self.session.save(kind, data, record_id))

    def update(self, kind: Kind, record_id: str, **fields: Any) -> Rec | None:
        return self.write(lambda: self.session.update(kind, record_id, **fields))

    def _show_status(self, message: str) -> None:
        from inspect_tui.tui.base_screen import BaseScreen

        last: datetime | None = self.session.last_saved if self.session else None
        for screen in self.screen_stack:
            if isinstance(screen, BaseScreen):  # its status line, without a query of all its widgets
                screen.show_status(last, message, self.read_only or "")

    # --- actions and commands -----------------------------------------------------------------

    def action_toggle_theme(self) -> None:
        self.theme = THEMES[1] if self.theme == THEMES[0] else THEMES[0]

    def action_help(self) -> None:
        from inspect_tui.tui import navigation

        screen = self.screen
        keys = [(self.get_key_display(b), b.description, b.tooltip, state is not None)
                for _node, b, state in self._commands(screen)]
        navigation.open_help(self, type(screen).__name__, keys)

    def action_command_palette(self) -> None:
        if self.use_command_palette and not Palette.is_open(self):
            self.push_screen(Palette(id="--command-palette", placeholder="输入命令名称搜索……"))

    def action_change_theme(self) -> None:
        from textual.theme import ThemeProvider

        self.push_screen(Palette(providers=[ThemeProvider], placeholder="输入主题名称搜索……"))

    def action_help_quit(self) -> None:
        """Ctrl+C (copy in a text field) pressed to quit: say how, in Chinese."""
        self.notify("按 Ctrl+Q 退出（输入框中的内容会先保存）", title="要退出吗？")

    async def action_quit(self) -> None:
        """Save what is typed, then quit; if a field refuses its text, ask before dropping it."""
        from inspect_tui.tui.screens.unsaved import UnsavedScreen

        if isinstance(self.screen, UnsavedScreen):
            return
        from inspect_tui.tui.dialogs.draft import unconfirmed

        unsaved = self._commit_everything()
        drafts = unconfirmed(self.screen_stack)
        if not unsaved and not drafts:
            self._leave()
            return

        def answered(discard: bool | None) -> None:
            if discard:
                self._leave()
            else:
                (unsaved or drafts)[0].focus()

        self.clear_notifications()  # the question, not a stack of toasts over it
        reason = self.last_refusal if unsaved else "对话框中输入的内容尚未确认保存"
        self.push_screen(UnsavedScreen(len(unsaved) + len(drafts), reason), answered)

    def _commit_everything(self) -> list[Any]:
        """Commit every dirty field (and the report timer) on every screen; the text fields that
        refused their text."""
        from inspect_tui.tui.widgets.field_area import FieldArea
        from inspect_tui.tui.widgets.fields import COMMITS, FieldInput

        refused = []
        for screen in self.screen_stack:
            for field in screen.query(f".{COMMITS}"):
                if not field.commit_now() and isinstance(field, FieldInput | FieldArea):  # type: ignore[attr-defined]
                    refused.append(field)
        return refused

    def _leave(self) -> None:
        """Close and exit. Fields still holding refused text (asked about, or noted) are reset
        first, so that losing focus on the way out tries no save into a closed session."""
        for screen in self.screen_stack:
            for field in screen.query("FieldInput, FieldArea"):
                if field.dirty:  # type: ignore[attr-defined]
                    field.load(field.committed)  # type: ignore[attr-defined]
        self.close_session()
        self.loading = None  # a session still being read is closed by its worker
        self.exit(0)

    def _quit_on_signal(self) -> None:
        """The terminal is gone (SIGHUP) or we are told to stop (SIGTERM): no one can answer a
        question, so commit what can be and keep what cannot in a note beside the crash reports."""
        from inspect_tui.tui.dialogs.draft import unconfirmed

        refused = self._commit_everything() + unconfirmed(self.screen_stack)
        if refused:
            from inspect_tui.crash import write_note

            write_note("unsaved", [f"{f.id or type(f).__name__}: {f.value if hasattr(f, 'value') else f.text}"
                                   for f in refused])
        self._leave()

    # --- the error boundary -----------------------------------------------------------------------

    async def run_action(self, action: str | ActionParseResult, default_namespace: Any = None,
                         namespaces: Any = None) -> bool:
        """Every key, palette entry and footer click passes here: editing is refused in read-only
        mode, and an error is shown (and a defect reported) instead of ending the app."""
        name = parse_action(action)[1] if isinstance(action, str) else action[1]
        if self.read_only and name in EDITING_ACTIONS:
            self._refuse_read_only()
            return True
        try:
            return await super().run_action(action, default_namespace, namespaces)
        except Exception as exc:
            if debugging() and not isinstance(exc, UserError | OSError):
                raise
            self.show_error(exc, f"action: {action}")
            return True

    def action_allowed(self, name: str) -> bool:
        """Greys out editing keys in read-only mode (footer and palette read this)."""
        return not (self.read_only and name in EDITING_ACTIONS)

    def show_error(self, exc: BaseException, context: str = "") -> None:
        """Tell the user about ``exc``: their mistake, the machine's refusal, or our defect."""
        bug = not isinstance(exc, UserError | OSError)
        self.notify(explain(exc, [context]), title="程序出错" if bug else "未完成", severity="error",
                    timeout=30 if bug else 10)

    def last_resort(self, error: Exception) -> tuple[int, str] | None:
        """An exception outside an action (the failing widget has stopped): instead of Textual's
        traceback, one sentence and a crash report; committed data is safe."""
        if debugging():
            return None
        return EXIT_BUG, bug_message(error, write_crash_report(error, ["in the app"]))

    def _commands(self, screen: Screen) -> Iterable[tuple[Any, Binding, bool | None]]:
        """Our own bindings along the focus chain — every action of this screen, of the focused
        pane and of the app — with their state (None: unavailable now); hidden ones left out."""
        seen: set[tuple[int, str]] = set()
        for namespace, bindings in binding_chain(screen):
            ours = _own_actions(namespace)  # Textual's own bindings (cursor keys, copy …) are not commands
            for _key, b in bindings:
                if (b.action, b.description) not in ours:
                    continue
                if not b.description or b.action == "command_palette" or (id(namespace), b.action) in seen:
                    continue
                seen.add((id(namespace), b.action))
                state = action_state(self, b.action, namespace)
                if state is not False:
                    yield namespace, b, state

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The palette lists :meth:`_commands` with their keys; unavailable ones say so."""
        for namespace, b, state in self._commands(screen):
            help_text = f"{b.tooltip or b.description}（{self.get_key_display(b)}）"
            if state is None:
                help_text = f"当前不可用 · {help_text}"
            yield SystemCommand(b.description, help_text,
                                partial(self._run_binding, ActiveBinding(namespace, b, bool(state))))
        yield SystemCommand("更换主题", "从全部主题中选择", self.action_change_theme)

    async def _run_binding(self, active: ActiveBinding) -> None:
        if not active.enabled:
            self.bell()
            self.notify(f"“{active.binding.description}”当前不可用", severity="warning")
            return
        await self.run_action(active.binding.action, active.node)


def _own_actions(node: object) -> set[tuple[str, str]]:
    """(action, description) of the bindings declared by inspect-tui's classes in ``node``'s MRO."""
    own: set[tuple[str, str]] = set()
    for cls in type(node).__mro__:
        if cls.__module__.startswith("inspect_tui"):
            for b in vars(cls).get("BINDINGS", []):
                if isinstance(b, Binding):
                    own.add((b.action, b.description))
    return own


def make_app(session_path: Path | str | None = None, sessions_dir: Path | str = Path("sessions"),
             exports_dir: Path | str = Path("exports"), *, read_only: bool = False) -> InspectApp:
    """The one app factory: used by ``run_app``, the tests and the benchmark."""
    return InspectApp(Path(session_path) if session_path else None, Path(sessions_dir), Path(exports_dir),
                      read_only=read_only)


def run_app(session_path: Path | str | None = None, sessions_dir: Path | str = Path("sessions"), *,
            read_only: bool = False, read_ahead: ReadAhead | None = None) -> int:
    """``read_ahead``: the helper already reading ``session_path`` (``store.read_ahead``)."""
    app = make_app(session_path, sessions_dir, read_only=read_only)
    app.read_ahead = read_ahead
    app.freeze_gc = True
    try:
        app.run()
    finally:
        app.close_session()
        gc.enable()
    return app.return_code or 0

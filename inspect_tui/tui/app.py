"""The Textual app: one factory (``make_app``) for the console script, the tests and the benchmark.

The app owns the open :class:`~inspect_tui.store.session.Session` and is the only place the UI
writes through: :meth:`InspectApp.save` validates and durably appends via the session (≈0.5 ms, so
it runs on the UI thread and is measured in ``bench/tui_bench.py``), refreshes every status line,
and turns a refused value (``UserError``) into a notification instead of a traceback. Opening a
session — reading and indexing thousands of records and scoring every branch — runs in a thread
worker behind a loading screen, so the interface never blocks.

Every screen's key bindings double as command-palette entries (:meth:`get_system_commands` reads
the screen's *active* bindings), so a key, its footer hint and its palette entry can never drift
apart, and an action greyed out in the footer (``check_action`` → ``None``) is also marked
unavailable in the palette. The UI computes nothing: scores, ratings, rates and progress are
``Session.result`` (i.e. ``core.scoring``) values, only formatted here.

Screens and keys (all also in the command palette, Ctrl+P):

* 会话 (sessions): Enter open · N new · M merge (MergeScreen) · F5 refresh
* 新建会话: Ctrl+O import a CSV/YAML visit plan · Ctrl+S create · Esc cancel
* 支部 (branches): Enter open branch · V review · A add branch · E export (ExportScreen) · M merge ·
  Esc close session
* 支部观摩 (one branch): F2/F3 previous/next step (also [ ] and 1–5 outside text fields) · D step
  done · V review · Esc from a field back to the step's list, then back to the branches
  - 述: F4 start/pause the report timer, +/- limit, Ctrl+R reset; notes (Ctrl+S or leave to save);
    Space claims an item
  - 看/查: Y meets · P partly · N not · X n/a (then the cursor moves on) · F promote to a problem
  - 问: Enter picks a question · Ctrl+N next interviewee · Del deletes an interview
  - 评: Enter edits the score · H highlight · B problem · S suggestion · Z rectification ·
    F promote the item's shortfalls · E/Enter edit · Del delete
* 审阅 (review): E go to 评 · Esc back
* everywhere: Ctrl+T light/dark theme · Ctrl+Q save what is typed and quit · Ctrl+P palette
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from textual import work
from textual.app import App, SystemCommand
from textual.binding import ActiveBinding, Binding
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from inspect_tui.core.index import Rec
from inspect_tui.core.records import Kind
from inspect_tui.core.scoring import BranchResult
from inspect_tui.errors import UserError
from inspect_tui.tui.textual_adapter import action_state, binding_chain

THEMES = ("textual-dark", "textual-light")


class InspectApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "交叉观摩检查"
    SUB_TITLE = "述 · 看 · 查 · 问 · 评"
    ENABLE_COMMAND_PALETTE = True
    COMMAND_PALETTE_BINDING = "ctrl+p"
    BINDINGS = [
        Binding("ctrl+q", "quit", "退出", tooltip="保存当前输入并退出", priority=True, id="quit"),
        Binding("ctrl+t", "toggle_theme", "主题", tooltip="切换浅色/深色主题", show=False, id="theme"),
        Binding("ctrl+p", "command_palette", "命令", tooltip="打开命令面板：本屏幕的全部操作", show=False,
                priority=True, id="palette"),
    ]

    def __init__(self, session_path: Path | None = None, sessions_dir: Path = Path("sessions"),
                 exports_dir: Path = Path("exports")) -> None:
        super().__init__()
        self.session_path = Path(session_path) if session_path else None
        self.sessions_dir = Path(sessions_dir)
        self.exports_dir = Path(exports_dir)
        self.session: Any = None  # inspect_tui.store.session.Session once a session is open
        self.theme = THEMES[0]
        self.save_count = 0  # number of durable saves this run (tests and the crash driver read it)

    # --- start-up and opening sessions ---------------------------------------------------------

    def on_mount(self) -> None:
        self._commit_on_signals()
        # With a session given, go straight to loading it; the sessions list is only built when the
        # inspector closes the session (two screens mounting at once trips Textual's Header).
        if self.session_path is not None:
            self.open_session(self.session_path)
        else:
            self.show_sessions()

    def _commit_on_signals(self) -> None:
        """Closing the terminal (SIGHUP) or being asked to stop (SIGTERM) quits the way Ctrl+Q does:
        what is typed in the focused field is committed first. (Committed values never depend on
        this — every save is already durable — it only rescues a half-typed field.)"""
        if self.is_headless:
            return
        try:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGHUP, signal.SIGTERM):
                loop.add_signal_handler(sig, lambda: self.call_later(self.action_quit))
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

    def open_session(self, path: Path) -> None:
        from inspect_tui.tui.screens.loading import LoadingScreen

        self.push_screen(LoadingScreen(path))
        self._load_session(Path(path))

    @work(thread=True, exclusive=True, exit_on_error=False, group="load", name="open-session")
    def _load_session(self, path: Path) -> None:
        from inspect_tui.store.session import Session

        session = Session.open(path)
        try:
            results = self.compute_results(session)
        except BaseException:
            session.close()
            raise
        self.call_from_thread(self._session_loaded, session, results)

    @staticmethod
    def compute_results(session: Any) -> dict[str, BranchResult]:
        mine = session.meta.role != "leader"
        return {b.id: session.result(b.id, mine_only=mine) for b in session.branches()}

    def _session_loaded(self, session: Any, results: dict[str, BranchResult]) -> None:
        from inspect_tui.tui.screens.branches import BranchesScreen

        self.close_session()
        self.session = session
        self.session_path = session.path
        if isinstance(self.screen, _loading_type()):
            self.pop_screen()
        self.push_screen(BranchesScreen(results))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is not WorkerState.ERROR or event.worker.group != "load":
            return
        error = event.worker.error
        if isinstance(self.screen, _loading_type()):
            self.pop_screen()
        self.show_sessions()
        message = error.render() if isinstance(error, UserError) else f"{type(error).__name__}: {error}"
        self.notify(message, title="无法打开会话", severity="error", timeout=10)

    def close_session(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None

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
        try:
            result = change(*args, **kwargs)
        except UserError as exc:
            self.report_refused(exc.render())
            return None
        except OSError as exc:
            self.report_refused(f"写入失败：{exc}", write_failed=True)
            return None
        self.report_saved()
        return result

    def report_saved(self, *, wrote: bool = True) -> None:
        """A change was stored (or a refused value withdrawn): count it and clear any earlier
        refusal from the status lines."""
        self.save_count += wrote
        self._show_status("")

    def report_refused(self, reason: str, *, write_failed: bool = False) -> None:
        if write_failed:
            self.notify(reason, title="未保存", severity="error", timeout=15)
            self._show_status("写入失败！")
        else:
            self.notify(reason, title="未保存", severity="error")
            self._show_status("未保存：" + reason.splitlines()[0])

    def update(self, kind: Kind, record_id: str, **fields: Any) -> Rec | None:
        return self.write(self.session.update, kind, record_id, **fields)

    def _show_status(self, message: str) -> None:
        from inspect_tui.tui.widgets.status import SaveStatus

        last: datetime | None = self.session.last_saved if self.session else None
        for screen in self.screen_stack:
            for status in screen.query(SaveStatus):
                status.last_saved = last
                status.message = message

    # --- actions and commands -----------------------------------------------------------------

    def action_toggle_theme(self) -> None:
        self.theme = THEMES[1] if self.theme == THEMES[0] else THEMES[0]

    async def action_quit(self) -> None:
        from inspect_tui.tui.widgets.fields import commit_all

        commit_all(self.screen)
        self.close_session()
        self.exit(0)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The palette lists our own bindings along the focus chain — every action of this screen,
        of the focused pane, and of the app — with their keys; unavailable ones say so."""
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
                if state is False:
                    continue
                help_text = f"{b.tooltip or b.description}（{self.get_key_display(b)}）"
                if state is None:
                    help_text = f"当前不可用 · {help_text}"
                yield SystemCommand(b.description, help_text,
                                    partial(self._run_binding, ActiveBinding(namespace, b, bool(state))))
        yield SystemCommand("更换主题", "从全部主题中选择", self.action_change_theme)
        yield SystemCommand("按键帮助", "显示当前焦点控件的帮助和全部按键", self.action_show_help_panel)

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


def _loading_type() -> type:
    from inspect_tui.tui.screens.loading import LoadingScreen

    return LoadingScreen


def make_app(session_path: Path | str | None = None, sessions_dir: Path | str = Path("sessions"),
             exports_dir: Path | str = Path("exports")) -> InspectApp:
    """The one app factory: used by ``run_app``, the tests and the benchmark."""
    return InspectApp(Path(session_path) if session_path else None, Path(sessions_dir), Path(exports_dir))


def run_app(session_path: Path | str | None = None, sessions_dir: Path | str = Path("sessions")) -> int:
    app = make_app(session_path, sessions_dir)
    try:
        app.run()
    finally:
        app.close_session()
    return app.return_code or 0

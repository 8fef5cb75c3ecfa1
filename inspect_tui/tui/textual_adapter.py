"""The only module that touches Textual's private API, checked against the version it was written for.

Things the public API does not offer: the chain of bindings active on a screen (the command
palette lists them with their keys and whether they are available), the key widgets inside the
footer (re-greyed in place instead of a full rebuild), the lines an option list's option takes
and its cached drawing (a moved highlight or a new status mark repaints those options, not the
whole list), Textual's last-resort exception handler
(replaced by one sentence and a crash report instead of a traceback) and the palette's "No matches
found" (said in Chinese). All exist in Textual 8; pyproject pins ``textual<9``. Should a release
move them, :data:`PRIVATE_API_OK` is false and the app falls back to what the public API gives — a
palette of the app's own commands, a footer that rebuilds, Textual's own handler and wording —
rather than crashing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import textual
from rich.align import Align
from rich.text import Text
from textual.app import App
from textual.binding import Binding
from textual.command import CommandList, CommandPalette
from textual.dom import DOMNode
from textual.geometry import Region
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import OptionList
from textual.widgets.option_list import Option

TESTED_MAJOR = 8


def textual_major() -> int:
    try:
        return int(textual.__version__.split(".")[0])
    except (AttributeError, ValueError):
        return 0


try:
    from textual.widgets._footer import FooterKey
    from textual.widgets._select import SelectOverlay
except ImportError:  # pragma: no cover - only on a Textual release that moved it
    FooterKey = SelectOverlay = None  # type: ignore[assignment,misc]

PRIVATE_API_OK = (textual_major() == TESTED_MAJOR and FooterKey is not None
                  and hasattr(Screen, "_modal_binding_chain") and hasattr(App, "_check_action_state")
                  and hasattr(App, "_handle_exception")
                  and hasattr(CommandPalette, "_start_no_matches_countdown")
                  and hasattr(CommandPalette, "_stop_no_matches_countdown")
                  and all(hasattr(OptionList, name) for name in ("_index_to_line", "_heights", "_get_visual",
                                                                   "_get_left_gutter_width"))
                  and hasattr(Option, "_set_prompt")
                  and SelectOverlay is not None and hasattr(SelectOverlay, "_merge_bindings"))

NO_MATCHES = "没有匹配的命令"


def speak_chinese() -> None:
    """Textual's own key labels the footer and the palette show, in Chinese: an open select list's
    Esc ("Dismiss menu"). Its bindings are merged when the class is made, so they are merged again."""
    if PRIVATE_API_OK:
        SelectOverlay.BINDINGS = [Binding("escape", "dismiss", "收起列表")]
        SelectOverlay._merged_bindings = SelectOverlay._merge_bindings()


class ActionGate:
    """Mixin for the App: ``action_allowed(name)`` False greys an action out everywhere — footer,
    palette and key — whichever widget declares it (Textual has no public hook for that)."""

    def action_allowed(self, name: str) -> bool:
        return True

    def _check_action_state(self, action: str, default_namespace: DOMNode) -> bool | None:
        from textual.actions import parse as parse_action

        if not self.action_allowed(parse_action(action)[1]):
            return None
        return super()._check_action_state(action, default_namespace)  # type: ignore[misc]


class LastResort:
    """Mixin for the App: an exception Textual catches outside any action (the failing widget has
    stopped) goes to ``last_resort(error)``; when that returns ``(exit code, message)``, the app ends
    with that code and message instead of Textual's traceback."""

    def last_resort(self, error: Exception) -> tuple[int, str] | None:
        return None

    def _handle_exception(self, error: Exception) -> None:
        told = self.last_resort(error)
        if told is None or not PRIVATE_API_OK:
            super()._handle_exception(error)  # type: ignore[misc]
            return
        code, message = told
        self._return_code = code
        self._exception_event.set()  # what Textual's own handler does: whoever waits on the app stops
        self.panic(message)  # type: ignore[attr-defined]


class Palette(CommandPalette):
    """The command palette, saying "no matches" in Chinese (Textual hard-codes the English)."""

    def _start_no_matches_countdown(self, search_value: str) -> None:
        if not PRIVATE_API_OK:
            super()._start_no_matches_countdown(search_value)
            return
        self._stop_no_matches_countdown()

        def show_no_matches() -> None:  # as Textual's own, in other words
            if search_value:
                self.query_one(CommandList).add_option(
                    Option(Align.center(Text(NO_MATCHES, style="not bold")), disabled=True, id=self._NO_MATCHES))
            self._list_visible = bool(search_value)

        self._no_matches_timer = self.set_timer(self._NO_MATCHES_COUNTDOWN, show_no_matches)


def binding_chain(screen: Screen) -> Iterable[tuple[DOMNode, Iterable[tuple[str, Binding]]]]:
    """(node, [(key, binding)]) along the focus chain of ``screen``, modal-aware; empty if unknown."""
    if not PRIVATE_API_OK:
        return ()
    return [(node, list(bindings)) for node, bindings in screen._modal_binding_chain]


def action_state(app: App[Any], action: str, node: DOMNode) -> bool | None:
    """True, False (hidden) or None (greyed out), as the footer shows it."""
    if not PRIVATE_API_OK:
        return True
    return app._check_action_state(action, node)


def footer_keys(footer: Widget) -> list[Widget] | None:
    """The key widgets inside a footer, or None when they cannot be reached safely (or the footer
    has not built them yet)."""
    if not PRIVATE_API_OK or not footer._bindings_ready:  # type: ignore[attr-defined]
        return None
    return list(footer.query(FooterKey))


def set_footer_key_enabled(key: Any, enabled: bool) -> None:
    """Grey a footer key out or back in. Its ``-disabled`` class is kept right, but the dimming it
    stands for is set on the key itself: a class change re-matches the key's CSS (0.6 ms a key),
    an inline style costs a fortieth of that."""
    if key._disabled != enabled and key.has_class("-disabled") != enabled:
        return
    key._disabled = not enabled
    key.set_class(not enabled, "-disabled", update=False)
    key.styles.text_style = "none" if enabled else "dim"


def option_region(option_list: OptionList, index: int) -> Region | None:
    """The lines option ``index`` takes in the list's content as shown now (scrolled); None if unknown."""
    if not PRIVATE_API_OK:
        return None
    try:
        first, count = option_list._index_to_line[index], option_list._heights[index]
    except (KeyError, AttributeError):
        return None
    return Region(0, first - option_list.scroll_offset.y, option_list.scrollable_content_region.width, count)


def replace_option_prompt(option_list: OptionList, index: int, prompt: Any) -> None:
    """``replace_option_prompt_at_index``, which forgets every option's drawing and line and
    repaints the whole list; here only when the new prompt takes another number of lines."""
    region = option_region(option_list, index)
    cache = getattr(option_list, "_option_render_cache", None)
    if region is None or cache is None:
        option_list.replace_option_prompt_at_index(index, prompt)
        return
    option = option_list.get_option_at_index(index)
    option._set_prompt(prompt)
    padding = option_list.get_component_styles("option-list--option").padding
    width = option_list.scrollable_content_region.width - option_list._get_left_gutter_width() - padding.width
    if option_list._get_visual(option).get_height(option_list.styles, width) + option._divider != region.height:
        option_list.replace_option_prompt_at_index(index, prompt)
        return
    for key in [key for key in cache.keys() if key[0] is option]:  # noqa: SIM118 (the cache has no __iter__)
        cache.discard(key)
    option_list.refresh(region)

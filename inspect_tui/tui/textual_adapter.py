"""The only module that touches Textual's private API, checked against the version it was written for.

Two things the public API does not offer: the chain of bindings active on a screen (the command
palette lists them with their keys and whether they are available) and the key widgets inside the
footer (re-greyed in place instead of a full rebuild). Both exist in Textual 8; pyproject pins
``textual<9``. Should a release move them, :data:`PRIVATE_API_OK` is false and the app falls back to
what the public API gives — a palette of the app's own commands and a footer that rebuilds — rather
than crashing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import textual
from textual.app import App
from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widget import Widget

TESTED_MAJOR = 8


def textual_major() -> int:
    try:
        return int(textual.__version__.split(".")[0])
    except (AttributeError, ValueError):
        return 0


try:
    from textual.widgets._footer import FooterKey
except ImportError:  # pragma: no cover - only on a Textual release that moved it
    FooterKey = None  # type: ignore[assignment,misc]

PRIVATE_API_OK = (textual_major() == TESTED_MAJOR and FooterKey is not None
                  and hasattr(Screen, "_modal_binding_chain") and hasattr(App, "_check_action_state"))


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
    """The key widgets inside a footer, or None when they cannot be reached safely."""
    if not PRIVATE_API_OK:
        return None
    return list(footer.query(FooterKey))


def set_footer_key_enabled(key: Any, enabled: bool) -> None:
    key._disabled = not enabled
    key.set_class(not enabled, "-disabled")

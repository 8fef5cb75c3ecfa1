"""YAML as the tool reads hand-written files (checklists, visit plans): safely, and never too deep.

Two things PyYAML does that a user must never see as a traceback:

* its composer and constructor recurse once per nesting level, so a file nested a few hundred
  levels deep (``[[[[…``) raises ``RecursionError``. That is caught, and ``too_deep`` — which walks
  the event stream, and the parser does not recurse — finds the place to report. Only a file that
  already failed pays for the second pass;
* an integer of more than 4,300 digits raises ``ValueError`` (Python's guard against slow
  conversions) from inside the constructor, with no line; ``InputLoader`` refuses one longer than
  ``MAX_DIGITS`` as a ``ConstructorError`` at its place;
* it turns anything that looks like a date into ``datetime.date`` while parsing, so
  ``date: 2026-13-45`` raises ``ValueError`` from inside the loader, with no line. ``InputLoader``
  keeps such values as text; the field that wants a date checks it and names it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml

MAX_DEPTH = 64  #: reported as the limit: far deeper than any checklist or plan needs
MAX_DIGITS = 100  #: no score, weight or count of a hand-written file comes near it


class InputLoader(yaml.SafeLoader):
    """``SafeLoader`` without the implicit timestamp type: dates stay text until a field checks them."""


InputLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    digits = sum(c.isdigit() for c in node.value)
    if digits > MAX_DIGITS:
        raise yaml.constructor.ConstructorError(None, None, f"整数有 {digits} 位，太长（最多 {MAX_DIGITS} 位）",
                                                node.start_mark)
    return loader.construct_yaml_int(node)


InputLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


class TooDeep(Exception):
    """The text nests deeper than PyYAML can follow; ``mark`` is where it passes ``MAX_DEPTH``."""

    def __init__(self, mark: yaml.Mark | None) -> None:
        super().__init__(f"nested deeper than {MAX_DEPTH} levels")
        self.mark = mark


def too_deep(text: str, limit: int = MAX_DEPTH) -> yaml.Mark | None:
    """Where the nesting of ``text`` first exceeds ``limit`` levels, or None."""
    depth = 0
    for event in yaml.parse(text, Loader=InputLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > limit:
                return event.start_mark
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return None


def _guarded(parse: Callable[[str], Any], text: str) -> Any:
    try:
        return parse(text)
    except RecursionError:
        raise TooDeep(too_deep(text)) from None


def load(text: str) -> Any:
    """The data in ``text`` (``InputLoader``); ``TooDeep`` or ``yaml.YAMLError`` when it has none."""
    return _guarded(lambda t: yaml.load(t, Loader=InputLoader), text)  # noqa: S506 - a SafeLoader


def compose(text: str) -> yaml.Node | None:
    """The node tree of ``text`` (with source marks); ``TooDeep`` or ``yaml.YAMLError``."""
    return _guarded(lambda t: yaml.compose(t, Loader=InputLoader), text)

"""YAML as the tool reads hand-written files (checklists, visit plans): safely, and never too deep.

Two things PyYAML does that a user must never see as a traceback:

* its composer and constructor recurse once per nesting level, so a file nested a few thousand
  levels deep (``[[[[…``) raises ``RecursionError``. The event parser does not recurse, so
  ``too_deep`` walks the events first and reports the place where the nesting goes past
  ``MAX_DEPTH`` — far deeper than any checklist or plan needs;
* it turns anything that looks like a date into ``datetime.date`` while parsing, so
  ``date: 2026-13-45`` raises ``ValueError`` from inside the loader, with no line. ``InputLoader``
  keeps such values as text; the field that wants a date checks it and names it.
"""

from __future__ import annotations

import yaml

MAX_DEPTH = 64


class InputLoader(yaml.SafeLoader):
    """``SafeLoader`` without the implicit timestamp type: dates stay text until a field checks them."""


InputLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def too_deep(text: str, limit: int = MAX_DEPTH) -> yaml.Mark | None:
    """Where the nesting of ``text`` first exceeds ``limit`` levels, or None. May raise ``YAMLError``
    for text that is not YAML at all (the caller reports it like any syntax error)."""
    depth = 0
    for event in yaml.parse(text, Loader=InputLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > limit:
                return event.start_mark
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return None


def load(text: str) -> object:
    """Parse trusted-shape-unknown YAML: ``InputLoader``; call ``too_deep`` first."""
    return yaml.load(text, Loader=InputLoader)  # noqa: S506 - InputLoader is a SafeLoader

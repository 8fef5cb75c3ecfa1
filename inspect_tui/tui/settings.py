"""The app's remembered preferences — the theme and the last session opened — in a small JSON file
in the user's configuration folder (``$INSPECT_TUI_CONFIG``, else
``$XDG_CONFIG_HOME/inspect-tui/settings.json``, else ``~/.config/inspect-tui/settings.json``).

Preferences never stop the app: an unreadable file counts as empty, a failed write is ignored.
Writes go to a temporary file first and replace the old one, so a crash never leaves half a file.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any


def settings_path() -> Path:
    explicit = os.environ.get("INSPECT_TUI_CONFIG")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "inspect-tui" / "settings.json"


def load_settings() -> dict[str, Any]:
    try:
        data = json.loads(settings_path().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def save_settings(**changes: Any) -> None:
    path = settings_path()
    data = {**load_settings(), **changes}
    if data == load_settings():
        return
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, path)

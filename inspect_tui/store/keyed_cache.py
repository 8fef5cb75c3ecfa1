"""A local cache folder whose entries only this tool, on this machine, can have written.

The report digests and the stored branches lists are both small JSON files that stand for a
session file's bytes. Each entry carries an HMAC-SHA256 under the folder's own random key
(``.key``, 32 bytes, mode 0600, made on first write), so an entry edited by hand, damaged, or
copied from another machine does not verify and is made afresh — never trusted.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import tempfile
from pathlib import Path
from typing import Any

KEY_FILE = ".key"


def cache_folder(env: str, name: str) -> Path:
    """``$env`` when set (tests, a shared machine), else ``name`` under the user's cache folder."""
    if os.environ.get(env):
        return Path(os.environ[env])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "inspect-tui" / name


def read_entry(cache: Path, path: Path, key: str) -> dict[str, Any] | None:
    """The content of the entry at ``path`` (in ``cache``) standing for ``key``; None when there is
    none, or it does not verify: filed under another key, edited, damaged, signed elsewhere."""
    try:
        blob = json.loads(path.read_text(encoding="utf-8"))
        body = blob["body"]
        if blob["sha256"] != key or not hmac.compare_digest(blob["mac"], mac(cache, key, body, create=False)):
            return None
        content = json.loads(body)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return content if isinstance(content, dict) else None


def write_entry(cache: Path, path: Path, key: str, content: dict[str, Any]) -> None:
    """Best effort, atomic (a temporary file, then a rename): failing costs the next run time only."""
    with contextlib.suppress(OSError):
        cache.mkdir(parents=True, exist_ok=True)
        body = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
        blob = json.dumps({"sha256": key, "mac": mac(cache, key, body, create=True), "body": body},
                          ensure_ascii=False)
        fd, tmp = tempfile.mkstemp(prefix=".part-", dir=cache)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(blob)
            os.replace(tmp, path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


def mac(cache: Path, key: str, body: str, *, create: bool) -> str:
    """HMAC-SHA256 of an entry's key (the session's hash) and text under the folder's secret;
    with ``create`` the secret is made when missing, else a missing one raises ``OSError``."""
    return hmac.new(_secret(cache, create), key.encode() + b"\0" + body.encode("utf-8"), hashlib.sha256).hexdigest()


def _secret(cache: Path, create: bool) -> bytes:
    """The folder's key; made when missing (or damaged: every entry signed with the old one is then
    simply made again) if ``create``, else a missing or damaged key is an error (``OSError``/``ValueError``)."""
    path = cache / KEY_FILE
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        if not create:
            raise
        key = b""
    if len(key) == 32:
        return key
    if not create:
        raise ValueError("cache key damaged")
    key = secrets.token_bytes(32)
    fd, tmp = tempfile.mkstemp(prefix=".part-", dir=cache)  # 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(key)
        if path.exists():  # damaged: replaced
            os.replace(tmp, path)
        else:  # never replaces a key another process made meanwhile
            os.link(tmp, path)
    except FileExistsError:
        return _secret(cache, create=False)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return key

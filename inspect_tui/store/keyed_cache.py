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
import os
import secrets
import tempfile
from pathlib import Path

KEY_FILE = ".key"


def cache_folder(env: str, name: str) -> Path:
    """``$env`` when set (tests, a shared machine), else ``name`` under the user's cache folder."""
    if os.environ.get(env):
        return Path(os.environ[env])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "inspect-tui" / name


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

"""The digest cache: what a report needs from one session file (``core.report_facts``), kept as a
small JSON file named by the SHA-256 of the session file's bytes and the facts format.

The key is the whole file's content, so a digest can only ever stand for the exact bytes it was
made from: a session that changes in any way (an edit, a merge, a hand-edit, a torn copy) has
another hash and is parsed afresh. A digest records the hash it was made for and is refused when
it sits under another name (a cache file copied or renamed), when its checklist does not hash to
what the facts say, or when it cannot be read at all — it is then rebuilt, never trusted.

Digests are written where the bytes are known to be final, so that the first rollup over a
leader's sessions already finds them: by ``merge`` for its output (``remember_file``), by a
writable ``Session`` when it closes after saving (``remember_session``), and by the rollup itself
for any file it had to parse.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from inspect_tui.core.checklist import Checklist
from inspect_tui.core.index import RecordIndex
from inspect_tui.core.meta import SessionMeta
from inspect_tui.core.report_facts import FACTS_FORMAT, SessionFacts, session_facts
from inspect_tui.store.session_format import _read_bytes

CACHE_ENV = "INSPECT_TUI_DIGESTS"  # another cache folder (tests, a shared machine)


def default_cache_dir() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "inspect-tui" / "report-digests"


def file_hash(path: Path) -> str:
    """SHA-256 of the file's bytes; a file that cannot be read is a file-named ``UserError``."""
    return hashlib.sha256(_read_bytes(path)).hexdigest()


def digest_path(cache: Path, sha: str) -> Path:
    return cache / f"{sha}.f{FACTS_FORMAT}.json"


def read_digest(cache: Path, sha: str, checklists: dict[str, Checklist]) -> SessionFacts | None:
    """The digest of the file with hash ``sha``, or None when there is none or it cannot be used.
    Its checklist is validated once per content hash (``checklists``), not once per session."""
    try:
        blob = json.loads(digest_path(cache, sha).read_text(encoding="utf-8"))
        if blob["sha256"] != sha:
            return None
        facts = SessionFacts.from_json(blob["facts"])
        if facts.checklist[2] not in checklists:
            cl = Checklist.model_validate(blob["checklist"])
            if cl.content_hash() != facts.checklist[2]:
                return None
            checklists[facts.checklist[2]] = cl
        return facts
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def write_digest(cache: Path, sha: str, facts: dict[str, Any], checklist: dict[str, Any]) -> None:
    """Best effort, atomic: a cache that cannot be written only costs time next run."""
    path = digest_path(cache, sha)
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".part-", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"sha256": sha, "facts": facts, "checklist": checklist}, fh, ensure_ascii=False,
                          separators=(",", ":"))
            os.replace(tmp, path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


def remember(path: Path, sha: str, meta: SessionMeta, checklist: Checklist, index: RecordIndex,
             cache: Path | None = None) -> None:
    """Store the digest of the session file ``path`` whose bytes hash to ``sha`` and whose records
    are ``index`` — the caller vouches that they are the same (it holds the file's lock, or has just
    written it and hashed it before and after reading)."""
    facts = session_facts(meta, checklist, index, str(path))
    write_digest(cache or default_cache_dir(), sha, facts.to_json(), checklist.model_dump(mode="json"))

"""The digest cache: what a report needs from one session file (``core.report_facts``), kept as a
small JSON file named by the SHA-256 of the session file's bytes and the facts format.

The key is the whole file's content, so a digest can only ever stand for the exact bytes it was
made from: a session that changes in any way (an edit, a merge, a hand-edit, a torn copy) has
another hash and is parsed afresh. A digest records the hash it was made for and is refused when
it sits under another name (a cache file copied or renamed), when its keyed MAC does not verify (a
digest edited, damaged, or not written by this tool for this cache: ``keyed_cache``), when its checklist
does not hash to what the facts say, or when it cannot be read at all — it is then rebuilt, never
trusted.

A digest is only ever written for bytes known to be *sealed* — whole and closed cleanly — and says
so (``"sealed": true`` under the MAC; digests without it, from before reports judged their inputs,
are rebuilt). So a cache hit is itself a verdict on the file: bytes that are torn, damaged or not
closed cleanly never find a digest, and are replayed in full and judged every time
(``store.report_inputs``). Digests are written where the bytes are known to be final and sealed,
so that the first rollup over a leader's sessions already finds them: by ``merge`` for its output
(it writes the seal itself; ``remember_records`` in line, or a forked helper's ``remember_file``), by a writable ``Session`` when it closes after
saving and the seal was written (``remember``), and by the rollup itself or a group report for any
file it had to parse and found sealed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from inspect_tui.core.checklist import Checklist
from inspect_tui.core.index import RecordIndex
from inspect_tui.core.meta import SessionMeta
from inspect_tui.core.report_facts import FACTS_FORMAT, SessionFacts, session_facts
from inspect_tui.store import keyed_cache
from inspect_tui.store.integrity import ends_sealed
from inspect_tui.store.keyed_cache import KEY_FILE as KEY_FILE  # where the folder's key lives
from inspect_tui.store.session_format import _read_bytes

CACHE_ENV = "INSPECT_TUI_DIGESTS"  # another cache folder (tests, a shared machine)


def default_cache_dir() -> Path:
    return keyed_cache.cache_folder(CACHE_ENV, "report-digests")


def file_hash(path: Path) -> str:
    """SHA-256 of the file's bytes; a file that cannot be read is a file-named ``UserError``."""
    return hashlib.sha256(_read_bytes(path)).hexdigest()


def sealed_hash(path: Path) -> tuple[str, bool]:
    """``file_hash`` and whether the file's last line is its seal (``integrity.ends_sealed``), from
    one read: the warm rollup asks the cache only for files that end sealed."""
    data = _read_bytes(path)
    return hashlib.sha256(data).hexdigest(), ends_sealed(data)


def digest_path(cache: Path, sha: str) -> Path:
    return cache / f"{sha}.f{FACTS_FORMAT}.json"


def read_digest(cache: Path, sha: str, checklists: dict[str, Checklist]) -> SessionFacts | None:
    """The digest of the file with hash ``sha``, or None when there is none or it cannot be used.
    Its checklist is validated once per content hash (``checklists``), not once per session."""
    content = keyed_cache.read_entry(cache, digest_path(cache, sha), sha)
    try:
        if content is None or content.get("sealed") is not True:
            return None
        facts = SessionFacts.from_json(content["facts"])
        if facts.checklist[2] not in checklists:
            cl = Checklist.model_validate(content["checklist"])
            if cl.content_hash() != facts.checklist[2]:
                return None
            checklists[facts.checklist[2]] = cl
        return facts
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def write_digest(cache: Path, sha: str, facts: dict[str, Any], checklist: dict[str, Any]) -> None:
    """Best effort, atomic: a cache that cannot be written only costs time next run. Only for the
    bytes of a *sealed* file (see above): the caller vouches for it."""
    keyed_cache.write_entry(cache, digest_path(cache, sha), sha, {"sealed": True, "facts": facts, "checklist": checklist})


def remember(path: Path, sha: str, meta: SessionMeta, checklist: Checklist, index: RecordIndex,
             cache: Path | None = None) -> None:
    """Store the digest of the session file ``path`` whose bytes hash to ``sha`` and whose records
    are ``index`` — the caller vouches that they are the same (it holds the file's lock, or has just
    written it and hashed it before and after reading), and that those bytes are sealed."""
    facts = session_facts(meta, checklist, index, str(path))
    write_digest(cache or default_cache_dir(), sha, facts.to_json(), checklist.model_dump(mode="json"))

"""Journal lines: compact JSON, a CRC-32 on each, and (format 2) the chain that binds them.

A line is the compact JSON of one object with ``"c"`` — the CRC-32 of the line's bytes without the
``,"c":N`` field — as its last field. The checksum proves the line is whole; it cannot prove the
line belongs *here*. Format 2 therefore puts three more fields just before ``"c"``:

* ``"f"`` — the file's identity: the ``id`` of its header, random, new whenever a file is written
  whole (create, compaction, migration, merge, recovery);
* ``"n"`` — the line's own number in the file (the header is line 1);
* ``"p"`` — the ``"c"`` of the line before it (line 2: of the header).

``"c"`` covers ``"p"``, which is the previous line's ``"c"``: each line's checksum thus depends on
every line before it (a hash chain), so a removed, repeated, reordered or spliced line breaks the
chain where it sits, and ``n``/``f`` say which of these happened. A clean close appends a *seal*
line ``{"seal":true,...}``: its ``n`` is the line count and its ``p`` the chain head, so a copy cut
anywhere — even exactly after a line — ends without a seal. See docs/session-format.md.

Why CRC-32 and not SHA-256: the chain guards against accidents (a cut copy, a hand edit, a line
from another file), not forgers — with no secret key, anyone could recompute either. CRC-32 is
what each line already pays for, so chaining costs two integer fields per line and no extra hash.
"""

from __future__ import annotations

import json
import json.decoder
import json.scanner
import re
import zlib
from collections.abc import Mapping
from typing import Any, NamedTuple

import orjson

BAD_CHECKSUM = "校验和不符（该行被改动或已损坏）"
SEAL: dict[str, Any] = {"seal": True}


def _dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def encode_line(obj: Mapping[str, Any]) -> bytes:
    """One journal line: compact JSON with ``"c"`` (CRC-32 of the rest) as its last field."""
    body = _dumps(obj).encode("utf-8")
    crc = zlib.crc32(body)
    if body == b"{}":
        return b'{"c":%d}\n' % crc
    return body[:-1] + b',"c":%d}\n' % crc


#: Raw JSON text of documents, by ``id(doc)``: ``(doc, text)``. The document is kept alongside so
#: that its id cannot be reused while the entry exists; a user checks ``entry[0] is doc``.
RawTexts = dict[int, tuple[dict, str]]

_DECODER = json.JSONDecoder()
_SCANNER: Any = json.scanner.make_scanner(_DECODER)  # json.loads's own (C) value parser
#: orjson reads an integer of 19 digits or more as a float where json keeps it exact, so a line with
#: one goes to json. Found by translating (a tenth of a regular expression's cost): every digit
#: becomes "9", every character a value can follow becomes ":", white space and "-" go; a run of
#: 19 nines after a colon is then a long number (or, harmlessly, digits in a text).
_NUMBERS = bytes.maketrans(b"0123456789,[", b"9999999999::")
_LONG_NUMBER = b":" + b"9" * 19


def _long_number(body: bytes) -> bool:
    return _LONG_NUMBER in body.translate(_NUMBERS, b" \t\r\n-")


def _scan_set(body: bytes, table: str, raws: RawTexts) -> dict | None:
    """Parse a plain ``{"t": table, "set": {...}}`` change line (the compacted form) document by
    document with json's own scanner, recording each document's exact JSON text in ``raws``.
    ``None`` (nothing recorded) for any other shape: the caller then uses ``json.loads``. Why: a
    document passed on unchanged — most of a leader's merge — can then be written back as the text
    it was read from instead of being encoded again (0.4 s of a 50k-record merge)."""
    prefix = b'{"t":' + json.dumps(table).encode() + b',"set":{'
    if not body.startswith(prefix) or not body.endswith(b"}}"):
        return None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    scan, scanstring = _SCANNER, json.decoder.scanstring
    sets: dict[str, Any] = {}
    found: RawTexts = {}
    pos, end = len(prefix) - 1, len(text) - 1  # the "{" opening "set"; the final "}"
    try:
        if text[pos + 1] == "}":
            pos += 1
        else:
            while text[pos] in "{,":
                if text[pos + 1] != '"':
                    return None
                key, pos = scanstring(text, pos + 2)
                if text[pos] != ":":
                    return None
                doc, stop = scan(text, pos + 1)
                sets[key] = doc
                if isinstance(doc, dict):
                    found[id(doc)] = (doc, text[pos + 1:stop])
                pos = stop
                if text[pos] == "}":
                    break
    except (ValueError, IndexError, StopIteration, RecursionError):
        return None
    if pos != end - 1 or text[pos] != "}":
        return None
    raws.update(found)
    return {"t": table, "set": sets}


def decode_line(raw: bytes, raws: RawTexts | None = None, raw_table: str = "") -> dict:
    """Check a line's checksum and parse it (``raw`` without its newline); ``ValueError`` says why not.
    With ``raws``, the documents of a plain ``set`` line of ``raw_table`` also get their JSON text."""
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    i = raw.rfind(b'"c":')
    digits = raw[i + 4:-1] if i >= 0 else b""
    if i < 0 or not raw.endswith(b"}") or not digits.isdigit():
        try:
            json.loads(raw)
        except (ValueError, RecursionError) as exc:  # RecursionError: nested thousands deep
            raise ValueError(f"不是有效的 JSON（{exc}）") from None
        raise ValueError("缺少校验和字段 \"c\"")
    start = i - 1 if raw[i - 1:i] == b"," else i
    body = raw[:start] + b"}"
    if zlib.crc32(body) != int(digits):
        raise ValueError(BAD_CHECKSUM)
    return _parse(body, raws, raw_table)


def _parse(body: bytes, raws: RawTexts | None, raw_table: str) -> dict:
    """The JSON object of a line whose checksum matched."""
    if raws is not None:
        scanned = _scan_set(body, raw_table, raws)
        if scanned is not None:
            return scanned
    try:  # orjson at a third of json's cost; where it reads differently or refuses, json decides
        obj = None if _long_number(body) else orjson.loads(body)
    except orjson.JSONDecodeError:  # also NaN, a lone surrogate, nesting deeper than 1024
        obj = None
    if obj is None:
        try:  # what json.loads does with bytes, without its encoding detection: a journal is UTF-8
            obj = _DECODER.decode(body.decode("utf-8"))
        except (ValueError, RecursionError) as exc:  # a matching checksum over invalid JSON: written by something else
            raise ValueError(f"不是有效的 JSON（{exc}）") from None
    if not isinstance(obj, dict):
        raise ValueError("不是 JSON 对象")
    return obj


def check_change(obj: dict) -> None:
    """Raise ``ValueError`` unless ``obj`` has the shape of a change line. (Plain loops: this runs
    once per line of every file opened.)"""
    if not isinstance(obj.get("t"), str):
        raise ValueError('缺少表名 "t"')
    sets = obj.get("set")
    if sets is not None:
        if not isinstance(sets, dict):
            raise ValueError('"set" 应为 {编号: 文档}')
        for k, v in sets.items():
            if not (isinstance(k, str) and k.isdigit() and isinstance(v, dict)):
                raise ValueError('"set" 应为 {编号: 文档}')
    dels = obj.get("del")
    if dels is not None:
        if not isinstance(dels, list):
            raise ValueError('"del" 应为编号列表')
        for k in dels:
            if not (isinstance(k, str) and k.isdigit()):
                raise ValueError('"del" 应为编号列表')
    if len(obj) > 2 or sets is None:  # more than "t" and "set": the flags
        for flag in ("clear", "drop", "more"):
            if not isinstance(obj.get(flag, False), bool):
                raise ValueError(f'"{flag}" 应为 true 或 false')


# --------------------------------------------------------------------------- the chain (format 2)

_TAIL = re.compile(rb',"f":"([0-9a-f]{1,32})","n":([0-9]{1,18}),"p":([0-9]{1,10}),"c":([0-9]{1,10})\}\Z')
_TAIL_MAX = 100  # bytes: the longest tail the pattern above can match, and some


class Link(NamedTuple):
    """A format-2 line's place: the file it belongs to, its number, its predecessor's checksum and
    its own checksum. (A tuple: one is made per line read.)"""

    fid: str
    n: int
    p: int
    c: int


def line_crc(line: bytes) -> int:
    """The ``"c"`` written at the end of a complete line (its trailing newline optional)."""
    line = line.rstrip(b"\r\n")
    return int(line[line.rfind(b'"c":') + 4:-1])


class Chain:
    """Where the next line of a format-2 journal goes: file id, line number, previous checksum.
    ``encode`` writes a line there and moves on; a caller that may fail takes a ``copy`` first."""

    __slots__ = ("fid", "n", "head")

    def __init__(self, fid: str, n: int, head: int) -> None:
        self.fid, self.n, self.head = fid, n, head

    @classmethod
    def after_header(cls, header: Mapping[str, Any], header_line: bytes) -> Chain:
        return cls(str(header["id"]), 2, line_crc(header_line))

    def copy(self) -> Chain:
        return Chain(self.fid, self.n, self.head)

    def tail(self) -> bytes:
        """The chain fields, closing the object: ``,"f":…,"n":…,"p":…}``."""
        return b',"f":"%s","n":%d,"p":%d}' % (self.fid.encode("ascii"), self.n, self.head)

    def close(self, body: bytes, crc: int) -> bytes:
        """Finish a line whose bytes up to the chain fields are ``body`` (CRC so far ``crc``)."""
        tail = self.tail()
        c = zlib.crc32(tail, crc)
        self.n += 1
        self.head = c
        return body + tail[:-1] + b',"c":%d}\n' % c

    def encode(self, obj: Mapping[str, Any]) -> bytes:
        core = _dumps(obj).encode("utf-8")
        if core == b"{}":
            raise ValueError("an empty object is not a journal line")
        return self.close(core[:-1], zlib.crc32(core[:-1]))

    def seal(self) -> bytes:
        return self.encode(SEAL)


def decode_chained(raw: bytes, raws: RawTexts | None = None, raw_table: str = "") -> tuple[dict, Link]:
    """Check a format-2 line's checksum; return its object (without the chain fields) and its
    ``Link``. ``ValueError`` says what is wrong with the line itself; whether it is in its place is
    for the caller (``journal.replay``) to judge."""
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    m = _TAIL.search(raw, max(0, len(raw) - _TAIL_MAX))
    if m is None:
        decode_line(raw)  # says what is wrong when the line is not even a checksummed line
        raise ValueError('缺少行链字段（"f"、"n"、"p"）')
    c = int(m[4])
    end = m.start(4) - 5  # where ',"c":' starts
    if zlib.crc32(b"}", zlib.crc32(memoryview(raw)[:end])) != c:
        raise ValueError(BAD_CHECKSUM)
    obj = _parse(raw[:m.start()] + b"}", raws, raw_table)
    if not obj:
        raise ValueError("空对象")
    return obj, Link(m[1].decode("ascii"), int(m[2]), int(m[3]), c)


def decode_here(raw: bytes, chain: Chain, raws: RawTexts | None = None, raw_table: str = "") -> tuple[dict, int] | None:
    """The fast path of reading a format-2 file: if ``raw`` is exactly the line ``chain`` expects
    next — its chain fields spelled as they must be here, its checksum right — its object and its
    ``"c"``; else ``None``, and the caller finds out what is wrong with ``decode_chained``. Why:
    building the expected tail and finding it costs less than parsing the tail field by field, and
    almost every line read is the expected one."""
    if raw.endswith(b"\r"):
        raw = raw[:-1]
    expect = b',"f":"%s","n":%d,"p":%d,"c":' % (chain.fid.encode("ascii"), chain.n, chain.head)
    i = raw.rfind(expect, max(0, len(raw) - len(expect) - 11))
    if i < 0 or not raw.endswith(b"}"):
        return None
    digits = raw[i + len(expect):-1]
    if not digits.isdigit() or len(digits) > 10:
        return None
    c = int(digits)
    if zlib.crc32(b"}", zlib.crc32(memoryview(raw)[:i + len(expect) - 5])) != c:
        return None
    obj = _parse(raw[:i] + b"}", raws, raw_table)
    return (obj, c) if obj else None


def is_seal(obj: Mapping[str, Any]) -> bool:
    """Exactly ``{"seal": true}`` (a change line that also says "seal" is not one)."""
    return obj.get("seal") is True and len(obj) == 1

"""Who issues the documents, and how: the issuer file (发文机关、发文字号、主送、抄送、联系人、印章).

An organisation writes it once (YAML, see docs/templates.md)::

    body: 中共某某市直属机关工作委员会          # 发文机关（署名）
    letterhead: 中共某某市直属机关工作委员会文件  # 版头（默认：发文机关）
    number: 市直观摩〔{year}〕{n}号            # 发文字号；{year} 年份，{n} 顺序号
    addressee: "{branch}"                      # 主送（默认：支部名称）
    cc: [某某单位党委]                          # 抄送
    contact: 王某某
    phone: 0000-12345678
    reply_days: 7                              # 整改情况反馈表在整改总时限后几日内报送
    reply_address: 市直机关工委组织部（某某路 1 号 302 室）
    seal: 印章.png                              # 可选：印章图片（相对本文件）

Errors are reported as FILE:LINE:COL through the checklist loader's machinery. Without a file the
documents are issued by the group itself, numbered ``<group>〔<year>〕<n>号``.

Numbers are assigned once per document (branch × kind) and stored in the session as ordinary
``doc_number`` records, so they travel through handout and merge and are never issued twice: the
next number is one more than the highest already recorded for that year and pattern.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from inspect_tui.core.records import Kind, doc_number_id
from inspect_tui.errors import UserError, file_error

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
_PLACEHOLDER = re.compile(r"\{(\w*)\}")
NUMBER_FIELDS = {"year", "n", "group"}


class Issuer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    body: Text | None = Field(None, description="发文机关，也是署名；默认：观摩小组名称")
    letterhead: Text | None = Field(None, description="版头文字；默认：发文机关")
    number: Text = Field("{group}〔{year}〕{n}号", description="发文字号样式")
    addressee: Text = Field("{branch}", description="主送；{branch} 为支部名称")
    cc: tuple[Text, ...] = ()
    contact: Text | None = None
    phone: Annotated[str, StringConstraints(strip_whitespace=True, max_length=40)] | None = None
    reply_days: int = Field(7, ge=0, le=365, description="整改总时限后几日内报送反馈表")
    reply_address: Text | None = None
    seal: Path | None = None

    @field_validator("number")
    @classmethod
    def _number_pattern(cls, v: str) -> str:
        _braces_only_around_placeholders(v)
        names = _PLACEHOLDER.findall(v)
        unknown = sorted(set(names) - NUMBER_FIELDS)
        if unknown:
            raise ValueError(f"未知的占位符 {{{unknown[0]}}}（可用：{{year}}、{{n}}、{{group}}）")
        if "n" not in names:
            raise ValueError("发文字号格式中需要 {n}（序号），如 某观摩〔{year}〕{n}号")
        return v

    @field_validator("addressee")
    @classmethod
    def _addressee_pattern(cls, v: str) -> str:
        _braces_only_around_placeholders(v)
        unknown = sorted(set(_PLACEHOLDER.findall(v)) - {"branch", "unit"})
        if unknown:
            raise ValueError(f"未知的占位符 {{{unknown[0]}}}（可用：{{branch}}、{{unit}}）")
        return v

    def format_number(self, group: str, year: int, n: int) -> str:
        return self.number.format(group=group, year=year, n=n)


def load_issuer(path: str | Path) -> tuple[Issuer, bytes | None]:
    """The issuer file and its seal image's bytes; ``UserError`` with FILE:LINE:COL problems."""
    from inspect_tui.core.checklist_load import load_yaml_model

    p = Path(path).expanduser()
    issuer, problems = load_yaml_model(p, Issuer, "issuer file")
    if issuer is None or problems:
        raise UserError(f"{path}: 发文设置文件有 {len(problems)} 处问题" if problems else f"{path}: 无法读取",
                        problems=problems, hint="格式见 docs/templates.md 的“发文设置”一节。")
    seal = None
    if issuer.seal is not None:
        seal_path = issuer.seal if issuer.seal.is_absolute() else p.parent / issuer.seal
        seal = read_seal(seal_path)
    return issuer, seal


def read_seal(path: Path) -> bytes:
    """A seal image as PNG bytes (re-encoded: only a real image gets through, decoded by the
    evidence store's guarded decoder — no image bomb, no format Pillow should not try)."""
    import io

    from inspect_tui.store.evidence import NotAnImage, decode

    try:
        im = decode(path.read_bytes()).convert("RGBA")
    except FileNotFoundError:
        raise file_error(path, "印章图片不存在") from None
    except IsADirectoryError:
        raise file_error(path, "这是一个文件夹，不是印章图片") from None
    except NotAnImage as exc:
        raise file_error(path, f"印章文件不是可读的图片：{exc}") from None
    im.thumbnail((800, 800))
    buf = io.BytesIO()
    im.save(buf, "PNG", optimize=True)
    return buf.getvalue()


def seal_hash(seal: bytes | None) -> str | None:
    return hashlib.sha256(seal).hexdigest() if seal else None


def _braces_only_around_placeholders(v: str) -> None:
    rest = _PLACEHOLDER.sub("", v)
    if "{" in rest or "}" in rest:
        raise ValueError("花括号只能用来写占位符（如 {year}、{n}），这里有一个不成对的 { 或 }")


# --- numbers -------------------------------------------------------------------------------------

def _number_parts(issuer: Issuer, group: str, year: int) -> re.Pattern[str]:
    """A regex matching numbers of this pattern and year, capturing the serial."""
    parts = re.split(r"(\{\w*\})", issuer.number)
    rx = "".join(r"(\d+)" if p == "{n}" else re.escape(p.format(group=group, year=year)) for p in parts)
    return re.compile(f"^{rx}$")


def assigned_number(records: list[Any], branch: str, kind: str) -> str | None:
    """The number already given to this document, if any."""
    rec = issued_record(records, branch, kind)
    return rec.data["text"] if rec is not None else None


def issued_record(records: list[Any], branch: str, kind: str) -> Any:
    """The ``doc_number`` record of this document (its number, the fingerprint of what it said)."""
    rid = doc_number_id(branch, kind)
    return next((r for r in records if r.id == rid and not r.deleted), None)


def assign_numbers(session: Any, issuer: Issuer, wanted: list[tuple[str, str]], day: date) -> dict[tuple[str, str], str]:
    """Give each (branch, kind) in ``wanted`` its number, reusing one already given; new ones are
    saved to ``session`` (durably, before any PDF is written). Raises ``UserError`` when the session
    already holds one number twice (two leaders numbered concurrently and their copies merged)."""
    records, next_n = _numbering(session, issuer, day)
    group = session.meta.group
    out: dict[tuple[str, str], str] = {}
    for branch, kind in wanted:
        existing = assigned_number(records, branch, kind)
        if existing is None:
            existing = issuer.format_number(group, day.year, next_n)
            session.save(Kind.DOC_NUMBER, {"branch": branch, "document": kind, "text": existing},
                         doc_number_id(branch, kind))
            next_n += 1
        out[(branch, kind)] = existing
    return out


def _numbering(session: Any, issuer: Issuer, day: date) -> tuple[list[Any], int]:
    """The session's number records and the next serial of this pattern and year — past every
    number ever given, those a document replaced when it was issued again included."""
    records = [r for b in session.branches() for r in session.records(b.id, Kind.DOC_NUMBER)]
    by_text: dict[str, str] = {}
    for r in records:
        other = by_text.setdefault(r.data["text"], r.id)
        if other != r.id:
            raise UserError(f"发文字号 {r.data['text']} 在会话中出现了两次（合并了两份各自编号的会话）",
                            hint="请在其中一份文件的支部上删除该编号记录后重新导出。")
    rx = _number_parts(issuer, session.meta.group, day.year)
    given = [t for r in records for t in (r.data["text"], *(s["text"] for s in r.data.get("superseded", ())))]
    return records, max((int(m.group(1)) for t in given if (m := rx.match(t))), default=0) + 1


def keep_content(session: Any, issued: Any, content: str) -> None:
    """Record the fingerprint of what the document issued under its number (``issued``) says."""
    session.save(Kind.DOC_NUMBER, {**issued.data, "content": content}, issued.id)


def renumber(session: Any, issuer: Issuer, issued: Any, content: str, day: date) -> str:
    """A new number for a document whose content changed since it was issued, recorded with the new
    ``content``; the old number (and what it said) is kept as replaced, never to be given again."""
    _records, next_n = _numbering(session, issuer, day)
    number = issuer.format_number(session.meta.group, day.year, next_n)
    old = {"text": issued.data["text"], "content": issued.data.get("content")}
    session.save(Kind.DOC_NUMBER, {**issued.data, "text": number, "content": content,
                                   "superseded": [*issued.data.get("superseded", ()), old]}, issued.id)
    return number

"""Checking a session's content: schema, hashes and references.

``session check`` and the merge both need to know that a file is what it claims: every record
valid for its kind (the published JSON Schema), no version whose content no longer matches its
hash (a hand edit), and no reference to a branch or checklist item that is not there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jsonschema import Draft202012Validator, ValidationError

from inspect_tui.core.checklist import Checklist
from inspect_tui.core.records import Kind
from inspect_tui.core.session_schema import load_schema
from inspect_tui.core.versions import bad_hashes

_validator: Draft202012Validator | None = None


def _schema_validator() -> Draft202012Validator:
    global _validator
    if _validator is None:
        _validator = Draft202012Validator(load_schema())
    return _validator


def _where(path: Sequence[Any], content: dict[str, Any]) -> str:
    """A readable place for a schema error: the record id when inside a record."""
    parts = list(path)
    if len(parts) >= 2 and parts[0] == "records" and isinstance(parts[1], int):
        rid = content["records"][parts[1]].get("id", "?") if isinstance(content["records"][parts[1]], dict) else "?"
        rest = "/".join(str(p) for p in parts[2:])
        return f"记录 {rid}" + (f" {rest}" if rest else "")
    return "/".join(str(p) for p in parts) or "（顶层）"


def _schema_message(error: ValidationError) -> str:
    """A JSON Schema finding in Chinese (jsonschema words its messages in English)."""
    kind, bound, value = error.validator, error.validator_value, error.instance
    if kind == "maxLength":
        return f"太长：最多 {bound} 个字（现有 {len(value) if isinstance(value, str) else '?'} 个）"
    if kind == "minLength":
        return "不能为空" if bound == 1 else f"至少 {bound} 个字"
    if kind == "required":
        return f"缺少必填项：{error.message.split(' ', 1)[0]}"
    if kind == "additionalProperties":
        return f"有未知的字段（{error.message}）"
    if kind == "type":
        return f"类型不对：应为 {bound}，而不是 {type(value).__name__}"
    if kind in ("enum", "const"):
        return f"“{value}”不是可选的值"
    if kind in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        return f"{value} 超出范围（{kind} {bound}）"
    shown = repr(value)
    return f"{shown[:80]}{'…' if len(shown) > 80 else ''} 不符合会话格式（{kind}）"


def check_content(meta: dict[str, Any], records: list[dict[str, Any]], log: list[dict[str, Any]],
                  checklist: Checklist | None = None, limit: int = 50) -> list[str]:
    """Everything wrong with a session's content, as messages (empty when the session is sound)."""
    content = {"meta": meta, "records": records, "log": log}
    errors = sorted(_schema_validator().iter_errors(content), key=lambda e: list(map(str, e.absolute_path)))
    out = [f"{_where(e.absolute_path, content)}: {_schema_message(e)}" for e in errors[:limit]]
    if out:
        return out
    out += [f"记录 {rid}: 内容与其校验值不符（文件可能被手工改动）" for rid in bad_hashes(records)]
    branches = {r["id"] for r in records if r["versions"][0]["kind"] == Kind.BRANCH}
    items = {i.id for i in checklist.items()} if checklist else None
    for r in records:
        for v in r["versions"]:
            data = v["data"]
            if v["kind"] != Kind.BRANCH and data.get("branch") not in branches:
                out.append(f"记录 {r['id']}: 引用了不存在的支部 {data.get('branch')}")
            if items is not None and data.get("item") is not None and data["item"] not in items:
                out.append(f"记录 {r['id']}: 检查清单中没有条目 {data['item']}")
        if len(out) >= limit:
            break
    return out[:limit]

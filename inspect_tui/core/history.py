"""A session's history in words: who recorded or changed what, when; verdicts with their reasons;
and the merge log (which inspector's file, with what content digest, merged when and by whom).

A record keeps only its *current* versions (superseded ones are folded away by the merge lattice),
so the history shows, for each record, who made it and who last changed it and when — plus every
open conflict (each concurrent version is a line of its own) — interleaved with the log entries in
time order. Pure: ``session log`` (CLI) and the TUI both print these lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from inspect_tui.core.checklist import Checklist
from inspect_tui.core.format import fmt_score
from inspect_tui.core.labels import FIELD_LABELS, KIND_LABELS, adequate_label, status_label
from inspect_tui.core.ledger import change_summary, ref_of
from inspect_tui.core.records import Kind
from inspect_tui.core.steps import STEP_LABELS
from inspect_tui.core.versions import RecordDoc


def _when(at: Any) -> str:
    text = str(at or "")
    return text[:19].replace("T", " ") if text else "????-??-?? ??:??:??"


def _instant(at: str) -> float:
    """Sort key: the moment ``at`` names (times from laptops carry different UTC offsets)."""
    try:
        t = datetime.fromisoformat(at)
    except ValueError:
        return float("inf")
    return (t if t.tzinfo else t.replace(tzinfo=UTC)).timestamp()


def _short(text: Any, limit: int = 40) -> str:
    s = " ".join(str(text or "").split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _what(kind: Kind, data: Mapping[str, Any], items: Mapping[str, str]) -> str:
    item = data.get("item")
    item_part = (f"「{items[item]}」" if item in items else f" {item}") if item else ""  # titles, not ids
    if kind is Kind.BRANCH:
        return f"「{data.get('name', '')}」"
    if kind is Kind.OBSERVATION:
        return f"{item_part}（{STEP_LABELS.get(data.get('step'), '')}）：{status_label(data.get('status'))}" + (
            f"，{_short(data.get('note'))}" if data.get("note") else "")
    if kind is Kind.SCORE:
        score = data.get("score")
        return f"{item_part}：{fmt_score(score)} 分" if isinstance(score, int | float) else f"{item_part}：未评分"
    if kind is Kind.VERDICT:
        field = data.get("field", "")
        value = f"{fmt_score(data['score'])} 分" if field == "score" and data.get("score") is not None \
            else status_label(data.get("status"))
        out = f"{item_part}（{FIELD_LABELS.get(field, field)}）= {value}"
        if data.get("chosen_from"):
            out += f"，采纳 {data['chosen_from']} 的意见"
        if data.get("reason"):
            out += f"；理由：{data['reason']}"
        return out
    if kind is Kind.STEP_NOTE:
        return f"（{STEP_LABELS.get(data.get('step'), '')}）{_short(data.get('text'))}"
    if kind is Kind.CLAIM:
        return f"{item_part}：{'汇报称已达到' if data.get('claimed') else '撤销认定'}"
    if kind is Kind.LEDGER_ENTRY:
        return f" {data.get('notice_no', '')}/{data.get('no', '')}：{_short(data.get('requirement'))}"
    if kind is Kind.LEDGER_CHANGE:
        return f" {ref_of(str(data.get('entry', '')))}：{change_summary(data)}"
    if kind is Kind.INTERVIEW:
        ok = adequate_label(data.get("adequate"))
        return f"：{data.get('role', '')}，{_short(data.get('question'), 30)}，{ok}"
    text = data.get("text") or data.get("requirement") or ""
    return f"{item_part}：{_short(text)}"


def record_lines(records: Iterable[RecordDoc], checklist: Checklist | None = None) -> list[tuple[str, str]]:
    """``(time, line)`` for each current version of each record."""
    items = {i.id: i.title for i in checklist.items()} if checklist else {}
    branch_names: dict[str, str] = {}
    docs = list(records)
    for doc in docs:
        for v in doc["versions"]:
            if v["kind"] == Kind.BRANCH and not v["deleted"]:
                branch_names[doc["id"]] = v["data"].get("name", doc["id"])
    out: list[tuple[str, str]] = []
    for doc in docs:
        vs = doc["versions"]
        for v in vs:
            kind = Kind(v["kind"])
            data = v["data"]
            where = "" if kind is Kind.BRANCH else f"［{branch_names.get(data.get('branch'), data.get('branch'))}］"
            if v["deleted"]:
                verb = "删除了"
            elif kind is Kind.VERDICT:
                verb = "作出"
            elif v["by"] != v["author"] or sum(v["vv"].values()) > 1:
                verb = "修改了"
            else:
                verb = "记录了"
            who = v["by"] + (f"（原记录人 {v['author']}）" if v["by"] != v["author"] else "")
            line = f"{_when(v['at'])}  {who} {verb}{KIND_LABELS[kind]}{where}{_what(kind, data, items)}"
            if len(vs) > 1:
                line += f"  ⚠ 并发修改冲突（{len(vs)} 个版本，待处理）"
            out.append((str(v["at"]), line))
    return out


def log_lines(log: Iterable[Mapping[str, Any]]) -> list[tuple[str, str]]:
    out = []
    for e in log:
        event = e.get("event") or e.get("type") or "?"
        at, by = e.get("at", ""), e.get("by", "")
        if event == "merge":
            text = (f"{by} 合并了 {e.get('source', '?')}（观摩员 {e.get('inspector', '?')}，"
                    f"{e.get('records', '?')} 条记录，新增 {e.get('new', '?')}，冲突 {e.get('conflicts', '?')}，"
                    f"内容摘要 {e.get('digest', '?')}）")
        elif event == "merged":
            text = (f"{by} 写出合并结果 {e.get('output', '?')}：{e.get('records', '?')} 条记录，"
                    f"摘要 {e.get('digest', '?')}")
            if e.get("branch_aliases"):
                text += f"，按名称匹配支部 {len(e['branch_aliases'])} 个"
        elif event == "handout":
            text = f"{by} 把 {e.get('source', '?')} 复制给 {e.get('to', '?')}（摘要 {e.get('digest', '?')}）"
        else:
            rest = "，".join(f"{k}={v}" for k, v in e.items() if k not in ("event", "type", "at", "by"))
            text = f"{by} {event}" + (f"：{rest}" if rest else "")
        out.append((str(at), f"{_when(at)}  {text.strip()}"))
    return out


def history_lines(meta: Any, records: Iterable[RecordDoc], log: Iterable[Mapping[str, Any]],
                  checklist: Checklist | None = None) -> list[str]:
    """The history of a session, oldest first: records (current versions) and log entries.

    ``meta`` is a ``SessionMeta`` or its dict; ``checklist`` (optional) adds item titles."""
    m = meta.model_dump(mode="json") if hasattr(meta, "model_dump") else dict(meta or {})
    head = [f"会话：{m.get('group', '?')} {m.get('date', '?')}，本副本：{m.get('inspector', '?')}"
            f"（{'组长' if m.get('role') == 'leader' else '观摩员'}），清单 "
            f"{(m.get('checklist') or {}).get('id', '?')} {(m.get('checklist') or {}).get('version', '?')}"]
    rows = sorted(record_lines(records, checklist), key=lambda r: r[1]) + log_lines(log)
    rows.sort(key=lambda r: _instant(r[0]))  # stable: log entries of one moment keep their order
    return head + [line for _at, line in rows]

"""`otelcap show session ID` and `otelcap show turn PROMPT_ID`: one session's or one turn's
story, from the pack's session-events and session-spans (the first command to read
otel_traces), through the store the access layer hands over.

An id is any unique prefix (session-lookup, turn-lookup): none matching is a failure (exit 1),
several a usage error (exit 2) that lists them. Each turn prints, in order: its events and
spans with their durations (subagents' events indented under their agent, spans as their
parent tree), tool calls and permission decisions, API calls per model with tokens and cost,
errors with the workflow step they count under, the time blocked on the user
(`claude_code.tool.blocked_on_user` spans) and the subagents.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from otelcap import querypack
from otelcap.config import Config, check_format
from otelcap.errors import ConfigError, QueryError

if TYPE_CHECKING:
    from otelcap.storage.base import Reader

__all__ = ["FORMATS", "show_session", "show_turn", "tell_session", "tell_turn"]

FORMATS = ("text", "json")
_BLOCKED = "claude_code.tool.blocked_on_user"
# what an error of session-events is shown with
_ERROR_FIELDS = ("time", "event", "tool", "step", "kind", "category", "error_message",
                 "first_failure", "workflow_step", "agent_id")  # fmt: skip


@dataclass
class _Turn:
    prompt_id: str
    events: list[dict[str, Any]]
    spans: list[dict[str, Any]] = field(default_factory=list)


def show_session(config: Config, prefix: str, fmt: str = "text", tz: str | None = None) -> str:
    """`otelcap show session PREFIX`: the story of the one session whose id starts so."""
    check_format(fmt, FORMATS)
    from otelcap import access  # not at import: `otelcap --help` opens no store

    with access.open(config) as store:
        return tell_session(store, prefix, fmt, tz)


def show_turn(config: Config, prefix: str, fmt: str = "text", tz: str | None = None) -> str:
    """`otelcap show turn PREFIX`: the story of the one turn whose prompt.id starts so."""
    check_format(fmt, FORMATS)
    from otelcap import access

    with access.open(config) as store:
        return tell_turn(store, prefix, fmt, tz)


def tell_session(store: Reader, prefix: str, fmt: str = "text", tz: str | None = None) -> str:
    """The session's story, read from `store` (any Reader: local, remote, either engine)."""
    rows = _run(store, "session-lookup", {"prefix": prefix})
    session = _one(rows, "session_id", "session", prefix, "show session")
    events = _run(store, "session-events", {"session": session})
    spans = _run(store, "session-spans", {"session": session})
    return _render(session, _turns(events, spans), fmt, tz)


def tell_turn(store: Reader, prefix: str, fmt: str = "text", tz: str | None = None) -> str:
    """The turn's story, read from `store`."""
    rows = _run(store, "turn-lookup", {"prefix": prefix})
    prompt = _one(rows, "prompt_id", "turn", prefix, "show turn")
    session = next(r["session_id"] for r in rows if r["prompt_id"] == prompt)
    events = _run(store, "session-events", {"session": session})
    spans = _run(store, "session-spans", {"session": session})
    turns = [t for t in _turns(events, spans) if t.prompt_id == prompt]
    return _render(session, turns, fmt, tz)


def _run(store: Reader, name: str, values: dict[str, str | None]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = querypack.run(store, name, values).to_pylist()
    return rows


def _one(rows: list[dict[str, Any]], key: str, what: str, prefix: str, command: str) -> str:
    ids = list(dict.fromkeys(r[key] for r in rows))
    if not ids:
        raise QueryError(
            f"no {what} starts with {prefix!r}: `otelcap query "
            f"{'sessions' if what == 'session' else 'errors-sample'}` lists some ids"
        )
    if prefix in ids:  # a full id that is also the prefix of a longer one
        return prefix
    if len(ids) > 1:
        # session-lookup and turn-lookup stop at 20 rows
        more = " (and maybe more)" if len(rows) >= 20 else ""
        raise ConfigError(
            f"{len(ids)} {what}s start with {prefix!r}{more}; give more of the id, e.g. "
            f"`otelcap {command} {ids[0]}`:\n  " + "\n  ".join(ids)
        )
    return str(ids[0])


def _turns(events: list[dict[str, Any]], spans: list[dict[str, Any]]) -> list[_Turn]:
    """Events grouped by turn in the order session-events gives (turns as they started),
    each with the spans of the traces its events carry."""
    by_prompt: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in events:
        by_prompt[e["prompt_id"]].append(e)
    by_trace: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for s in spans:
        by_trace[s["trace_id"]].append(s)
    turns = []
    for prompt, rows in by_prompt.items():
        traces = dict.fromkeys(r["trace_id"] for r in rows if r["trace_id"])
        turn_spans = [s for t in traces for s in by_trace.get(t, [])]
        turns.append(_Turn(prompt, rows, turn_spans))
    return turns


# --- what a turn adds up to -----------------------------------------------------------------


def _summary(turn: _Turn) -> dict[str, Any]:
    tools: dict[str, dict[str, int]] = defaultdict(lambda: {"calls": 0, "failed": 0})
    decisions: Counter[str] = Counter()
    models: dict[str, dict[str, float]] = defaultdict(
        lambda: {"calls": 0, "tokens": 0, "cost_usd": 0.0}
    )
    agents: dict[str, dict[str, Any]] = {}
    for e in turn.events:
        if e["event"] == "tool_result":
            tools[e["tool"]]["calls"] += 1
            tools[e["tool"]]["failed"] += e["success"] is False
        elif e["event"] == "tool_decision":
            decisions[f"{e['tool']} {e['decision']} ({e['decision_source'] or '?'})"] += 1
        elif e["event"] == "api_request":
            m = models[e["model"] or "(no model)"]
            m["calls"] += 1
            m["tokens"] += e["tokens"] or 0
            m["cost_usd"] += e["cost_usd"] or 0.0
        if e["agent_id"]:
            a = agents.setdefault(e["agent_id"], {"agent_id": e["agent_id"], "events": 0,
                                                  "cost_usd": 0.0})  # fmt: skip
            a["events"] += 1
            a["cost_usd"] += (e["cost_usd"] or 0.0) if e["event"] == "api_request" else 0.0
    errors = [{k: e[k] for k in _ERROR_FIELDS} for e in turn.events if e["step"]]
    blocked = [s for s in turn.spans if s["span_name"] == _BLOCKED]
    return {
        "tools": [{"tool": t, **v} for t, v in tools.items()],
        "decisions": [{"decision": d, "count": n} for d, n in decisions.items()],
        "api_calls": [{"model": m, **v} for m, v in models.items()],
        "errors": errors,
        "waiting_on_user_ms": sum(s["duration_ms"] or 0.0 for s in blocked),
        "waiting_spans": len(blocked),
        "subagents": list(agents.values()),
    }


def _span_tree(spans: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """(depth, span) in tree order: children under their parent, siblings by start."""
    ids = {s["span_id"] for s in spans}
    children: dict[str, list[dict[str, Any]]] = defaultdict(list)
    roots = []
    for s in sorted(spans, key=lambda s: (s["started"], s["span_id"])):
        if s["parent_span_id"] and s["parent_span_id"] in ids:
            children[s["parent_span_id"]].append(s)
        else:
            roots.append(s)
    out: list[tuple[int, dict[str, Any]]] = []

    def walk(span: dict[str, Any], depth: int) -> None:
        out.append((depth, span))
        for child in children.get(span["span_id"], []):
            walk(child, depth + 1)

    for root in roots:
        walk(root, 0)
    return out


# --- text and JSON --------------------------------------------------------------------------


def _render(session: str, turns: list[_Turn], fmt: str, tz: str | None) -> str:
    from otelcap.output import instant, local_time

    if fmt == "json":
        doc = {
            "session_id": session,
            "turns": [
                {
                    "prompt_id": t.prompt_id,
                    "workflow_step": _workflow(t),
                    "started": instant(t.events[0]["turn_started"], tz),
                    "events": [_jsonable(e, tz) for e in t.events],
                    "spans": [{**_jsonable(s, tz), "depth": d} for d, s in _span_tree(t.spans)],
                    **{k: _jsonable_any(v, tz) for k, v in _summary(t).items()},
                }
                for t in turns
            ],
        }
        return json.dumps(doc, indent=2)
    traced = any(t.spans for t in turns)  # else say why there is nothing to wait on
    lines = [f"session {session}: {len(turns)} turn{'s' if len(turns) != 1 else ''}"]
    for t in turns:
        lines += ["", *_turn_text(t, tz, local_time, traced)]
    return "\n".join(lines)


def _workflow(t: _Turn) -> str:
    """The turn's slash command (model/workflow.py fills WorkflowStep from the prompt)."""
    return next((e["workflow_step"] for e in t.events if e["workflow_step"]), "")


def _turn_text(t: _Turn, tz: str | None, local_time: Any, traced: bool) -> list[str]:
    name = t.prompt_id or "(before the first prompt: start-up)"
    s = _summary(t)
    cost = sum(m["cost_usd"] for m in s["api_calls"])
    workflow = _workflow(t)
    lines = [
        f"turn {name}{'  ' + workflow if workflow else ''}  "
        f"started {local_time(t.events[0]['turn_started'], tz)}  ${cost:.4f}"
    ]
    lines.append("  events:")
    for e in t.events:
        indent = "    " + ("  " if e["agent_id"] else "")
        who = f"[agent {e['agent_id']}] " if e["agent_id"] else ""
        lines.append(f"{indent}{local_time(e['time'], tz)}  {who}{_event_text(e)}")
    if t.spans:
        lines.append("  spans:")
        for depth, sp in _span_tree(t.spans):
            detail = " ".join(x for x in (sp["tool"], sp["model"]) if x)
            agent = f" [agent {sp['agent_id']}]" if sp["agent_id"] else ""
            lines.append(
                f"    {'  ' * depth}{sp['span_name']}{' ' + detail if detail else ''}"
                f"{agent}  {_ms(sp['duration_ms'])}"
            )
    lines.append("  tool calls:")
    lines += [f"    {x['tool']}: {x['calls']} call(s), {x['failed']} failed" for x in s["tools"]]
    lines += [f"    decision {x['decision']}: {x['count']}" for x in s["decisions"]]
    if not s["tools"] and not s["decisions"]:
        lines.append("    (none)")
    lines.append("  API calls:")
    lines += [
        f"    {x['model']}: {x['calls']} call(s), {int(x['tokens']):,} tokens, ${x['cost_usd']:.4f}"
        for x in s["api_calls"]
    ] or ["    (none)"]
    lines.append("  errors:")
    lines += [
        f"    {local_time(x['time'], tz)}  {x['event']}{' ' + x['tool'] if x['tool'] else ''}"
        f"  step {x['step']} / {x['kind']}{' in ' + workflow if workflow else ''}"
        f"{' (first failure)' if x['first_failure'] else ''}"
        f"{'  ' + x['error_message'] if x['error_message'] else ''}"
        for x in s["errors"]
    ] or ["    (none)"]
    if t.spans or traced:
        lines.append(
            f"  waiting on the user: {_ms(s['waiting_on_user_ms'])} "
            f"({s['waiting_spans']} blocked_on_user span(s))"
        )
    else:
        lines.append("  waiting on the user: (no spans: turn on Claude Code's traces beta)")
    lines.append("  subagents:")
    lines += [
        f"    {x['agent_id']}: {x['events']} event(s), ${x['cost_usd']:.4f}" for x in s["subagents"]
    ] or ["    (none)"]
    return lines


def _event_text(e: dict[str, Any]) -> str:
    parts = [e["event"]]
    if e["tool"]:
        parts.append(e["tool"])
    if e["event"] == "api_request":
        parts += [e["model"] or "", f"{e['tokens'] or 0:,} tokens", f"${e['cost_usd'] or 0:.4f}"]
    if e["decision"]:
        parts.append(f"{e['decision']} ({e['decision_source'] or '?'})")
    if e["success"] is False:
        parts.append("failed")
    if e["status_code"]:
        parts.append(f"status {e['status_code']}")
    if e["duration_ms"] is not None:
        parts.append(_ms(e["duration_ms"]))
    return "  ".join(p for p in parts if p)


def _ms(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value / 1000:.1f} s" if value >= 1000 else f"{value:.0f} ms"


def _jsonable(row: dict[str, Any], tz: str | None) -> dict[str, Any]:
    return {k: _jsonable_any(v, tz) for k, v in row.items()}


def _jsonable_any(value: Any, tz: str | None) -> Any:
    import datetime as dt

    from otelcap.output import instant

    if isinstance(value, dt.datetime):
        return instant(value, tz)
    if isinstance(value, list):
        return [_jsonable_any(v, tz) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable_any(v, tz) for k, v in value.items()}
    return value

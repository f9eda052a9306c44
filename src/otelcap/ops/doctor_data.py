"""doctor's data checks: what has arrived, and what a Claude Code flag left out."""

from __future__ import annotations

import datetime as dt
from typing import Any

from otelcap import opsql
from otelcap.access import Reader, Server
from otelcap.ops.doctor_report import (
    _FIX_NO_LOGS,
    _FIX_NO_METRICS,
    _FIX_NO_SPANS,
    _FIX_NOTHING,
    _FIX_PROMPTS,
    _FIX_REFUSED,
    _FIX_TOOLS,
    _SEP,
    _TEMPORALITY,
    INFO,
    OK,
    WARN,
    Check,
    _check,
)


def _rows(store: Reader, name: str) -> list[dict[str, Any]]:
    """Rows of one of queries/_ops/doctor-*.sql, in the store's dialect, as Python values;
    timestamps as naive UTC datetimes (microseconds: Python has no nanoseconds)."""
    import pyarrow as pa

    table = store.query(opsql.sql(name, store.dialect), opsql.defaults(name) or None)
    cols = [
        col.cast(pa.timestamp("us", f.type.tz), safe=False)
        if pa.types.is_timestamp(f.type)
        else col
        for f, col in zip(table.schema, table.columns, strict=True)
    ]
    rows: list[dict[str, Any]] = pa.Table.from_arrays(cols, names=table.column_names).to_pylist()
    return rows


def check_arrived(store: Reader, live: Server | None, now: dt.datetime) -> list[Check]:
    def q(name: str) -> list[dict[str, Any]]:
        return _rows(store, name)

    events, points, spans = q("doctor-events"), q("doctor-metrics"), q("doctor-spans")
    n_events, n_points = sum(r["n"] for r in events), sum(r["n"] for r in points)
    if not (n_events or n_points or spans):
        where = "otelcap"
        if live:
            rec = live.record
            where = f"the running otelcap (gRPC :{rec.grpc_port}, HTTP :{rec.http_port})"
        fix = _FIX_NOTHING.format(where=where)
        return [_check("data", "arrived", WARN, "nothing has arrived yet", fix)]
    checks = [
        _signal("logs", "event", events, now, WARN, _FIX_NO_LOGS),
        _signal("metrics", "data point", points, now, WARN, _FIX_NO_METRICS),
        _signal("traces", "span", spans, now, WARN, _FIX_NO_SPANS),
        _versions(q("doctor-versions")),
        _protocol(live),
    ]
    if n_points:
        checks.append(_temporality(q("doctor-temporality")))
    if n_events:
        checks.append(_prompts(q("doctor-prompts")[0]))
        checks.extend(_tools(q("doctor-tools")[0]))
    return checks


def _signal(
    signal: str, unit: str, rows: list[dict[str, Any]], now: dt.datetime, if_none: str, fix: str
) -> Check:
    total = sum(r["n"] for r in rows)
    names = [{"name": r["name"], "count": r["n"], "last_seen": _iso(r["last"])} for r in rows]
    if not total:
        message = f"{signal}: none" + (" (the traces beta is off)" if signal == "traces" else "")
        return _check("data", signal, if_none, message, fix, total=0, names=[])
    last = max(r["last"] for r in rows if r["last"] is not None)
    listed = _SEP.join(f"{r['name'] or '(unnamed)'} {r['n']}" for r in rows[:12])
    if len(rows) > 12:
        listed += f"{_SEP}and {len(rows) - 12} more"
    message = (
        f"{signal}: {_n(total, unit)} ({_n(len(rows), 'name')}), last seen {_when(last, now)}"
        f"\n{listed}"
    )
    return _check("data", signal, OK, message, total=total, names=names)


def _versions(rows: list[dict[str, Any]]) -> Check:
    versions = [r["app_version"] for r in rows]
    data = {
        "versions": [
            {"version": r["app_version"], "count": r["total"], "last_seen": _iso(r["latest"])}
            for r in rows
        ]
    }
    if not versions:
        return _check("data", "versions", INFO, "Claude Code version: not reported", **data)
    if len(versions) == 1:
        return _check("data", "versions", OK, f"Claude Code version {versions[0]}", **data)
    message = f"Claude Code versions, latest first: {', '.join(versions)}"
    return _check("data", "versions", OK, message, **data)


def _protocol(live: Server | None) -> Check:
    """Requests per protocol, from the running server's own counters (/v1/status)."""
    if live is None:
        message = "protocol: unknown (a running otelcap counts requests per protocol)"
        return _check("data", "protocol", INFO, message)
    ok: dict[str, int] = {}
    refused: dict[str, int] = {}
    for r in live.status.get("requests", []):
        if not r.get("count"):
            continue
        into = ok if r.get("outcome") == "ok" else refused
        key = r.get("protocol", "?") if into is ok else r.get("outcome", "?")
        into[key] = into.get(key, 0) + int(r["count"])
    if not ok and not refused:
        message = "protocol: no requests since this otelcap started"
        return _check("data", "protocol", INFO, message, requests={}, refused={})
    text = ", ".join(f"{p} ({_n(n, 'request')})" for p, n in sorted(ok.items())) or "none stored"
    if not refused:
        return _check("data", "protocol", OK, f"protocol since start: {text}", requests=ok)
    why = ", ".join(f"{o} {n}" for o, n in sorted(refused.items()))
    message = f"protocol since start: {text}; refused: {why}"
    return _check("data", "protocol", WARN, message, _FIX_REFUSED, requests=ok, refused=refused)


def _temporality(rows: list[dict[str, Any]]) -> Check:
    kinds = [_TEMPORALITY.get(r["temporality"], str(r["temporality"])) for r in rows]
    counts = {k: r["n"] for k, r in zip(kinds, rows, strict=True)}
    if kinds == ["delta"]:
        text = "delta (Claude Code's default)"
    elif kinds == ["cumulative"]:
        text = "cumulative (OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE=cumulative)"
    else:
        text = " and ".join(kinds) + " (each series is summed by its own temporality)"
    return _check("data", "temporality", INFO, f"metric temporality: {text}", counts=counts)


def _prompts(row: dict[str, Any]) -> Check:
    """OTEL_LOG_USER_PROMPTS, judged on the latest prompts: without it Claude Code sends
    `<REDACTED>` (or, in some versions, no prompt attribute)."""
    n, with_text = row["n"] or 0, row["with_text"] or 0
    data = {"recent": n, "with_text": with_text}
    if not n:
        return _check("data", "prompts", INFO, "prompts: no user_prompt events yet", **data)
    if with_text:
        message = (
            f"prompt text arrives ({with_text} of the latest {_n(n, 'prompt')}); otelcap "
            "stores a keyed hash and the length, not the text"
        )
        return _check("data", "prompts", OK, message, **data)
    latest = (
        "the only user_prompt event carries"
        if n == 1
        else (f"the latest {n} user_prompt events carry")
    )
    message = (
        f"prompts: {latest} no text (<REDACTED>): OTEL_LOG_USER_PROMPTS is off, so equal "
        "prompts cannot be grouped and slash-command workflow steps are unknown"
    )
    return _check("data", "prompts", WARN, message, _FIX_PROMPTS, **data)


def _tools(row: dict[str, Any]) -> list[Check]:
    """OTEL_LOG_TOOL_DETAILS, judged on the latest tool events: with it they carry
    tool_parameters or tool_input."""
    n = row["n"] or 0
    data = {k: row[k] or 0 for k in ("with_details", "failures", "failures_without_text")}
    if not n:
        return []
    if data["with_details"]:
        message = (
            f"tool details arrive ({data['with_details']} of the latest {_n(n, 'tool event')}); "
            "otelcap hashes tool parameters and masks secrets in error text"
        )
        return [_check("data", "tool_details", OK, message, recent=n, **data)]
    failures = ""
    if data["failures_without_text"]:
        failures = f"; {_n(data['failures_without_text'], 'failed tool call')} without error text"
    message = (
        f"tool details: the latest {_n(n, 'tool event')} carry no tool_parameters or tool_input: "
        "OTEL_LOG_TOOL_DETAILS is off, so Bash commands, file paths, MCP and skill names and "
        f"tool error text are missing{failures}"
    )
    return [_check("data", "tool_details", WARN, message, _FIX_TOOLS, recent=n, **data)]


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _when(ts: dt.datetime | None, now: dt.datetime) -> str:
    if ts is None:
        return "never"
    ts = ts.replace(tzinfo=dt.timezone.utc) if ts.tzinfo is None else ts
    text = ts.strftime("%Y-%m-%d %H:%M:%S UTC")
    ago = (now - ts).total_seconds()
    if ago < 0:
        return f"{text} (in the future: check the clocks)" if ago < -300 else text
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if ago >= size:
            return f"{text} ({int(ago // size)} {unit} ago)"
    return f"{text} ({int(ago)} s ago)"


def _iso(ts: dt.datetime | None) -> str | None:
    if ts is None:
        return None
    return (ts.replace(tzinfo=dt.timezone.utc) if ts.tzinfo is None else ts).isoformat()

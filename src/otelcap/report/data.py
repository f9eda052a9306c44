"""The numbers behind the report: the query pack's answers, gathered once, as JSON.

Every figure the page shows is a row of a pack query (`otelcap query NAME` prints the same
row): `gather` runs the queries through a `run(name, values)` callable, so the caller decides
where they run (the running server, the file read-only, later the access layer), and turns
each Arrow table into JSON the page can read: columns and rows, instants as ISO 8601 UTC
with a Z (the page formats them in the viewer's time zone), dates as YYYY-MM-DD, NaN and
infinities as null.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Collection, Mapping
from decimal import Decimal
from typing import Any

import pyarrow as pa

from otelcap import __version__

Run = Callable[[str, dict[str, str]], pa.Table]
Progress = Callable[[str], None]

# Session pages: the events and spans of this many sessions are inlined (those the errors
# sample links to first, then the most recent): <1 MB of the file at 1M events.
DETAIL_SESSIONS = 40
# Up to about this many events in the period, session-events and session-spans run once
# over it and the pages are cut out of the answer; beyond, once per session (each run scans
# the period anyway). At 1M events (30 days: 81,519 events) one run took 0.9 s against
# 0.17 s per session, 6.8 s for 40 (bench/ui.py, on a loaded machine); 500k events of
# session-events are ~100 MB of Arrow.
BULK_EVENTS = 500_000
# A session page shows at most this many events (a turn-by-turn list longer than this is
# read with `otelcap query session-events --session ID`); spans likewise.
DETAIL_EVENTS = 600
DETAIL_SPANS = 600
# The sessions table holds the most recent this many sessions of the period (~300 bytes of
# JSON each: 2,000 are ~0.6 MB); the overview's counts are over all of them.
MAX_SESSIONS = 2000

# The queries of other views, used when this otelcap's pack has them.
OPTIONAL = ("blocks", "anomalies")
# The page's filters: pack parameters ('' = all) whose values are the labels
# `otelcap query cost --by X` prints. A filter goes to every query that has the parameter.
FILTERS = ("model", "project", "user", "team")


def iso(value: dt.datetime) -> str:
    """An instant as ISO 8601 UTC with milliseconds and a Z (what JavaScript's Date reads);
    a naive datetime is UTC, as everything the stores return."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value.isoformat(timespec="milliseconds") + "Z"


def _cell(value: Any) -> Any:
    if value is None or isinstance(value, (bool, str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return _cell(float(value))
    if isinstance(value, dt.datetime):
        return iso(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {str(k): _cell(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(x, tuple) and len(x) == 2 for x in value):
            return {str(k): _cell(v) for k, v in value}  # an Arrow map
        return [_cell(x) for x in value]
    return str(value)


def to_json(table: pa.Table, limit: int | None = None) -> dict[str, Any]:
    """{"columns": [...], "rows": [[...], ...], "total": n}: columnar names once, rows as
    lists (a third of the size of a list of objects). With `limit`, the first `limit` rows
    and `total` saying how many there were."""
    total = table.num_rows
    if limit is not None and total > limit:
        table = table.slice(0, limit)
    # to_pylist turns timestamps into datetimes (ns cut to us; the page shows ms) and nulls
    # into None; a tz-aware column (ClickHouse's DateTime64 with a zone) becomes aware ones.
    columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
    rows = [[_cell(col[r]) for col in columns] for r in range(table.num_rows)]
    return {"columns": table.column_names, "rows": rows, "total": total}


def _rows(table: pa.Table) -> list[dict[str, Any]]:
    return table.to_pylist()


def _by_session(table: pa.Table, sessions: list[str]) -> dict[str, pa.Table]:
    """The rows of each of `sessions` (in the query's order) out of one table of many."""
    import pyarrow.compute as pc

    column = table.column("session_id")
    return {sid: table.filter(pc.equal(column, sid)) for sid in sessions}


def windows(now: dt.datetime, tz: dt.tzinfo) -> dict[str, tuple[dt.datetime, dt.datetime]]:
    """The overview's cost windows, each with the one before it for the trend: today (from
    midnight in `tz`) against yesterday, the last 7 and 30 days (today and the 6 or 29 days
    before it) against the 7 and 30 before. Whole days of `tz`, so one run of cost by day
    answers them all. Naive UTC, as the pack's parameters."""
    today = now.replace(tzinfo=dt.timezone.utc).astimezone(tz).date()

    def midnight(days_before: int) -> dt.datetime:
        # the day's wall-clock midnight, then UTC: a DST day is 23 or 25 hours long
        day = dt.datetime.combine(today - dt.timedelta(days=days_before), dt.time(), tz)
        return day.astimezone(dt.timezone.utc).replace(tzinfo=None)

    return {
        "today": (midnight(0), now),
        "yesterday": (midnight(1), midnight(0)),
        "7d": (midnight(6), now),
        "prev_7d": (midnight(13), midnight(6)),
        "30d": (midnight(29), now),
        "prev_30d": (midnight(59), midnight(29)),
    }


def _window_costs(
    days: pa.Table, spans: Mapping[str, tuple[dt.datetime, dt.datetime]], tz: dt.tzinfo
) -> dict[str, Any]:
    """Each window's cost: the sum of cost by day's rows of its days (a window is whole days
    of `tz`, up to now), the total `otelcap query cost --since START --until END` prints."""
    rows = [r for r in days.select(["period", "cost_usd"]).to_pylist() if r["period"] is not None]
    out: dict[str, Any] = {}
    for key, (start, end) in spans.items():
        first, stop = (t.replace(tzinfo=dt.timezone.utc).astimezone(tz) for t in (start, end))
        # [first's day, stop's day), and stop's day too when the window ends within it (now)
        last = stop.date() + dt.timedelta(days=0 if stop.time() == dt.time() else 1)
        inside = [
            r["cost_usd"] or 0.0 for r in rows if first.date() <= _as_date(r["period"]) < last
        ]
        out[key] = {"since": iso(start), "until": iso(end), "cost_usd": math.fsum(inside)}
    return out


def _as_date(value: Any) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def filterable(available: Mapping[str, Collection[str]]) -> list[str]:
    """The filters some query of this pack takes."""
    return [f for f in FILTERS if any(f in params for params in available.values())]


def choices(
    run: Run, since: dt.datetime, until: dt.datetime, by: Collection[str]
) -> dict[str, list[str]]:
    """Each filter's values in [since, until): the labels `otelcap query cost --by X` prints
    (its `model` column), by cost, the most first; `by` is what cost's --by accepts."""
    period = {"since": iso(since), "until": iso(until), "period": "month"}
    out: dict[str, list[str]] = {}
    for dim in FILTERS:
        if dim not in by:
            continue
        cost: dict[str, float] = {}
        for row in _rows(run("cost", {**period, "by": dim})):
            label = row["model"]
            if row["period"] is None or label in (None, "", "total"):
                continue  # the total row, or rows without the label
            cost[label] = cost.get(label, 0.0) + float(row["cost_usd"] or 0)
        # '(no team.id)' and the like: the label of rows without one. A dimension with no
        # other label is one the data does not have, and gets no filter.
        if any(not label.startswith("(no ") for label in cost):
            out[dim] = sorted(cost, key=lambda k: (-cost[k], k))
    return out


def session_detail(run: Run, period: Mapping[str, str], session: str) -> dict[str, Any]:
    """One session's page: its events and spans in the period (at most DETAIL_* of each)."""
    values = {**period, "session": session}
    return _detail(run("session-events", values), run("session-spans", values))


def _detail(events: pa.Table, spans: pa.Table) -> dict[str, Any]:
    # the page knows whose they are: a session id on every row was a third of the page
    return {
        "events": to_json(events.drop_columns(["session_id"]), DETAIL_EVENTS),
        "spans": to_json(spans.drop_columns(["session_id"]), DETAIL_SPANS),
    }


def _budget(
    run: Run,
    queries: dict[str, dict[str, str]],
    until: dt.datetime,
    tz: dt.tzinfo,
    limits: Mapping[str, float],
) -> dict[str, Any]:
    """The budget card: each period holding `until` (local day, ISO week, month) against its
    limit, with the status and projection `otelcap budget` gives."""
    from otelcap import budgets

    now = until.replace(tzinfo=dt.timezone.utc).astimezone(tz)
    spans = budgets.periods(now)
    values = budgets.query_values(spans, now)
    queries["budget"] = {"name": "budget", **values}
    rows = run("budget", values).to_pylist()
    periods = [budgets.as_json(p) for p in budgets.statuses(rows, spans, limits, now)]
    return {"zone": zone_name(tz), "now": now.isoformat(), "periods": periods}


def zone_name(tz: dt.tzinfo | None) -> str:
    """The IANA name the pack's `tz` parameter takes for `tz`: the local zone's for None
    (as `otelcap query` picks it), a ZoneInfo's key, "UTC" for UTC. A bare offset has no
    name the engines share, so its days are UTC ones: said, not guessed."""
    if tz is None:
        from otelcap.config import resolve_timezone

        return resolve_timezone("")
    key = getattr(tz, "key", None)
    return key if isinstance(key, str) else "UTC"


def gather(
    run: Run,
    since: dt.datetime,
    until: dt.datetime,
    available: Mapping[str, Collection[str]],
    tz: dt.tzinfo | None = None,
    progress: Progress | None = None,
    filters: Mapping[str, str] | None = None,
    details: int = DETAIL_SESSIONS,
    limits: Mapping[str, float] | None = None,
) -> dict[str, Any]:
    """Everything the page shows, for events in [since, until) (naive UTC; `until` is the
    report's "now"), as JSON-ready values. `available` maps the pack's queries to their
    parameters (a view whose query this pack lacks says so); `tz` is the zone whose midnight
    starts "today" (the machine's when None). `filters` (FILTERS: value, '' = all) go to
    every query that takes them. `details` session pages are inlined (the served page asks
    for a session's page when it opens it: 0). `limits` (daily, weekly, monthly in USD, as
    `otelcap budget set` stores them) add the budget: today's, this week's and this month's
    spend at `until`, all of it whatever the filters, as `otelcap budget` prints it."""
    from zoneinfo import ZoneInfo

    say = progress or (lambda _msg: None)
    period = {"since": iso(since), "until": iso(until)}
    # the queries' day buckets (cost by day, tokens by day) in the zone "today" is read in,
    # resolved once: None is the local zone, as `otelcap query` reads it
    zone = {"tz": zone_name(tz)}
    tz = ZoneInfo(zone["tz"]) if tz is None else tz
    chosen_filters = {k: v for k, v in (filters or {}).items() if k in FILTERS and v}
    queries: dict[str, dict[str, str]] = {}

    def ask(key: str, name: str, values: dict[str, str]) -> pa.Table:
        say(f"running {name}")
        params = available.get(name, ())
        values = {**values, **{k: v for k, v in chosen_filters.items() if k in params}}
        if "tz" in params:
            values = {**zone, **values}
        queries[key] = {"name": name, **values}
        return run(name, values)

    out: dict[str, Any] = {
        "meta": {
            "otelcap": __version__,
            "generated": iso(until),
            "since": iso(since),
            "until": iso(until),
            "queries": queries,
            "filters": chosen_filters,
            "tz": zone["tz"],  # the zone of the day buckets and of "today"
            "filterable": filterable(available),
        }
    }

    # the six windows from one run over their 60 days, not one run each: with one each, cost
    # ran 8 times for 357 ms of the page's data at 1M events (7 times, 2.3 s at 10M); now 3
    # times, 195 ms (1.2 s at 10M; bench/ui.py --only served)
    cost_spans = windows(until, tz)
    first = min(start for start, _ in cost_spans.values())
    days = ask("cost_days", "cost", {"since": iso(first), "until": iso(until), "period": "day"})
    out["windows"] = _window_costs(days, cost_spans, tz)

    out["cost"] = to_json(ask("cost", "cost", {**period, "period": "day"}))
    out["tokens"] = to_json(ask("tokens", "tokens", period))
    out["outcomes"] = to_json(ask("outcomes", "outcomes", period))
    # active users: the user ids (as stored: hashed by default) with API requests, from cost
    # by user and month. sessions-by --by user (users with any record) took 1.2 s at 10M
    # events against cost's ~0.3 s, for a count that differs only for someone who made no
    # model call in the whole period.
    out["users"] = to_json(ask("users", "cost", {**period, "by": "user", "period": "month"}))
    sessions = ask("sessions", "sessions", period)
    # the most recent first: what a person looks for, and what MAX_SESSIONS keeps
    sessions = sessions.take(pa.array(range(sessions.num_rows - 1, -1, -1), pa.int64()))
    out["sessions"] = to_json(sessions, MAX_SESSIONS)
    out["tools"] = to_json(ask("tools", "tool-usage", period))
    # the same per day (tool x day rows): the tools view's "over time"
    out["tools_by_day"] = (
        to_json(ask("tools_by_day", "tool-usage-by", {**period, "by": "day"}))
        if "tool-usage-by" in available
        else None
    )
    out["latency"] = to_json(ask("latency", "api-latency", period))
    out["errors"] = to_json(ask("errors", "error-analysis", period))
    sample = ask("sample", "errors-sample", period)
    out["sample"] = to_json(sample)
    out["regressions"] = to_json(ask("regressions", "regressions", period))
    out["budget"] = None
    if limits is not None and "budget" in available:
        out["budget"] = _budget(run, queries, until, tz, limits)
    for name in OPTIONAL:
        if name in available:
            # `at` (blocks): the moment that decides the active block is the report's now
            extra = {"at": iso(until)} if "at" in available[name] else {}
            out[name] = to_json(ask(name, name, {**period, **extra}))
        else:
            out[name] = None

    queries["details"] = {"name": "session-events", **period}
    out["details"] = {}
    if details <= 0:
        return out
    chosen: list[str] = []
    for sid in [*sample.column("session_id").to_pylist(), *sessions.column(0).to_pylist()]:
        if sid not in chosen:
            chosen.append(sid)
        if len(chosen) == details:
            break
    # events of the period, roughly: what session-events over all of it would return
    estimate = sum(
        (r["prompts"] or 0) * 2 + (r["api_requests"] or 0) + (r["tool_calls"] or 0) * 2
        for r in sessions.select(["prompts", "api_requests", "tool_calls"]).to_pylist()
    )
    events: dict[str, pa.Table] = {}
    spans: dict[str, pa.Table] = {}
    if estimate <= BULK_EVENTS:
        say("session pages")
        events = _by_session(run("session-events", period), chosen)
        spans = _by_session(run("session-spans", period), chosen)
    for i, sid in enumerate(chosen, 1):
        if sid in events:
            out["details"][sid] = _detail(events[sid], spans[sid])
        else:
            say(f"session pages {i}/{len(chosen)}")
            out["details"][sid] = session_detail(run, period, sid)
    return out

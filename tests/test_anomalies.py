"""The anomalies query on DuckDB and on ClickHouse's engine (chdb), over synthetic daily series
with known spikes, dips, flat stretches and a weekly rhythm. The events are real OTLP log
records (bench/queries.py's Process) that go through model → sanitizer → store; ClickHouse
gets exactly the batches DuckDB holds. Every score is also recomputed here in Python from
the method as the query header states it (`expected` below), so both engines are checked
against it and not only against each other.
"""

from __future__ import annotations

import datetime as dt
import math
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "bench"))
import queries as bench

pytest.importorskip("chdb")
import stores as stores_mod
from otelcap import querypack
from otelcap.model import to_batches
from otelcap.sanitize import Sanitizer
from otelcap.storage.clickhouse import ClickHouseStore
from otelcap.storage.duckdb import DuckDBStore
from test_queries_golden import assert_same, copy_to_chdb

D0 = dt.date(2026, 2, 2)  # a Monday: day i is a Sunday when i % 7 == 6
MODEL = "claude-sonnet-4-5-20250929"
BASE_MS = [1000 + 100 * k for k in range(25)]  # one day's request durations before scaling


@dataclass(frozen=True)
class Day:
    cost: float  # the day's total, spread over its requests
    errors: int = 0
    requests: int = 25
    ms_scale: float = 1.0
    version: str = "2.1.100"


def normal(i: int) -> Day:
    """An ordinary day: $8-12, 0-2 API errors in 25-27 calls, p95 latency ±15%."""
    return Day(cost=10.0 + (i * 7) % 5 - 2, errors=i % 3, ms_scale=1 + (i % 4) * 0.05)


def spikes(i: int) -> Day:
    if i == 40:  # a cost spike, on the day a new Claude Code version arrives
        return Day(cost=60.0, errors=i % 3, version="2.1.140")
    if i == 45:  # a cheap day: below the baseline, never flagged for cost
        return Day(cost=0.5, errors=i % 3, version="2.1.140")
    if i == 50:  # an API outage: as many errors as requests
        return Day(cost=9.0, errors=25, version="2.1.140")
    if i == 55:  # slow requests: five times the usual durations
        return Day(cost=9.0, errors=1, ms_scale=5.0, version="2.1.140")
    if i == 58:  # a light day: its 3 errors in 8 calls are too few to judge a rate by
        return Day(cost=9.0, errors=3, requests=5, version="2.1.140")
    day = normal(i)
    return Day(day.cost, day.errors, day.requests, day.ms_scale, "2.1.140" if i > 40 else "2.1.100")


def flat(i: int) -> Day:
    return Day(cost=10.0, errors=1)


def short(i: int) -> Day:
    return Day(cost=60.0) if i == 6 else normal(i)


def weekly(i: int) -> Day:
    """Every day of the week, Sundays at $2: a Sunday at $8 is odd for a Sunday, not for a week."""
    if i % 7 == 6:
        return Day(cost=8.0 if i in (13, 55) else 2 + (i % 3) * 0.05, errors=1)
    return normal(i)


SCENARIOS: dict[str, tuple[Callable[[int], Day], int]] = {
    "spikes": (spikes, 60),
    "flat": (flat, 60),
    "short": (short, 7),
    "weekly": (weekly, 63),
}
METRICS = ("api_duration_p95_ms", "api_error_rate", "cost_usd")


def session_id(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"otelcap-anomalies-{name}"))


def day_ns(i: int, hour: int = 9) -> int:
    midnight = dt.datetime.combine(D0 + dt.timedelta(days=i), dt.time(), dt.timezone.utc)
    return int(midnight.timestamp()) * 10**9 + hour * 3600 * 10**9


def scenario_request(name: str) -> bytes:
    """One OTLP logs request holding the scenario's every day: one Claude Code process a day,
    its api_request and api_error events a minute apart."""
    make, days = SCENARIOS[name]
    request = bench.ExportLogsServiceRequest()
    for i in range(days):
        d = make(i)
        p = bench.Process(
            session=session_id(name), version=d.version, terminal="tmux",
            temporality=bench.DELTA, start_ns=day_ns(i),
        )  # fmt: skip
        prompt = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{name}-{i}"))
        t = day_ns(i)
        for ms in BASE_MS[: d.requests]:
            p.event(t, "api_request", prompt, model=MODEL, cost_usd=d.cost / d.requests,
                    duration_ms=str(round(ms * d.ms_scale)), input_tokens=10,
                    output_tokens=200)  # fmt: skip
            t += 60 * 10**9
        for _ in range(d.errors):
            p.event(t, "api_error", prompt, model=MODEL, status_code="529", error="Overloaded",
                    attempt="10", duration_ms="90000")  # fmt: skip
            t += 60 * 10**9
        request.resource_logs.extend(p.logs.resource_logs)
    return request.SerializeToString()


@pytest.fixture(scope="module")
def stores(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[DuckDBStore, ClickHouseStore]]:
    duck = DuckDBStore(tmp_path_factory.mktemp("anomalies") / "series.duckdb")
    duck.create_schema()
    sanitizer = Sanitizer()
    for name in SCENARIOS:
        conv = to_batches("logs", scenario_request(name))
        duck.append({t: [b] for t, b in sanitizer.sanitize(conv.batches).items()})
    click = copy_to_chdb(duck)
    yield duck, click
    stores_mod.close_chdb_store(click)
    duck.close()


def run_both(
    stores: tuple[DuckDBStore, ClickHouseStore], name: str, **params: str
) -> list[dict[str, Any]]:
    """The rows of one scenario, the same on both engines."""
    values = {"session": session_id(name), **params}
    duck, click = stores
    a = querypack.run(duck, "anomalies", values)
    b = querypack.run(click, "anomalies", values)
    assert_same(a, b, f"anomalies {name} {params}")
    return a.to_pylist()


# --- the method, from its definition ------------------------------------------------------------


def quantile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (DuckDB quantile_cont)."""
    s = sorted(values)
    pos = q * (len(s) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


FLOORS = {"cost_usd": 0.25, "api_error_rate": 0.02, "api_duration_p95_ms": 100.0}


def expected(name: str, threshold: float = 3.5, min_history: int = 7) -> dict[tuple, dict]:
    """(day, metric) → value, baseline, median, MAD used, M and flag, computed in Python."""
    make, days = SCENARIOS[name]
    series: dict[str, dict[dt.date, tuple[float, bool]]] = {m: {} for m in METRICS}
    for i in range(days):
        d = make(i)
        day = D0 + dt.timedelta(days=i)
        calls = d.requests + d.errors
        series["cost_usd"][day] = (d.cost, True)
        series["api_error_rate"][day] = (d.errors / calls, calls >= 20)
        durations = [round(ms * d.ms_scale) for ms in BASE_MS[: d.requests]]
        series["api_duration_p95_ms"][day] = (quantile(durations, 0.95), d.requests >= 20)
    out: dict[tuple, dict] = {}
    for metric, values in series.items():
        for day, (value, eligible) in values.items():
            gaps = {(day - e).days: (v, ok) for e, (v, ok) in values.items()}
            before = {gap: v for gap, (v, ok) in gaps.items() if ok and 1 <= gap <= 56}
            trailing = [v for gap, v in before.items() if gap <= 28]
            weekday = [v for gap, v in before.items() if gap % 7 == 0]
            row: dict[str, Any] = {"value": value, "history_days": len(trailing), "flagged": False}
            if eligible and len(trailing) >= min_history:
                by_weekday = len(trailing) >= 21 and len(weekday) >= 3
                base = weekday if by_weekday else trailing
                median = quantile(base, 0.5)
                mad = quantile([abs(v - median) for v in base], 0.5)
                used = max(mad, 0.1 * abs(median), FLOORS[metric])
                m = 0.6745 * (value - median) / used
                kind = "same weekday, previous 8 weeks" if by_weekday else "previous 28 days"
                row |= {
                    "baseline": kind,
                    "baseline_median": median,
                    "mad": mad,
                    "mad_used": used,
                    "m_score": m,
                    "flagged": (m if metric == "cost_usd" else abs(m)) > threshold,
                }
            out[(day, metric)] = row
    return out


def assert_method(rows: list[dict[str, Any]], want: dict[tuple, dict]) -> None:
    assert {(r["day"], r["metric"]) for r in rows} == set(want)
    for r in rows:
        w = want[(r["day"], r["metric"])]
        for key, value in w.items():
            got = r[key]
            if isinstance(value, float):
                assert math.isclose(got, value, rel_tol=1e-9, abs_tol=1e-12), (r, key, value)
            else:
                assert got == value, (r, key, value)
        if "m_score" not in w:
            assert r["m_score"] is None and r["baseline"] == "" and not r["flagged"], r


def flagged(rows: list[dict[str, Any]]) -> set[tuple[int, str]]:
    return {((r["day"] - D0).days, r["metric"]) for r in rows if r["flagged"]}


def row(rows: list[dict[str, Any]], i: int, metric: str) -> dict[str, Any]:
    (found,) = [r for r in rows if r["day"] == D0 + dt.timedelta(days=i) and r["metric"] == metric]
    return found


# --- the tests ---------------------------------------------------------------------------------


def test_known_spikes_are_flagged_and_nothing_else(
    stores: tuple[DuckDBStore, ClickHouseStore],
) -> None:
    rows = run_both(stores, "spikes")
    assert flagged(rows) == {(40, "cost_usd"), (50, "api_error_rate"), (55, "api_duration_p95_ms")}
    assert_method(rows, expected("spikes"))
    for i, metric in ((40, "cost_usd"), (50, "api_error_rate"), (55, "api_duration_p95_ms")):
        assert row(rows, i, metric)["reason"] == "above the baseline"
    # the day the new version arrived is named beside its spike
    assert row(rows, 40, "cost_usd")["new_versions"] == "2.1.140"
    assert row(rows, 0, "cost_usd")["new_versions"] == "2.1.100"
    assert row(rows, 0, "cost_usd")["new_models"] == MODEL
    assert row(rows, 39, "cost_usd")["new_versions"] == ""


def test_a_cost_dip_is_not_flagged(stores: tuple[DuckDBStore, ClickHouseStore]) -> None:
    dip = row(run_both(stores, "spikes"), 45, "cost_usd")
    assert dip["m_score"] < -3.5 and not dip["flagged"]
    assert dip["reason"] == "below the baseline (only rises are flagged for cost)"


def test_an_error_rate_on_too_few_calls_is_not_judged(
    stores: tuple[DuckDBStore, ClickHouseStore],
) -> None:
    rows = run_both(stores, "spikes")
    light = row(rows, 58, "api_error_rate")
    assert light["value"] == pytest.approx(3 / 8)  # far above the baseline, but 8 calls
    assert not light["flagged"] and light["m_score"] is None
    assert light["reason"] == "too few model calls: 8 of 20"
    # nor does it weigh in the next day's baseline (expected() leaves it out too)
    assert row(rows, 59, "api_error_rate")["history_days"] == 27


def test_a_flat_series_flags_nothing_and_its_mad_is_floored(
    stores: tuple[DuckDBStore, ClickHouseStore],
) -> None:
    rows = run_both(stores, "flat")
    assert flagged(rows) == set()
    assert_method(rows, expected("flat"))
    judged = [r for r in rows if r["m_score"] is not None]
    assert len(judged) == 3 * (60 - 7)
    for r in judged:
        assert r["mad"] == pytest.approx(0, abs=1e-12)  # MAD alone would make M infinite
        assert abs(r["m_score"]) < 1e-9
    assert row(rows, 30, "cost_usd")["mad_used"] == pytest.approx(1.0)  # a tenth of $10
    assert row(rows, 30, "api_error_rate")["mad_used"] == pytest.approx(0.02)


def test_too_short_a_history_flags_nothing(stores: tuple[DuckDBStore, ClickHouseStore]) -> None:
    rows = run_both(stores, "short")
    assert flagged(rows) == set()
    assert row(rows, 6, "cost_usd")["reason"] == "too little history: 6 of 7 days"
    assert_method(rows, expected("short"))
    # min_history is bound: with 6 days asked for, the same $60 day is judged and flagged
    rows = run_both(stores, "short", min_history="6")
    assert flagged(rows) == {(6, "cost_usd")}
    assert_method(rows, expected("short", min_history=6))


def test_the_weekday_baseline_applies_once_21_days_exist(
    stores: tuple[DuckDBStore, ClickHouseStore],
) -> None:
    rows = run_both(stores, "weekly")
    assert_method(rows, expected("weekly"))
    early, late = row(rows, 13, "cost_usd"), row(rows, 55, "cost_usd")
    # day 13: 13 days of history, the plain baseline, where $8 is a cheap day
    assert early["baseline"] == "previous 28 days" and not early["flagged"]
    # day 55: other Sundays are the baseline, and $8 is four times a Sunday
    assert late["baseline"] == "same weekday, previous 8 weeks"
    assert late["flagged"] and late["baseline_median"] == pytest.approx(2.05)
    assert flagged(rows) == {(55, "cost_usd")}
    assert {r["baseline"] for r in rows if (r["day"] - D0).days >= 21} == {
        "same weekday, previous 8 weeks"
    }


def test_threshold_and_since_are_bound(stores: tuple[DuckDBStore, ClickHouseStore]) -> None:
    strict = run_both(stores, "spikes", threshold="1000")
    assert flagged(strict) == set()
    assert_method(strict, expected("spikes", threshold=1000))
    # rows start on `since`'s day, and that day is still judged against the days before it
    later = run_both(stores, "spikes", since=f"{D0 + dt.timedelta(days=40)}T15:00:00")
    assert min(r["day"] for r in later) == D0 + dt.timedelta(days=40)
    everything = run_both(stores, "spikes")
    assert later == [r for r in everything if r["day"] >= D0 + dt.timedelta(days=40)]


def test_days_are_those_of_the_time_zone_given(stores: tuple[DuckDBStore, ClickHouseStore]) -> None:
    """Each scenario day's calls run from 09:00 to before 10:00 UTC: 23:00 the day before in
    Honolulu (-10:00). There every row is the UTC row of the next day, judged the same; and
    `since` picks the local day that holds it."""
    utc = run_both(stores, "spikes")
    honolulu = run_both(stores, "spikes", tz="Pacific/Honolulu")
    assert honolulu == [{**r, "day": r["day"] - dt.timedelta(days=1)} for r in utc]
    since = f"{D0 + dt.timedelta(days=40)}T15:00:00"  # 05:00 on day 40 in Honolulu
    later = run_both(stores, "spikes", since=since, tz="Pacific/Honolulu")
    assert later == [r for r in honolulu if r["day"] >= D0 + dt.timedelta(days=40)]
    spike = row(honolulu, 39, "cost_usd")  # UTC day 40's spike
    assert spike["value"] == pytest.approx(60.0) and spike["flagged"]

"""Every query of the pack, on DuckDB and on ClickHouse's engine (chdb) through
ClickHouseStore (the production store code), over the same rows, gives the same answer; and
over the recorded Claude Code sessions the answers are Claude Code's own (total_cost_usd and
modelUsage in result.json).

The rows get in through the real ingest path: the recordings are replayed over their own
protocols into a running server; the synthetic year is OTLP bytes through model → sanitizer →
store (bench/queries.py makes it). ClickHouse gets exactly the Arrow batches DuckDB holds.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import recordings
import stores
from otelcap import querypack
from otelcap.model import schema
from otelcap.storage.duckdb import DuckDBStore

sys.path.insert(0, str(Path(__file__).parent.parent / "bench"))
import queries as bench

pytest.importorskip("chdb")
pytest.importorskip("clickhouse_connect")
from otelcap.storage.clickhouse import ClickHouseStore

QUERIES = [q.name for q in querypack.load_all()]
# A second parameter set per query, so the bound parameters are exercised on both engines.
VARIANTS: dict[str, dict[str, str]] = {
    "cost": {"period": "month"},
    "errors-sample": {"per_kind": "2", "seed": "labelling-round-2"},
    # uuids: a one-digit prefix matches some of the recorded ids and not others
    "session-lookup": {"prefix": "e"},
    "turn-lookup": {"prefix": "1"},
}
# bench/queries.py makes no spans (Claude Code sends them only with its traces beta), so the
# recordings with traces on (tools, gzip) carry this query's check on both engines.
NO_SYNTHETIC_ROWS = {"session-spans"}


def copy_to_chdb(duck: DuckDBStore) -> ClickHouseStore:
    click = stores.chdb_store(ttl_days=0)  # fixed-date rows must not age out under a TTL
    for table in schema.TABLES:
        batches = duck.query(f'SELECT * FROM "{table}"').to_batches()
        click.append({table: batches})
    return click


def assert_same(a: pa.Table, b: pa.Table, what: str) -> None:
    """Same columns, same rows in the same order; floats within 1e-9 (relative) or 1e-9."""
    assert a.column_names == b.column_names, what
    rows_a, rows_b = a.to_pylist(), b.to_pylist()
    assert len(rows_a) == len(rows_b), f"{what}: {len(rows_a)} rows vs {len(rows_b)}"
    for i, (x, y) in enumerate(zip(rows_a, rows_b, strict=True)):
        for col in a.column_names:
            u, v = x[col], y[col]
            if isinstance(u, float) or isinstance(v, float):
                assert (u is None) == (v is None), f"{what} row {i} {col}: {u!r} vs {v!r}"
                if u is not None:
                    assert math.isclose(u, v, rel_tol=1e-9, abs_tol=1e-9), (
                        f"{what} row {i} {col}: {u!r} vs {v!r}"
                    )
            else:
                assert u == v, f"{what} row {i} {col}: {u!r} vs {v!r}"


# --- the recorded sessions ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def recorded(recorded_db: Path) -> Iterator[tuple[DuckDBStore, ClickHouseStore]]:
    duck = DuckDBStore(recorded_db, read_only=True)
    click = copy_to_chdb(duck)
    yield duck, click
    stores.close_chdb_store(click)
    duck.close()


@pytest.mark.parametrize("name", QUERIES)
def test_recordings_same_answer_on_both_engines(
    name: str, recorded: tuple[DuckDBStore, ClickHouseStore]
) -> None:
    duck, click = recorded
    for values in ({}, VARIANTS.get(name, {"since": "2026-11-27T22:10:00Z"})):
        a = querypack.run(duck, name, values)
        b = querypack.run(click, name, values)
        assert_same(a, b, f"{name} {values}")
    assert querypack.run(duck, name).num_rows > 0


def _last_results() -> Iterator[tuple[str, dict[str, Any]]]:
    """(scenario, result) for the last result of each session_id (README: a --continue
    process reports running totals that include the earlier process)."""
    for scenario in recordings.scenarios():
        last: dict[str, dict[str, Any]] = {}
        for result in recordings.results(scenario):
            last[result["session_id"]] = result
        for result in last.values():
            yield scenario, result


RESULTS = list(_last_results())


@pytest.mark.parametrize(
    ("scenario", "result"), RESULTS, ids=[f"{s}-{r['session_id'][:8]}" for s, r in RESULTS]
)
def test_cost_and_tokens_are_claude_codes_own(
    scenario: str, result: dict[str, Any], recorded: tuple[DuckDBStore, ClickHouseStore]
) -> None:
    session = result["session_id"]
    usage = result["modelUsage"]
    want_tokens = {
        "input_tokens": sum(m["inputTokens"] for m in usage.values()),
        "output_tokens": sum(m["outputTokens"] for m in usage.values()),
        "cache_read_tokens": sum(m["cacheReadInputTokens"] for m in usage.values()),
        "cache_creation_tokens": sum(m["cacheCreationInputTokens"] for m in usage.values()),
    }
    for store in recorded:
        sessions = querypack.run(store, "sessions", {"session": session}).to_pylist()
        if result["total_cost_usd"] == 0 and not sessions:
            continue  # nothing was spent and nothing was recorded
        (row,) = sessions
        assert abs(row["cost_usd"] - result["total_cost_usd"]) < 1e-6, store.name
        assert {k: row[k] for k in want_tokens} == want_tokens, store.name

        rows = querypack.run(store, "cost", {"session": session}).to_pylist()
        total = rows[-1]
        assert total["model"] == "total"
        assert abs(total["cost_usd"] - result["total_cost_usd"]) < 1e-6, store.name
        assert {k: total[k] for k in want_tokens} == want_tokens, store.name
        per_model = {r["model"]: r for r in rows[:-1]}
        for model, m in usage.items():
            assert abs(per_model[model]["cost_usd"] - m["costUSD"]) < 1e-6, (store.name, model)


@pytest.mark.parametrize("scenario", recordings.scenarios())
def test_metric_reconciliation_agrees_with_events(
    scenario: str, recorded: tuple[DuckDBStore, ClickHouseStore]
) -> None:
    """claude_code.cost.usage, delta or cumulative (resume: a counter reset), adds up to the
    api_request events of every session, and to Claude Code's own total."""
    for _scenario, result in (r for r in RESULTS if r[0] == scenario):
        for store in recorded:
            rows = querypack.run(store, "cost", {"session": result["session_id"]}).to_pylist()
            for row in rows:
                assert abs(row["difference_usd"]) < 1e-9, (store.name, row)
            assert abs(rows[-1]["metric_cost_usd"] - result["total_cost_usd"]) < 1e-6


def test_resume_is_one_session_across_two_processes(
    recorded: tuple[DuckDBStore, ClickHouseStore],
) -> None:
    (result,) = [r for s, r in RESULTS if s == "resume-grpc"]
    duck, _ = recorded
    points = duck.query(
        "SELECT StartTimeUnix, max(Value) AS last_value FROM otel_metrics_sum "
        "WHERE MetricName = 'claude_code.cost.usage' AND SessionId = $s "
        "GROUP BY StartTimeUnix ORDER BY StartTimeUnix",
        {"s": result["session_id"]},
    ).to_pylist()
    # Two processes, each a cumulative series from its own start: summing the last values of
    # both (not the maximum, not every point) is Claude Code's total.
    assert len(points) == 2
    assert points[1]["last_value"] < points[0]["last_value"]  # the reset: it restarted lower
    assert abs(sum(p["last_value"] for p in points) - result["total_cost_usd"]) < 1e-9


# --- a synthetic year ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def synthetic(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[DuckDBStore, ClickHouseStore]]:
    path = tmp_path_factory.mktemp("synthetic") / "synthetic.duckdb"
    duck = DuckDBStore(path)
    duck.create_schema()
    bench.load(duck, events=20_000, seed=11, workers=1)
    click = copy_to_chdb(duck)
    yield duck, click
    stores.close_chdb_store(click)
    duck.close()


@pytest.mark.parametrize("name", QUERIES)
def test_synthetic_year_same_answer_on_both_engines(
    name: str, synthetic: tuple[DuckDBStore, ClickHouseStore]
) -> None:
    duck, click = synthetic
    window = {"since": "2026-03-01", "until": "2026-06-15T12:00:00"}
    for values in ({}, VARIANTS.get(name, window), window):
        a = querypack.run(duck, name, values)
        b = querypack.run(click, name, values)
        assert a.num_rows > 0 or name in NO_SYNTHETIC_ROWS, (name, values)
        assert_same(a, b, f"{name} {values}")


def test_synthetic_metric_reconciliation(synthetic: tuple[DuckDBStore, ClickHouseStore]) -> None:
    """Half the sessions export delta and half cumulative metrics, 6% are resumed: every
    month's metric cost equals its event cost."""
    for store in synthetic:
        rows = querypack.run(store, "cost", {"period": "month"}).to_pylist()
        assert len(rows) > 12
        for row in rows:
            assert abs(row["difference_usd"]) < 1e-6 * max(1.0, row["cost_usd"]), row


def test_error_analysis_totals_its_kinds_and_is_one_row_over_nothing(
    synthetic: tuple[DuckDBStore, ClickHouseStore],
) -> None:
    """The `all steps` row is the kinds' grouping set () (error-analysis.sql): it sums their
    signals, first failures, recoveries and cost, and is there when nothing failed."""
    for store in synthetic:
        *kinds, total = querypack.run(store, "error-analysis").to_pylist()
        assert len(kinds) > 5 and (total["step"], total["kind"]) == ("all steps", "any failure")
        for col in ("failures", "first_failure_turns", "recovered_turns"):
            assert total[col] == sum(k[col] for k in kinds) > 0, (store.dialect, col)
        assert total["turns_affected"] == total["first_failure_turns"]
        cost = sum(k["failed_turn_cost_usd"] for k in kinds)
        assert math.isclose(total["failed_turn_cost_usd"], cost, rel_tol=1e-9)
        assert math.isclose(kinds[-1]["cumulative_share"], 1.0) and total["pareto_share"] == 1.0
        (empty,) = querypack.run(store, "error-analysis", {"since": "2199-01-01"}).to_pylist()
        assert empty["step"] == "all steps" and empty["failures"] == 0, store.dialect
        assert empty["pareto_share"] is None and empty["denominator"] == 0


def test_percentiles_are_exact(synthetic: tuple[DuckDBStore, ClickHouseStore]) -> None:
    """ClickHouse's quantile() samples; quantileExactInclusive matches quantile_cont."""
    duck, click = synthetic
    durations = sorted(
        duck.query(
            "SELECT DurationMs FROM otel_logs WHERE EventName = 'api_request' AND Model = $m",
            {"m": "claude-sonnet-4-5-20250929"},
        )
        .column(0)
        .to_pylist()
    )

    def exact(q: float) -> float:  # linear interpolation between closest ranks
        pos = q * (len(durations) - 1)
        lo = math.floor(pos)
        hi = min(lo + 1, len(durations) - 1)
        return durations[lo] + (durations[hi] - durations[lo]) * (pos - lo)

    for store in (duck, click):
        rows = {r["model"]: r for r in querypack.run(store, "api-latency").to_pylist()}
        row = rows["claude-sonnet-4-5-20250929"]
        assert row["requests"] == len(durations)
        for q, col in ((0.5, "duration_p50_ms"), (0.95, "duration_p95_ms")):
            assert math.isclose(row[col], exact(q), rel_tol=1e-12), (store.name, col)


def test_since_until_and_session_are_bound(synthetic: tuple[DuckDBStore, ClickHouseStore]) -> None:
    duck, click = synthetic
    sessions = querypack.run(duck, "sessions").to_pylist()
    one = sessions[len(sessions) // 2]
    for store in (duck, click):
        only = querypack.run(store, "sessions", {"session": one["session_id"]}).to_pylist()
        assert [r["session_id"] for r in only] == [one["session_id"]]
        assert only[0]["cost_usd"] == pytest.approx(one["cost_usd"])
        since = one["started"] + dt.timedelta(microseconds=1)
        later = querypack.run(store, "sessions", {"since": since.isoformat()}).to_pylist()
        assert later and all(r["started"] >= since for r in later)
        # a value that looks like SQL is a value, not SQL
        none = querypack.run(store, "sessions", {"session": "x' OR '1'='1"}).to_pylist()
        assert none == []


# --- 5-hour blocks ----------------------------------------------------------------------------


def _requests_at(store: DuckDBStore, spend: list[tuple[str, float]]) -> None:
    """api_request events at the given UTC times with the given cost, through the real model
    and sanitizer."""
    from otelcap.model import to_batches
    from otelcap.sanitize import Sanitizer

    proc = bench.Process("blocks-session", "2.1.150", "vscode", 1, 0)
    for when, cost in spend:
        t = int(dt.datetime.fromisoformat(when).replace(tzinfo=dt.timezone.utc).timestamp() * 1e9)
        proc.event(t, "api_request", "p1", model="claude-opus-4-5", cost_usd=cost,
                   input_tokens=100, output_tokens=10, cache_read_tokens=0,
                   cache_creation_tokens=0, duration_ms=900)  # fmt: skip
    conv = to_batches("logs", [proc.logs.SerializeToString()])
    store.append({t: [b] for t, b in Sanitizer().sanitize(conv.batches).items()})


def test_blocks_start_with_the_first_request_after_the_last_block_on_both_engines(
    tmp_path: Path,
) -> None:
    duck = DuckDBStore(tmp_path / "blocks.duckdb")
    duck.create_schema()
    _requests_at(
        duck,
        [
            ("2026-11-30T09:10:00", 1.0),   # block 1: 09:00-14:00 (the hour of the first)
            ("2026-11-30T09:50:00", 0.5),
            ("2026-11-30T11:20:00", 0.125),  # a third hour of block 1
            ("2026-11-30T13:59:59", 0.25),  # still block 1
            ("2026-11-30T14:30:00", 2.0),   # block 2 starts at 14:00, not at 14:30 or 19:00
            ("2026-11-30T23:05:00", 1.0),   # after a gap: block 3 at 23:00, not 19:00
            ("2026-12-01T03:59:00", 0.5),   # block 3 runs to 04:00
            ("2026-12-01T04:00:00", 0.6),   # block 4
        ],
    )  # fmt: skip
    click = copy_to_chdb(duck)
    try:
        at = {"at": "2026-12-01T04:30:00Z"}
        rows = querypack.run(duck, "blocks", at)
        assert_same(rows, querypack.run(click, "blocks", at), "blocks")
        got = [
            (r["block_start"].strftime("%d %H:%M"), r["requests"], round(r["cost_usd"], 6),
             r["state"]) for r in rows.to_pylist()
        ]  # fmt: skip
        assert got == [
            ("30 09:00", 4, 1.875, ""),
            ("30 14:00", 1, 2.0, ""),
            ("30 23:00", 2, 1.5, ""),
            ("01 04:00", 1, 0.6, "active"),
        ]
        active = rows.to_pylist()[-1]
        # 0.60 spent in the half hour since its first request: 1.20/h, 4.5 h left → 6.00
        assert math.isclose(active["burn_usd_per_hour"], 1.2)
        assert math.isclose(active["projected_cost_usd"], 6.0)
        assert active["total_tokens"] == 110
        assert rows.to_pylist()[0]["burn_usd_per_hour"] is None  # only the active block
        # Later, no block holds `at`: none is active.
        later = querypack.run(duck, "blocks", {"at": "2026-12-01T09:00:00Z"}).to_pylist()
        assert [r["state"] for r in later] == ["", "", "", ""]
    finally:
        click.close()
        duck.close()


def test_a_chain_of_over_a_thousand_blocks_on_both_engines(tmp_path: Path) -> None:
    """1,200 blocks, each started by the first request at least 5 hours after the previous
    block's start: ClickHouse's recursive CTEs stop at 1,000 steps, so its form must not
    need a step per block. Checked against the greedy rule computed here."""
    rng = random.Random(5)
    t0 = dt.datetime(2025, 1, 1, 0, 20)
    spend, at = [], t0
    for _ in range(1200):
        spend.append(at)
        spend.extend(at + dt.timedelta(minutes=rng.randrange(1, 280)) for _ in range(2))
        at += dt.timedelta(hours=rng.choice([4, 5, 6, 9]), minutes=rng.randrange(0, 60))
    starts: list[dt.datetime] = []
    requests: list[int] = []
    for when in sorted(spend):
        hour = when.replace(minute=0, second=0, microsecond=0)
        if not starts or hour >= starts[-1] + dt.timedelta(hours=5):
            starts.append(hour)
            requests.append(0)
        requests[-1] += 1
    assert len(starts) > 1000
    duck = DuckDBStore(tmp_path / "chain.duckdb")
    duck.create_schema()
    _requests_at(duck, [(w.isoformat(), 0.5) for w in spend])
    click = stores.chdb_store(ttl_days=0)
    # ~250 days of rows: ClickHouse takes at most 100 day partitions in one INSERT
    lo = t0
    while lo <= max(spend):
        hi = lo + dt.timedelta(days=60)
        part = duck.query(
            "SELECT * FROM otel_logs WHERE Timestamp >= $lo AND Timestamp < $hi",
            {"lo": lo, "hi": hi},
        )
        click.append({"otel_logs": part.to_batches()})
        lo = hi
    try:
        at_end = {"at": (max(spend) + dt.timedelta(hours=1)).isoformat() + "Z"}
        rows = querypack.run(duck, "blocks", at_end)
        assert_same(rows, querypack.run(click, "blocks", at_end), "blocks")
        assert rows.column("block_start").to_pylist() == starts
        assert rows.column("requests").to_pylist() == requests
    finally:
        click.close()
        duck.close()


def test_cost_buckets_days_in_the_given_time_zone_on_both_engines(tmp_path: Path) -> None:
    duck = DuckDBStore(tmp_path / "tz.duckdb")
    duck.create_schema()
    _requests_at(
        duck,
        [
            ("2026-11-30T20:00:00", 1.0),  # Kolkata (+05:30): 1 Dec 01:30; UTC: 30 Nov
            ("2026-11-30T18:00:00", 2.0),  # Kolkata: 30 Nov 23:30
            ("2026-12-01T07:30:00", 4.0),  # Los Angeles (-08:00): 30 Nov 23:30; UTC: 1 Dec
        ],
    )
    click = copy_to_chdb(duck)
    try:

        def days(**values: str) -> list[tuple[str, float]]:
            a = querypack.run(duck, "cost", values)
            assert_same(a, querypack.run(click, "cost", values), f"cost {values}")
            return [(r["period"].isoformat(), r["cost_usd"]) for r in a.to_pylist() if r["period"]]

        assert days() == [("2026-11-30", 3.0), ("2026-12-01", 4.0)]  # the default: UTC
        assert days(tz="Asia/Kolkata") == [("2026-11-30", 2.0), ("2026-12-01", 5.0)]
        assert days(tz="America/Los_Angeles") == [("2026-11-30", 7.0)]
        # 30 Nov 2026 is a Monday: in Kolkata every request falls in that ISO week
        assert days(tz="Asia/Kolkata", period="week") == [("2026-11-30", 7.0)]
        assert days(tz="America/Los_Angeles", period="month") == [("2026-11-01", 7.0)]
    finally:
        click.close()
        duck.close()


# cost and anomalies read the zone's wall clock once per UTC quarter hour; a quarter with an
# offset change inside it, or one a local day starts inside, is bucketed request by request.
# Each pair here shares a quarter and falls on two days.
_SPLIT_QUARTERS = [
    # St. John's left daylight time at 00:01 local until 2011: 2010-11-07 02:31 UTC
    # (00:01 NDT, -02:30) became 23:01 NST (-03:30) on 6 Nov
    ("America/St_Johns", "2010-11-07T02:30:30", 1.0, "2010-11-07"),
    ("America/St_Johns", "2010-11-07T02:32:00", 2.0, "2010-11-06"),
    # Monrovia ran at -00:44:30 until 1972: its midnight is 00:44:30 UTC
    ("Africa/Monrovia", "1971-06-01T00:40:00", 4.0, "1971-05-31"),
    ("Africa/Monrovia", "1971-06-01T00:44:50", 8.0, "1971-06-01"),
    # and a transition on a quarter's edge (Berlin, 2026-03-29 01:00 UTC): whole quarters
    ("Europe/Berlin", "2026-03-29T00:59:59", 16.0, "2026-03-29"),
    ("Europe/Berlin", "2026-03-28T22:59:00", 32.0, "2026-03-28"),
    ("Europe/Berlin", "2026-03-28T23:00:00", 64.0, "2026-03-29"),
]


# Each engine's own day of a request, one by one: what cost's quarters must give back.
_PER_REQUEST_DAYS = {
    "duckdb": "SELECT CAST(date_trunc('day', timezone($tz, timezone('UTC', Timestamp))) AS DATE)"
    " AS d, sum(CostUsd) AS c FROM otel_logs GROUP BY d",
    "clickhouse": "SELECT CAST(dateTrunc('DAY', toTimeZone(Timestamp, {tz:String})) AS Date)"
    " AS d, sum(CostUsd) AS c FROM otel_logs GROUP BY d",
}


def _days_of(store: Any, query: str, values: dict[str, str]) -> dict[str, float]:
    """cost's per-day cost_usd, or anomalies' (its cost_usd metric per day)."""
    rows = querypack.run(store, query, values).to_pylist()
    if query == "cost":
        return {r["period"].isoformat(): r["cost_usd"] for r in rows if r["period"]}
    return {r["day"].isoformat(): r["value"] for r in rows if r["metric"] == "cost_usd"}


@pytest.mark.parametrize("query", ["cost", "anomalies"])
def test_a_quarter_hour_a_zone_changes_in_is_split_on_both_engines(
    tmp_path: Path, query: str
) -> None:
    from zoneinfo import ZoneInfo

    # the days listed are those of Python's copy of the zone database, DuckDB's too
    for z, when, _cost, day in _SPLIT_QUARTERS:
        utc = dt.datetime.fromisoformat(when).replace(tzinfo=dt.timezone.utc)
        assert utc.astimezone(ZoneInfo(z)).date().isoformat() == day, (z, when)
    duck = DuckDBStore(tmp_path / "tz-split.duckdb")
    duck.create_schema()
    _requests_at(duck, [(when, cost) for _, when, cost, _ in _SPLIT_QUARTERS])
    click = copy_to_chdb(duck)
    try:
        for zone in sorted({z for z, *_ in _SPLIT_QUARTERS}):
            values = {"tz": zone}
            answers = {}
            for store in (duck, click):
                got = _days_of(store, query, values)
                one_by_one = store.query(_PER_REQUEST_DAYS[store.dialect], {"tz": zone})
                want = {r["d"].isoformat(): r["c"] for r in one_by_one.to_pylist()}
                assert got == want, (store.dialect, zone)  # sums of powers of two: exact
                answers[store.dialect] = got
            # ClickHouse's copy of the zone database puts St. John's 2010 change at 00:00
            # local, so there the engines differ
            if zone != "America/St_Johns":
                assert answers["duckdb"] == answers["clickhouse"], zone
        # the split quarters are split: each zone's own pair lands on two days
        days = _days_of(duck, query, {"tz": "America/St_Johns"})
        assert days["2010-11-06"] == 2.0 and days["2010-11-07"] == 1.0
        days = _days_of(duck, query, {"tz": "Africa/Monrovia"})
        assert days["1971-05-31"] == 4.0 and days["1971-06-01"] == 8.0
    finally:
        click.close()
        duck.close()


BY = querypack.load("cost").param("by").choices
assert querypack.load("tokens").param("by").choices == BY


@pytest.mark.parametrize("by", BY)
def test_cost_by_any_group_is_the_same_money_on_both_engines(
    by: str, recorded: tuple[DuckDBStore, Any]
) -> None:
    duck, click = recorded
    rows = querypack.run(duck, "cost", {"by": by})
    assert_same(rows, querypack.run(click, "cost", {"by": by}), f"cost by {by}")
    every = querypack.run(duck, "cost").to_pylist()[-1]
    total = rows.to_pylist()[-1]
    assert total["model"] == "total"
    assert math.isclose(total["cost_usd"], every["cost_usd"], rel_tol=1e-12)  # regrouped only
    groups = {r["model"] for r in rows.to_pylist()[:-1]}
    if by == "team":  # the tools and gzip runs set OTEL_RESOURCE_ATTRIBUTES=…team.id=platform
        assert groups == {"platform", "(no team.id)"}
    if by == "project":  # no recording turned on OTEL_METRICS_INCLUDE_REPOSITORY
        assert groups == {"(no repository)"}
    if by == "user":  # identity is hashed under the privacy defaults, and still groups
        assert "(no user)" not in groups and all("@" not in g for g in groups)
    tokens = querypack.run(duck, "tokens", {"by": by})
    assert_same(tokens, querypack.run(click, "tokens", {"by": by}), f"tokens by {by}")
    assert {r["model"] for r in tokens.to_pylist()[:-1]} == groups
    assert tokens.to_pylist()[-1]["input_tokens"] == total["input_tokens"]


def test_a_repository_names_the_sessions_project_and_groups_cost_on_both_engines(
    tmp_path: Path,
) -> None:
    from otelcap.model import to_batches
    from otelcap.sanitize import Sanitizer

    duck = DuckDBStore(tmp_path / "project.duckdb")
    duck.create_schema()
    t0 = int(dt.datetime(2026, 11, 30, 9, tzinfo=dt.timezone.utc).timestamp() * 1e9)
    for n, (session, repo, cost) in enumerate(
        [("s-with-repo", "acme/api", 1.5), ("s-without", None, 0.25)]
    ):
        proc = bench.Process(session, "2.1.150", "vscode", 1, 0)
        extra = {"vcs.repository.name": repo} if repo else {}
        t = t0 + n * 60_000_000_000
        proc.event(t, "user_prompt", f"p{n}", prompt_length=12, **extra)
        proc.event(t + 1, "api_request", f"p{n}", model="claude-opus-4-5", cost_usd=cost,
                   input_tokens=10, output_tokens=1, **extra)  # fmt: skip
        conv = to_batches("logs", [proc.logs.SerializeToString()])
        duck.append({k: [b] for k, b in Sanitizer().sanitize(conv.batches).items()})
    click = copy_to_chdb(duck)
    try:
        for store in (duck, click):
            sessions = querypack.run(store, "sessions").to_pylist()
            assert {r["session_id"]: r["project"] for r in sessions} == {
                "s-with-repo": "acme/api",
                "s-without": "(no repository)",
            }
            assert {r["app_version"] for r in sessions} == {"2.1.150"}
            cost = querypack.run(store, "cost", {"by": "project"}).to_pylist()
            assert {r["model"]: r["cost_usd"] for r in cost} == {
                "acme/api": 1.5,
                "(no repository)": 0.25,
                "total": 1.75,
            }
    finally:
        click.close()
        duck.close()

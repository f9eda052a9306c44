"""`otelcap report`: the data it gathers (the pack's answers as JSON), the page it writes (a
self-contained file whose data cannot break out of its script block), the vendored chart
library, and the command's exit codes, through the running server and on the file.
The page in a real browser: tests/test_report_browser.py."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import re
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

import recordings
from otelcap import querypack, report
from otelcap.cli import app
from otelcap.report import data, page
from otelcap.storage.duckdb import DuckDBStore

ASSETS = Path(report.__file__).parent / "assets"
# the recordings ran on 2026-11-27 between 22:08 and 22:13 UTC
NOW = dt.datetime(2026, 11, 28, 12, 0)


def _env(tmp_path: Path) -> dict[str, str]:
    return {"OTELCAP_DATA_DIR": str(tmp_path / "data"), "OTELCAP_CONFIG": str(tmp_path / "none")}


def test_arrow_to_json_keeps_instants_as_utc_and_drops_nan() -> None:
    table = pa.table(
        {
            "at": pa.array(
                [dt.datetime(2026, 11, 27, 22, 8, 48, 123456), None], pa.timestamp("ns")
            ),
            "zoned": pa.array(
                [dt.datetime(2026, 11, 27, 23, 8, tzinfo=dt.timezone(dt.timedelta(hours=1)))] * 2,
                pa.timestamp("us", tz="Europe/Berlin"),
            ),
            "day": pa.array([dt.date(2026, 11, 27)] * 2),
            "x": pa.array([float("nan"), float("inf")]),
            "money": pa.array([Decimal("1.25"), None], pa.decimal128(10, 2)),
            "attrs": pa.array([[("k", "v")], []], pa.map_(pa.string(), pa.string())),
        }
    )
    out = data.to_json(table)
    assert out["columns"] == ["at", "zoned", "day", "x", "money", "attrs"]
    assert out["rows"][0] == [
        "2026-11-27T22:08:48.123Z",
        "2026-11-27T22:08:00.000Z",  # 23:08 at +01:00 is 22:08 UTC
        "2026-11-27",
        None,
        1.25,
        {"k": "v"},
    ]
    assert out["rows"][1][:2] == [None, "2026-11-27T22:08:00.000Z"]
    assert out["rows"][1][3] is None  # inf is no JSON number either
    assert json.loads(json.dumps(out, allow_nan=False)) == out
    limited = data.to_json(table, limit=1)
    assert len(limited["rows"]) == 1 and limited["total"] == 2


def test_data_cannot_close_its_script_block() -> None:
    hostile = "</script><script>alert(1)</script><!-- \u2028 & >"
    text = page.json_for_script({"error": hostile})
    assert "<" not in text and ">" not in text and "\u2028" not in text
    assert json.loads(text) == {"error": hostile}


def test_the_vendored_chart_library_is_uplot_as_its_readme_says() -> None:
    readme = (ASSETS / "README.md").read_text()
    assert f"uPlot {page.UPLOT_VERSION}" in readme
    sums = dict(
        (name, digest) for digest, name in re.findall(r"^([0-9a-f]{64})  (\S+)$", readme, re.M)
    )
    assert set(sums) == {"uPlot.iife.min.js", "uPlot.min.css", "uPlot.LICENSE"}
    for name, digest in sums.items():
        assert hashlib.sha256((ASSETS / name).read_bytes()).hexdigest() == digest, name
    assert "MIT License" in (ASSETS / "uPlot.LICENSE").read_text()


def test_the_page_loads_nothing_and_allows_only_its_own_scripts(recorded_db: Path) -> None:
    with contextlib.closing(DuckDBStore(recorded_db, read_only=True)) as store:
        answers = data.gather(
            lambda name, values: querypack.run(store, name, values),
            dt.datetime(2026, 11, 1),
            NOW,
            report.available(),
            dt.timezone.utc,
        )
    html = page.render(answers)
    # no URL to fetch anything from: no src=, href= only to #views, no http(s) in markup
    assert not re.search(r"<(script|link|img|iframe)[^>]*\s(src|href)=", html)
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1)
    assert policy.startswith("default-src 'none'; script-src 'sha256-")
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    inline = re.findall(r"<script>(.*?)</script>", html, re.S)
    assert len(inline) == 2  # uPlot and the page's script, each allowed by its hash
    for script in inline:
        assert page._sha256(script) in policy
    blob = re.search(
        r'<script type="application/json" id="otelcap-data">(.*?)</script>', html, re.S
    )
    assert json.loads(blob.group(1)) == json.loads(json.dumps(answers))


def test_session_pages_are_the_same_from_one_run_or_one_per_session(
    recorded_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Small periods cut the pages out of one session-events run; big ones run it per
    session. Both give each session exactly its own rows, in the query's order."""
    calls: list[tuple[str, str]] = []
    with contextlib.closing(DuckDBStore(recorded_db, read_only=True)) as store:

        def run(name: str, values: dict[str, str]) -> pa.Table:
            calls.append((name, values.get("session", "")))
            return querypack.run(store, name, values)

        def pages() -> dict[str, object]:
            calls.clear()
            since, avail = dt.datetime(2026, 11, 1), report.available()
            return data.gather(run, since, NOW, avail, dt.timezone.utc)["details"]

        bulk = pages()
        assert calls.count(("session-events", "")) == 1
        monkeypatch.setattr(data, "BULK_EVENTS", 0)
        each = pages()
        assert ("session-events", "") not in calls
        assert sum(1 for name, _ in calls if name == "session-events") == len(each)
        assert bulk == each
        assert len(bulk) == min(data.DETAIL_SESSIONS, 33)  # the recordings hold 33 sessions
        for sid, detail in bulk.items():
            own = querypack.run(store, "session-events", {"session": sid})
            assert detail["events"]["total"] == own.num_rows > 0


def test_outcomes_add_up_to_the_sessions_query(recorded_db: Path) -> None:
    """Productive + wasted = all, and all = the sessions query's sums: one set of numbers."""
    with contextlib.closing(DuckDBStore(recorded_db, read_only=True)) as store:
        sessions = querypack.run(store, "sessions").to_pylist()
        rows = {r["outcome"]: r for r in querypack.run(store, "outcomes").to_pylist()}
    assert list(rows) == ["productive", "wasted", "all"]
    every = rows["all"]
    assert (
        every["sessions"]
        == len(sessions)
        == rows["productive"]["sessions"] + rows["wasted"]["sessions"]
    )
    assert every["cost_usd"] == pytest.approx(sum(s["cost_usd"] for s in sessions), abs=1e-9)
    for col in ("commits", "pull_requests", "lines_added", "lines_removed"):
        assert every[col] == sum(s[col] for s in sessions), col
    productive = [s for s in sessions if s["commits"] or s["pull_requests"]]
    assert rows["productive"]["sessions"] == len(productive) > 0
    assert rows["productive"]["cost_usd"] == pytest.approx(sum(s["cost_usd"] for s in productive))
    assert every["cost_per_commit_usd"] == pytest.approx(every["cost_usd"] / every["commits"])
    assert every["lines_per_usd"] == pytest.approx(every["lines_added"] / every["cost_usd"])


def test_session_events_mark_each_failure_at_its_step(recorded_db: Path) -> None:
    """The session page's events carry error-analysis's steps: every failure signal counted
    there is marked on exactly one event, and each failed turn has one first failure."""
    with contextlib.closing(DuckDBStore(recorded_db, read_only=True)) as store:
        events = querypack.run(store, "session-events").to_pylist()
        kinds = querypack.run(store, "error-analysis").to_pylist()
    marked = [e for e in events if e["step"]]
    assert len(marked) == kinds[-1]["failures"] > 0  # the `all steps` row
    firsts = [e for e in marked if e["first_failure"]]
    assert len(firsts) == kinds[-1]["first_failure_turns"]
    assert len({e["prompt_id"] for e in firsts}) == len(firsts)
    for kind in kinds[:-1]:
        n = sum(1 for e in marked if (e["step"], e["kind"]) == (kind["step"], kind["kind"]))
        assert n >= kind["failures"] > 0, kind


def test_cli_writes_the_report_from_the_file(recorded_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = CliRunner().invoke(
        app,
        ["report", "--html", str(out), "--since", "2026-11-01", "--db", str(recorded_db)],
        env=_env(tmp_path),
    )
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.stdout
    assert out.read_text().startswith("<!doctype html>")


def test_cli_reads_through_the_running_server(server_factory: object, tmp_path: Path) -> None:
    """While serve holds the DuckDB file (no other process may open it), the report's
    queries go through its loopback endpoint."""
    svc = server_factory()  # type: ignore[operator]
    for _ in recordings.replay(
        "toolfail-grpc", f"127.0.0.1:{svc.endpoints.grpc_port}", svc.endpoints.http_url
    ):
        pass
    out = tmp_path / "live.html"
    env = {"OTELCAP_DATA_DIR": str(svc.config.data_dir), "OTELCAP_CONFIG": str(tmp_path / "none")}
    result = CliRunner().invoke(app, ["report", "--html", str(out), "--since", "3650d"], env=env)
    assert result.exit_code == 0, result.output
    text = out.read_text()
    (want,) = [r["total_cost_usd"] for r in recordings.results("toolfail-grpc")]
    blob = re.search(r'id="otelcap-data">(.*?)</script>', text, re.S).group(1)
    cost = json.loads(blob)["cost"]
    total = dict(zip(cost["columns"], cost["rows"][-1], strict=True))
    assert total["model"] == "total" and total["cost_usd"] == pytest.approx(want, abs=1e-9)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "last tuesday"], "--since: expected 7d, 12h"),
        (["--since", "2200-01-01"], "is not before now"),
    ],
)
def test_a_bad_since_is_a_usage_error(
    args: list[str], message: str, recorded_db: Path, tmp_path: Path
) -> None:
    out = tmp_path / "r.html"
    result = CliRunner().invoke(
        app, ["report", "--html", str(out), *args, "--db", str(recorded_db)], env=_env(tmp_path)
    )
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert not out.exists()


def test_a_file_that_cannot_be_written_fails_with_exit_code_1(
    recorded_db: Path, tmp_path: Path
) -> None:
    # /proc refuses new files even to root: a real write error, after the queries ran
    result = CliRunner().invoke(
        app,
        ["report", "--html", "/proc/otelcap-report.html", "--db", str(recorded_db)],
        env=_env(tmp_path),
    )
    assert result.exit_code == 1, result.output
    assert "cannot write /proc/otelcap-report.html" in result.stderr


def test_no_database_yet_says_what_to_do(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        ["report", "--html", str(tmp_path / "r.html"), "--db", str(tmp_path / "none.duckdb")],
        env=_env(tmp_path),
    )
    assert result.exit_code == 2, result.output
    assert "no database at" in result.stderr and "otelcap serve" in result.stderr


def test_cost_days_are_local_days_as_otelcap_query_cost_prints_them(recorded_db: Path) -> None:
    """The report's days are those of the zone "today" is read in: the recordings ran at
    22:08–22:13 UTC on 2026-11-27, which is the 28th in Kolkata (+05:30) and the 27th in Los
    Angeles; each day's cost is `otelcap query cost --period day --timezone ZONE`'s."""
    from zoneinfo import ZoneInfo

    with contextlib.closing(DuckDBStore(recorded_db, read_only=True)) as store:

        def run(name: str, values: dict[str, str]) -> pa.Table:
            return querypack.run(store, name, values)

        since = dt.datetime(2026, 11, 1)
        for zone, day in (("Asia/Kolkata", "2026-11-28"), ("America/Los_Angeles", "2026-11-27")):
            out = data.gather(run, since, NOW, report.available(), ZoneInfo(zone), details=0)
            assert out["meta"]["queries"]["cost"]["tz"] == zone
            cost = out["cost"]
            days = [dict(zip(cost["columns"], row, strict=True)) for row in cost["rows"]]
            shown = {r["period"] for r in days if r["model"] != "total"}
            assert shown == {day}
            want = querypack.run(
                store, "cost", {"since": "2026-11-01", "period": "day", "tz": zone}
            ).to_pylist()
            assert [r["cost_usd"] for r in days] == pytest.approx([r["cost_usd"] for r in want])


def test_tools_over_time_add_up_to_the_tools_table(recorded_db: Path) -> None:
    """The tools view's per-day charts are tool-usage-by --by day: each tool's days add up to
    its tool-usage row, calls, failures and rejections by source alike."""
    with contextlib.closing(DuckDBStore(recorded_db, read_only=True)) as store:

        def run(name: str, values: dict[str, str]) -> pa.Table:
            return querypack.run(store, name, values)

        out = data.gather(
            run, dt.datetime(2026, 11, 1), NOW, report.available(), dt.timezone.utc, details=0
        )

    def objects(block: dict) -> list[dict]:
        return [dict(zip(block["columns"], row, strict=True)) for row in block["rows"]]

    tools = {r["tool"]: r for r in objects(out["tools"])}
    days = objects(out["tools_by_day"])
    assert {r["model"] for r in days} == {"2026-11-27"}  # the recordings' one (UTC) day
    cols = ("calls", "failed", "rejected", "rejected_by_config", "rejected_by_user")
    for tool, row in tools.items():
        mine = [r for r in days if r["tool"] == tool]
        assert mine, tool
        for col in cols:
            assert sum(r[col] for r in mine) == row[col], (tool, col)
    assert sum(r["calls"] for r in tools.values()) > 0


def test_cost_windows_are_whole_local_days_and_each_is_otelcap_query_cost(tmp_path: Path) -> None:
    """The overview's windows come from one run of cost by day: today, yesterday, the last 7
    and 30 days (today and the days before it) in Paris, each the total `otelcap query cost
    --since START --until END` prints for its bounds."""
    import test_budget

    db = test_budget.make_db(tmp_path / "windows.duckdb", test_budget.COSTS)
    now = test_budget.NOW.astimezone(dt.timezone.utc).replace(tzinfo=None)
    with contextlib.closing(DuckDBStore(db, read_only=True)) as store:

        def run(name: str, values: dict[str, str]) -> pa.Table:
            return querypack.run(store, name, values)

        since = now - dt.timedelta(days=90)
        out = data.gather(run, since, now, report.available(), test_budget.PARIS, details=0)
        got = {k: w["cost_usd"] for k, w in out["windows"].items()}
        assert got == pytest.approx(
            {"today": 8.0, "yesterday": 11.0, "7d": 29.0, "prev_7d": 0.0, "30d": 163.0,
             "prev_30d": 0.0}
        )  # fmt: skip
        assert out["windows"]["today"]["since"] == "2026-11-24T23:00:00.000Z"  # Paris midnight
        for key, w in out["windows"].items():
            total = querypack.run(store, "cost", {"since": w["since"], "until": w["until"]})
            assert w["cost_usd"] == pytest.approx(total.to_pylist()[-1]["cost_usd"]), key

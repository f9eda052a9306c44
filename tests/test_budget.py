"""`otelcap budget`: limits stored in the config file, spend per local day, week and month
from api_request costs (real OTLP events through model → sanitizer → store, or over HTTP into
a running server), warnings at 80/90/100%, the run-rate projection and the exit codes."""

from __future__ import annotations

import datetime as dt
import json
import sys
import urllib.request
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent.parent / "bench"))
import queries as bench
from conftest import make_config
from otelcap import config as config_mod
from otelcap.cli import app
from otelcap.model import to_batches
from otelcap.ops import budget
from otelcap.sanitize import Sanitizer
from otelcap.service import Service
from otelcap.storage.duckdb import DuckDBStore

PARIS = ZoneInfo("Europe/Paris")
UTC = dt.timezone.utc


def logs_request(costs: list[tuple[dt.datetime, float]]) -> bytes:
    """api_request events of one Claude Code process at the given (aware) times and costs."""
    p = bench.Process(
        session=str(uuid.uuid4()), version="2.1.140", terminal="tmux",
        temporality=bench.DELTA, start_ns=0,
    )  # fmt: skip
    prompt = str(uuid.uuid4())
    for at, cost in costs:
        t = int(at.timestamp()) * 10**9
        p.event(t, "api_request", prompt, model="claude-sonnet-4-5-20250929", cost_usd=cost,
                duration_ms="1200", input_tokens=10, output_tokens=100)  # fmt: skip
    return p.logs.SerializeToString()


def make_db(path: Path, costs: list[tuple[dt.datetime, float]]) -> Path:
    store = DuckDBStore(path)
    store.create_schema()
    conv = to_batches("logs", logs_request(costs))
    store.append({t: [b] for t, b in Sanitizer().sanitize(conv.batches).items()})
    store.close()
    return path


# Wednesday 25 November 2026, 18:00 in Paris (UTC+1): the week began Monday the 23rd.
NOW = dt.datetime(2026, 11, 25, 18, 0, tzinfo=PARIS)
COSTS = [
    (dt.datetime(2026, 10, 31, 23, 30, tzinfo=PARIS), 100.0),  # October in Paris
    (dt.datetime(2026, 11, 1, 0, 30, tzinfo=PARIS), 4.0),  # November in Paris, October in UTC
    (dt.datetime(2026, 11, 2, 10, 0, tzinfo=PARIS), 30.0),
    (dt.datetime(2026, 11, 23, 9, 0, tzinfo=PARIS), 10.0),
    (dt.datetime(2026, 11, 24, 12, 0, tzinfo=PARIS), 10.0),
    (dt.datetime(2026, 11, 24, 23, 30, tzinfo=PARIS), 1.0),  # yesterday in Paris and in UTC
    (dt.datetime(2026, 11, 25, 0, 30, tzinfo=PARIS), 2.0),  # today in Paris, yesterday in UTC
    (dt.datetime(2026, 11, 25, 6, 0, tzinfo=PARIS), 3.0),
    (dt.datetime(2026, 11, 25, 17, 59, tzinfo=PARIS), 3.0),
    (dt.datetime(2026, 11, 25, 19, 0, tzinfo=PARIS), 50.0),  # after now: not spent yet
]


@pytest.fixture(scope="module")
def known_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_db(tmp_path_factory.mktemp("budget") / "known.duckdb", COSTS)


def test_periods_are_local_and_spend_is_counted_in_them(known_db: Path, tmp_path: Path) -> None:
    cfg = make_config(tmp_path, db_path=known_db, budget_daily=20, budget_monthly=400)
    report = budget.status(cfg, NOW)
    day, week, month = report.periods
    assert (day.period.start, week.period.start, month.period.start) == (
        dt.datetime(2026, 11, 25, tzinfo=PARIS),
        dt.datetime(2026, 11, 23, tzinfo=PARIS),
        dt.datetime(2026, 11, 1, tzinfo=PARIS),
    )
    assert month.period.end == dt.datetime(2026, 12, 1, tzinfo=PARIS)
    assert (day.spent_usd, day.requests) == (pytest.approx(8.0), 3)
    assert (week.spent_usd, week.requests) == (pytest.approx(29.0), 6)
    assert (month.spent_usd, month.requests) == (pytest.approx(63.0), 8)
    assert (day.limit_usd, week.limit_usd, month.limit_usd) == (20.0, None, 400.0)
    assert report.zone == "Europe/Paris" and not report.over


def test_the_projection_is_spend_over_the_elapsed_share(known_db: Path, tmp_path: Path) -> None:
    report = budget.status(make_config(tmp_path, db_path=known_db), NOW)
    day, week, month = report.periods
    assert day.elapsed == pytest.approx(18 / 24)
    assert day.projected_usd == pytest.approx(8.0 * 24 / 18)
    assert week.elapsed == pytest.approx((2 * 24 + 18) / (7 * 24))
    assert week.projected_usd == pytest.approx(29.0 * 168 / 66)
    assert month.projected_usd == pytest.approx(63.0 * (30 * 24) / (24 * 24 + 18))
    # at a period's very start nothing is projected from nothing
    start = budget.status(make_config(tmp_path, db_path=known_db), NOW.replace(hour=0, minute=0))
    assert start.periods[0].elapsed == 0 and start.periods[0].projected_usd == 0


def test_a_day_that_changes_to_summer_time_is_23_hours() -> None:
    noon = dt.datetime(2026, 3, 29, 12, tzinfo=PARIS)  # clocks went 02:00 → 03:00
    (day, _week, month) = budget.periods(noon)
    assert day.end.astimezone(UTC) - day.start.astimezone(UTC) == dt.timedelta(hours=23)
    assert day.elapsed(noon) == pytest.approx(11 / 23)  # 11 real hours since midnight
    assert month.elapsed(month.end) == 1.0 and month.elapsed(month.start) == 0.0


@pytest.mark.parametrize(
    ("limit", "status"),
    [
        (25.32, "ok"),  # 79.0%
        (25.0, "warning_80"),  # 80.0%
        (22.3, "warning_80"),  # 89.7%
        (22.2, "warning_90"),  # 90.1%
        (20.01, "warning_90"),  # 99.95%
        (20.0, "over"),  # 100%: the limit is reached
        (10.0, "over"),  # 200%
    ],
)
def test_thresholds_at_80_90_and_100_percent(limit: float, status: str, tmp_path: Path) -> None:
    today = dt.datetime(2026, 11, 25, tzinfo=PARIS)
    db = make_db(
        tmp_path / "twenty.duckdb", [(today + dt.timedelta(hours=h), 5.0) for h in (1, 2, 3, 4)]
    )
    report = budget.status(make_config(tmp_path, db_path=db, budget_weekly=limit), NOW)
    week = report.periods[1]
    assert week.spent_usd == 20.0 and week.used == pytest.approx(20.0 / limit)
    assert week.status == status
    assert report.over is (status == "over")
    assert report.periods[0].status == "no_limit"


# --- the command --------------------------------------------------------------------------------


def cli_env(tmp_path: Path, config_file: Path) -> dict[str, str]:
    return {
        "OTELCAP_CONFIG": str(config_file),
        "OTELCAP_DATA_DIR": str(tmp_path / "data"),
        "TZ": "Europe/Paris",
    }


def today_db(tmp_path: Path, dollars: float) -> Path:
    """A database holding `dollars` spent earlier today (local time), whatever the clock says."""
    now = dt.datetime.now(PARIS)
    day_start = budget.periods(now)[0].start
    at = day_start + (now - day_start) / 2
    return make_db(tmp_path / "today.duckdb", [(at, dollars / 2), (at, dollars / 2)])


def test_exit_codes_0_within_1_over_2_usage(tmp_path: Path) -> None:
    runner = CliRunner()
    conf = tmp_path / "config.toml"
    env = cli_env(tmp_path, conf)
    db = str(today_db(tmp_path, 12.0))
    assert runner.invoke(app, ["budget", "set", "--daily", "20"], env=env).exit_code == 0
    ok = runner.invoke(app, ["budget", "--db", db], env=env)
    assert ok.exit_code == 0, ok.output
    assert "$12.00" in ok.output and "60.0%" in ok.output and "Europe/Paris" in ok.output
    assert runner.invoke(app, ["budget", "set", "--daily", "10"], env=env).exit_code == 0
    over = runner.invoke(app, ["budget", "status", "--db", db, "--format", "json"], env=env)
    assert over.exit_code == 1, over.output
    state = json.loads(over.output)
    assert state["over"] is True and state["time_zone"] == "Europe/Paris"
    day = state["periods"][0]
    assert day["status"] == "over" and day["used_pct"] == pytest.approx(120.0)
    assert day["limit_usd"] == 10.0 and day["spent_usd"] == pytest.approx(12.0)
    for args in (
        ["budget", "set"],  # nothing to set
        ["budget", "set", "--daily", "-5"],
        ["budget", "set", "--daily", "lots"],
        ["budget", "--format", "xml", "--db", db],
        ["budget", "--db", str(tmp_path / "missing.duckdb")],  # no database there yet
    ):
        result = runner.invoke(app, args, env=env)
        assert result.exit_code == 2, (args, result.output)
    # a usage error changed nothing
    assert config_mod.load(env={}, config_file=conf).budget_daily == 10.0


ORIGINAL = """\
# my otelcap settings
retention = "30d"
flush_rows = 5000

[privacy]
prompts = "drop"  # never keep prompt text
"""


def test_limits_are_written_to_the_config_file_and_read_back(tmp_path: Path) -> None:
    runner = CliRunner()
    conf = tmp_path / "conf" / "config.toml"
    conf.parent.mkdir()
    conf.write_text(ORIGINAL)
    env = cli_env(tmp_path, conf)
    result = runner.invoke(
        app, ["budget", "set", "--daily", "20", "--weekly", "100", "--monthly", "400"], env=env
    )
    assert result.exit_code == 0, result.output
    assert "daily $20.00, weekly $100.00, monthly $400.00" in result.output
    text = conf.read_text()
    assert text.startswith(ORIGINAL)  # every other line as it was, comments included
    cfg = config_mod.load(env={}, config_file=conf)
    assert (cfg.budget_daily, cfg.budget_weekly, cfg.budget_monthly) == (20.0, 100.0, 400.0)
    assert (cfg.retention, cfg.flush_rows, cfg.privacy_prompts) == ("30d", 5000, "drop")

    assert runner.invoke(app, ["budget", "set", "--daily", "0"], env=env).exit_code == 0
    cfg = config_mod.load(env={}, config_file=conf)
    assert (cfg.budget_daily, cfg.budget_weekly, cfg.budget_monthly) == (0.0, 100.0, 400.0)
    assert "daily" not in conf.read_text()

    assert runner.invoke(app, ["budget", "clear", "--weekly"], env=env).exit_code == 0
    assert config_mod.load(env={}, config_file=conf).budget_monthly == 400.0
    assert runner.invoke(app, ["budget", "clear"], env=env).exit_code == 0
    assert conf.read_text() == ORIGINAL  # the table went with its last limit


def test_a_config_file_otelcap_cannot_read_is_not_edited(tmp_path: Path) -> None:
    conf = tmp_path / "config.toml"
    for text in ("retention = \n", "budget = { daily = 5.0 }\n", "[budget]\nyearly = 9\n"):
        conf.write_text(text)
        result = CliRunner().invoke(
            app, ["budget", "set", "--daily", "20"], env=cli_env(tmp_path, conf)
        )
        assert result.exit_code == 2, result.output
        assert str(conf) in result.output
        assert conf.read_text() == text


def test_budget_reads_through_the_running_server(server_factory: object, tmp_path: Path) -> None:
    """While serve holds the DuckDB file, the spend comes through its endpoint."""
    svc: Service = server_factory(budget_daily=5.0)  # type: ignore[operator]
    now = dt.datetime.now(PARIS)
    day_start = budget.periods(now)[0].start
    at = day_start + (now - day_start) / 2
    body = logs_request([(at, 2.5), (at, 4.0)])
    req = urllib.request.Request(
        f"{svc.endpoints.http_url}/v1/logs", data=body,
        headers={"Content-Type": "application/x-protobuf"},
    )  # fmt: skip
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 200
    report = budget.status(svc.config, now)
    assert report.periods[0].spent_usd == pytest.approx(6.5)
    assert report.periods[0].status == "over" and report.over

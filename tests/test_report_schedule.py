"""`serve --report-every`: the running collector writes the HTML report on a schedule, from
its own store, keeping the newest N; the schedule survives a restart; a failed report is
retried and never stops serving; bad settings are usage errors."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import stat
import time
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

import recordings
from otelcap import config as config_mod
from otelcap.cli import app
from otelcap.errors import ConfigError
from otelcap.report import schedule
from otelcap.report.schedule import ReportSchedule, report_files


def _cost_total(path: Path) -> float:
    blob = re.search(r'id="otelcap-data">(.*?)</script>', path.read_text(), re.S)
    assert blob, f"{path} holds no report data"
    cost = json.loads(blob.group(1))["cost"]
    total = dict(zip(cost["columns"], cost["rows"][-1], strict=True))
    assert total["model"] == "total"
    return float(total["cost_usd"])


def _wait_for(predicate: object, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def test_serve_writes_a_report_from_its_own_store(server_factory: object, tmp_path: Path) -> None:
    """The first report is due at once; a later one carries what arrived since, and its cost
    is Claude Code's own total."""
    reports = tmp_path / "reports"
    svc = server_factory(  # type: ignore[operator]
        report_every="1h", report_dir=str(reports), report_since="3650d"
    )
    _wait_for(lambda: svc.reports.written)
    (first,) = report_files(reports)
    assert _cost_total(first) == 0.0  # nothing had arrived yet
    assert stat.S_IMODE(first.stat().st_mode) == 0o600
    assert stat.S_IMODE(reports.stat().st_mode) == 0o700

    for _ in recordings.replay(
        "toolfail-grpc", f"127.0.0.1:{svc.endpoints.grpc_port}", svc.endpoints.http_url
    ):
        pass
    later = svc.reports.write_one()
    (want,) = [r["total_cost_usd"] for r in recordings.results("toolfail-grpc")]
    assert _cost_total(later) == pytest.approx(want, abs=1e-9)


def _empty_run(name: str, values: dict[str, str]) -> pa.Table:
    raise LookupError(name)  # never called: due_in() only looks at the directory


class _Clock:
    def __init__(self, start: dt.datetime) -> None:
        self.now = start.timestamp()

    def __call__(self) -> float:
        return self.now


def test_only_the_newest_are_kept_and_other_files_are_left_alone(
    recorded_db: Path, tmp_path: Path
) -> None:
    from otelcap import report

    cfg = config_mod.load({"db_path": recorded_db, "data_dir": tmp_path / "d"}, env={})
    clock = _Clock(dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.timezone.utc))
    mine = tmp_path / "reports"
    mine.mkdir()
    (mine / "notes.html").write_text("the user's own")
    with report.pack_runner(cfg) as run:
        sched = ReportSchedule(run, mine, dt.timedelta(days=1), keep=2, since="3650d", clock=clock)
        for _ in range(3):
            sched.write_one()
            clock.now += 86_400
    names = [p.name for p in report_files(mine)]
    assert names == ["otelcap-report-20261129T090000Z.html", "otelcap-report-20261130T090000Z.html"]
    assert (mine / "notes.html").read_text() == "the user's own"


def test_a_restart_waits_for_the_interval_since_the_newest_report(tmp_path: Path) -> None:
    clock = _Clock(dt.datetime(2026, 11, 28, 9, 0, tzinfo=dt.timezone.utc))
    sched = ReportSchedule(_empty_run, tmp_path, dt.timedelta(hours=1), keep=3, clock=clock)
    assert sched.due_in() == 0.0  # no report yet: one now
    newest = tmp_path / schedule.file_name(dt.datetime.fromtimestamp(clock.now, dt.timezone.utc))
    newest.write_text("x")
    os.utime(newest, (clock.now - 600, clock.now - 600))  # written ten minutes ago
    assert sched.due_in() == pytest.approx(3000.0)
    clock.now += 3600
    assert sched.due_in() == 0.0


def test_a_failed_report_is_counted_retried_and_stops_nothing(tmp_path: Path) -> None:
    def failing(name: str, values: dict[str, str]) -> pa.Table:
        raise RuntimeError("the store is busy")

    sched = ReportSchedule(failing, tmp_path / "r", dt.timedelta(minutes=1), keep=3)
    sched.start()
    _wait_for(lambda: sched.failures == 1)
    assert report_files(tmp_path / "r") == []  # no half-written report left behind
    assert not list((tmp_path / "r").iterdir())
    started = time.monotonic()
    sched.stop()  # waiting for the retry does not hold up shutdown
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"report_every": "30s"}, "report_every must be at least 1m"),
        ({"report_every": "daily"}, "report_every must look like 90d"),
        ({"report_every": "1d", "report_keep": 0}, "report_keep must be at least 1"),
        ({"report_every": "1d", "report_since": "last week"}, "report_since"),
    ],
)
def test_bad_schedules_are_refused_at_start(values: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        config_mod.load(values, env={})


def test_serve_refuses_a_bad_schedule_as_a_usage_error(tmp_path: Path) -> None:
    env = {"OTELCAP_DATA_DIR": str(tmp_path / "data"), "OTELCAP_CONFIG": str(tmp_path / "none")}
    result = CliRunner().invoke(app, ["serve", "--report-every", "5s"], env=env)
    assert result.exit_code == 2, result.output
    assert "report_every must be at least 1m" in result.output

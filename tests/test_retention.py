"""Retention on DuckDB: rows older than the period go (by their own time), in small
transactions beside the writer; serve applies it at start and hourly, `otelcap prune` by hand,
through the running server when there is one. Synthetic Claude Code data spans 2026."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

import recordings
from otelcap import config, retention
from otelcap.cli import app
from otelcap.errors import ConfigError
from otelcap.model import schema
from otelcap.service import Service
from otelcap.storage.duckdb import DuckDBStore

sys.path.insert(0, str(Path(__file__).parent.parent / "bench"))
import queries as bench

CUTOFF = dt.datetime(2026, 7, 1)


def _synthetic(path: Path, events: int = 20_000) -> Path:
    store = DuckDBStore(path)
    store.create_schema()
    bench.load(store, events=events, seed=5, workers=1)
    store.close()
    return path


def _counts(store: DuckDBStore, cutoff: dt.datetime) -> dict[str, tuple[int, int]]:
    """Per table with rows: (rows before cutoff, hash-sum of the rows from cutoff on)."""
    out = {}
    for table, ts in schema.TIME_COLUMN.items():
        cols = ", ".join(f'"{c}"' for c in schema.TABLES[table].names)
        row = store.query(
            f'SELECT count(*) FILTER ("{ts}" < $c) AS old, '
            f'coalesce(sum(hash({cols})) FILTER ("{ts}" >= $c), 0) AS kept FROM "{table}"',
            {"c": cutoff},
        ).to_pylist()[0]
        out[table] = (int(row["old"]), int(row["kept"]))
    return out


def _keep_until(cutoff: dt.datetime) -> str:
    """A period that puts the retention cutoff at `cutoff` (whole days, a day's slack)."""
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    return f"{(now - cutoff).days}d"


def test_prune_deletes_only_older_rows_in_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = DuckDBStore(_synthetic(tmp_path / "s.duckdb"))
    try:
        before = _counts(store, CUTOFF)
        assert before["otel_logs"][0] > 1000 and before["otel_metrics_sum"][0] > 0
        monkeypatch.setattr(retention, "DELETE_BATCH_ROWS", 500)  # many transactions
        deleted = retention.prune_store(store, CUTOFF)
        after = _counts(store, CUTOFF)
    finally:
        store.close()
    assert deleted == {t: old for t, (old, _kept) in before.items() if old}
    assert after == {t: (0, kept) for t, (_old, kept) in before.items()}


def test_serve_prunes_at_start_while_ingest_goes_on(
    tmp_path: Path, server_factory: Callable[..., Service]
) -> None:
    db = _synthetic(tmp_path / "claude.duckdb", events=60_000)
    keep = _keep_until(CUTOFF)
    cutoff = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None) - dt.timedelta(
        days=int(keep[:-1])
    )
    slack = dt.timedelta(minutes=10)  # the server reads its clock a moment later
    store = DuckDBStore(db, read_only=True)
    older, newer = _counts(store, cutoff - slack), _counts(store, cutoff + slack)
    store.close()
    svc = server_factory(db_path=db, retention=keep)
    assert svc.retention is not None
    acked = 0
    for _req, _resp in recordings.replay(
        "tools-grpc", f"127.0.0.1:{svc.endpoints.grpc_port}", svc.endpoints.http_url
    ):
        acked += 1  # each answered only once committed, while the retention run deletes
    deadline = time.monotonic() + 60
    while svc.retention.runs < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    sessions = [r["session_id"] for r in recordings.results("tools-grpc")]
    recorded = svc.store.query(
        "SELECT count(*) AS n FROM otel_logs WHERE list_contains($s, SessionId)", {"s": sessions}
    ).to_pylist()[0]["n"]
    after = _counts(svc.store, cutoff - slack)  # type: ignore[arg-type]
    svc.stop()
    assert acked == len(recordings.load("tools-grpc")) and recorded > 0
    assert all(old == 0 for old, _kept in after.values())  # nothing older is left
    deleted = svc.retention.last
    for table in schema.TABLES:
        assert older[table][0] <= deleted.get(table, 0) <= newer[table][0], table
    assert deleted["otel_logs"] > 1000


def test_retention_setting() -> None:
    assert config.Config().retention == "90d"
    assert config.parse_duration("90d") == dt.timedelta(days=90)
    assert config.parse_duration("0") is None
    with pytest.raises(ConfigError, match="retention must look like 90d"):
        config.load({"retention": "3 months"}, env={}, config_file=Path("/nonexistent"))
    with pytest.raises(ConfigError, match="ninety"):
        config.load({}, env={"OTELCAP_RETENTION": "ninety"}, config_file=Path("/nonexistent"))


def test_no_retention_when_kept_forever(
    server_factory: Callable[..., Service], tmp_path: Path
) -> None:
    # Two servers cannot hold one database file at once: the second gets a file of its own.
    assert server_factory(retention="0").retention is None
    assert server_factory(retention="12w", db_path=tmp_path / "b.duckdb").retention is not None


def _env(tmp_path: Path) -> dict[str, str]:
    return {"OTELCAP_DATA_DIR": str(tmp_path / "data"), "OTELCAP_CONFIG": str(tmp_path / "none")}


def test_prune_command_on_a_file(tmp_path: Path) -> None:
    db = _synthetic(tmp_path / "s.duckdb", events=5_000)
    store = DuckDBStore(db, read_only=True)
    before = _counts(store, CUTOFF)
    store.close()
    runner = CliRunner()
    out = runner.invoke(
        app,
        ["prune", "--older-than", _keep_until(CUTOFF), "--db", str(db), "--format", "json"],
        env=_env(tmp_path),
    )
    assert out.exit_code == 0, out.output
    result = json.loads(out.output)
    assert result["total"] == sum(old for old, _k in before.values()) > 0
    zero = runner.invoke(app, ["prune", "--older-than", "0", "--db", str(db)], env=_env(tmp_path))
    assert zero.exit_code == 2 and "would delete everything" in zero.output
    text = runner.invoke(
        app, ["prune", "--older-than", _keep_until(CUTOFF), "--db", str(db)], env=_env(tmp_path)
    )
    assert text.exit_code == 0 and text.output.startswith("deleted 0 rows older than")


@pytest.mark.slow
def test_prune_command_goes_through_the_running_server(
    tmp_path: Path, server_factory: Callable[..., Service]
) -> None:
    db = _synthetic(tmp_path / "claude.duckdb", events=5_000)
    svc = server_factory(db_path=db)
    before = _counts(svc.store, CUTOFF)  # type: ignore[arg-type]
    env = {**os.environ, **_env(tmp_path)}
    # Another process cannot open the file serve holds: this prune is done by the server.
    done = subprocess.run(
        [sys.executable, "-m", "otelcap.cli", "prune", "--older-than", _keep_until(CUTOFF),
         "--db", str(db), "--format", "json"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["deleted"] == {t: o for t, (o, _k) in before.items() if o}
    after = _counts(svc.store, CUTOFF)  # type: ignore[arg-type]
    assert after == {t: (0, kept) for t, (_old, kept) in before.items()}

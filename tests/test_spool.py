"""No data loss with ClickHouse: what it cannot take is spooled, acknowledged, and replayed in
order, exactly once, also after otelcap restarts; past its cap the spool says "retry later".

The store behind the spool is ClickHouseStore on ClickHouse's engine in-process (its insert
tokens are what make replays exactly-once), behind a switch that fails on purpose."""

from __future__ import annotations

import errno
import logging
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

import recordings
import stores
from conftest import make_config
from otelcap.errors import ConfigError, Overloaded, StoreUnavailable
from otelcap.service import Service
from otelcap.storage.spool import Spool, SpoolingStore, decode, encode

pytest.importorskip("chdb")
pytest.importorskip("clickhouse_connect")
from otelcap.storage.clickhouse import ClickHouseStore, ClickHouseTarget

FAST = (0.01, 0.05)  # retry back-off for tests: 10 ms doubling to 50 ms
MiB = 1024 * 1024


@pytest.fixture
def target() -> Iterator[ClickHouseTarget]:
    target = ClickHouseTarget(chdb="", database=stores.throwaway_database())
    keeper = ClickHouseStore(target)  # chdb's in-memory engine lives while a connection does
    keeper.create_schema()
    yield target
    stores.drop_database(target)
    keeper.close()


def flaky(target: ClickHouseTarget, down: bool = False) -> stores.FlakyStore:
    store = stores.FlakyStore(ClickHouseStore(target))
    store.down = down
    return store


def rows_per_flush(target: ClickHouseTarget) -> dict[str, int]:
    reader = ClickHouseStore(target, read_only=True)
    try:
        got = reader.query("SELECT ServiceName, count() AS n FROM otel_logs GROUP BY 1")
        return {r["ServiceName"]: r["n"] for r in got.to_pylist()}
    finally:
        reader.close()


def names(n: int, start: int = 0) -> list[str]:
    return [f"flush-{i:04d}" for i in range(start, start + n)]


# --- the file format ---------------------------------------------------------------------------


def test_a_spooled_flush_reads_back_as_it_was_written() -> None:
    flush = stores.flush(3)
    flush["otel_traces"] = [
        stores.full_batch("otel_traces", 2),
        stores.full_batch("otel_traces", 1),
    ]
    token, back = decode(encode(flush, "tok-3"))
    assert token == "tok-3"
    assert list(back) == list(flush)
    for table, parts in flush.items():
        assert [b.num_rows for b in back[table]] == [b.num_rows for b in parts]
        assert pa.Table.from_batches(back[table]).equals(pa.Table.from_batches(parts))
        assert back[table][0].schema.metadata is None  # our keys do not leak into the rows


def test_files_are_named_by_sequence_and_survive_reopening(tmp_path: Path) -> None:
    spool = Spool(tmp_path, 10 * MiB)
    seqs = [spool.put(stores.flush(i), f"t{i}") for i in range(3)]
    assert seqs == [1, 2, 3]
    (tmp_path / f"{4:020d}.arrows.tmp").write_bytes(b"half a flush")  # a crash mid-write
    spool.close()
    again = Spool(tmp_path, 10 * MiB)
    assert again.count == 3 and again.oldest() == 1
    assert not list(tmp_path.glob("*.tmp"))  # never acknowledged: removed
    assert again.put(stores.flush(9), "t9") == 4  # numbering goes on
    assert again.read(1)[0] == "t0"
    again.close()


def test_one_otelcap_per_spool(tmp_path: Path) -> None:
    first = Spool(tmp_path, MiB)
    with pytest.raises(ConfigError, match="another otelcap"):
        Spool(tmp_path, MiB)
    first.close()
    Spool(tmp_path, MiB).close()


# --- outages -----------------------------------------------------------------------------------


def test_outage_then_recovery_every_flush_once_and_in_order(
    tmp_path: Path, target: ClickHouseTarget
) -> None:
    inner = flaky(target)
    store = SpoolingStore(inner, tmp_path / "spool", 64 * MiB, retry_s=FAST)
    store.create_schema()
    store.append(stores.flush(0))  # straight through
    inner.down = True
    for i in range(1, 15):
        store.append(stores.flush(i))  # acknowledged: spooled
    assert store.spool.count == 14 and store.spool_bytes > 0
    inner.lose_answers = 4  # it comes back, but the first answers get lost on the way
    inner.down = False
    for i in range(15, 20):
        store.append(stores.flush(i))  # behind the spooled ones, not ahead of them
    stores.wait_until(lambda: store.idle, what="the spool to drain")
    store.append(stores.flush(20))  # straight through again
    assert inner.stored == names(21)  # the order they were acknowledged in
    assert rows_per_flush(target) == dict.fromkeys(names(21), 3)  # each exactly once
    assert store.spool_bytes == 0 and not list((tmp_path / "spool").glob("*.arrows"))
    store.close()


def test_spooled_flushes_are_sent_after_a_restart(tmp_path: Path, target: ClickHouseTarget) -> None:
    first = SpoolingStore(flaky(target, down=True), tmp_path / "spool", 64 * MiB, retry_s=FAST)
    first.create_schema()  # ClickHouse does not answer: a warning, not an error
    for i in range(6):
        first.append(stores.flush(i))
    first.close()  # otelcap stops with the flushes still spooled
    assert len(list((tmp_path / "spool").glob("*.arrows"))) == 6

    inner = flaky(target)
    inner.lose_answers = 1
    second = SpoolingStore(inner, tmp_path / "spool", 64 * MiB, retry_s=FAST)
    second.create_schema()
    second.append(stores.flush(6))  # new data waits behind the old
    stores.wait_until(lambda: second.idle, what="the spool to drain")
    assert inner.stored == names(7)
    assert rows_per_flush(target) == dict.fromkeys(names(7), 3)
    second.close()


def test_past_the_cap_append_says_retry_later(tmp_path: Path, target: ClickHouseTarget) -> None:
    inner = flaky(target, down=True)
    size = len(encode(stores.flush(0), "x" * 32))
    store = SpoolingStore(inner, tmp_path / "spool", int(size * 3.5), retry_s=FAST)
    store.create_schema()
    for i in range(3):
        store.append(stores.flush(i))
    with pytest.raises(Overloaded, match="spool is full"):
        store.append(stores.flush(3))  # not acknowledged: the client keeps it and retries
    assert store.spool.count == 3 and store.spool_bytes <= size * 3.5
    inner.down = False
    stores.wait_until(lambda: store.idle, what="the spool to drain")
    store.append(stores.flush(3))  # the client's retry
    assert rows_per_flush(target) == dict.fromkeys(names(4), 3)
    store.close()


def test_an_unreadable_file_is_set_aside(tmp_path: Path, target: ClickHouseTarget) -> None:
    spool_dir = tmp_path / "spool"
    spool = Spool(spool_dir, MiB)
    spool.put(stores.flush(0), "t0")
    spool.close()
    (spool_dir / f"{2:020d}.arrows").write_bytes(b"not arrow")
    spool = Spool(spool_dir, MiB)
    spool.put(stores.flush(3), "t3")
    spool.close()
    store = SpoolingStore(flaky(target), spool_dir, MiB, retry_s=FAST)
    store.create_schema()
    stores.wait_until(lambda: store.idle, what="the spool to drain")
    assert rows_per_flush(target) == {"flush-0000": 3, "flush-0003": 3}
    assert (spool_dir / "corrupt" / f"{2:020d}.arrows").exists()
    store.close()


def test_a_wrong_password_stops_serve_instead_of_spooling(tmp_path: Path) -> None:
    class Refused(stores.FlakyStore):
        def create_schema(self) -> None:
            raise ConfigError("ClickHouse at http://h:8123/otel: authentication failed")

    inner = Refused(ClickHouseStore(ClickHouseTarget(chdb="", database="never_made")))
    with pytest.raises(ConfigError, match="authentication"):
        SpoolingStore(inner, tmp_path, MiB).create_schema()
    Spool(tmp_path, MiB).close()  # the failed store let go of the spool


# --- through a running collector ---------------------------------------------------------------


def test_requests_are_acknowledged_while_clickhouse_is_down(
    tmp_path: Path, target: ClickHouseTarget, caplog: pytest.LogCaptureFixture
) -> None:
    inner = flaky(target, down=True)
    store = SpoolingStore(inner, tmp_path / "data" / "spool", 64 * MiB, retry_s=FAST)
    with caplog.at_level(logging.WARNING, logger="otelcap.storage.spool"):
        svc = Service(make_config(tmp_path), store=store)
    assert any("Spooling to" in r.getMessage() for r in caplog.records)
    svc.start()
    try:
        scenario = recordings.scenarios()[0]
        want = {"logs": 0, "metrics": 0, "traces": 0}
        for req, resp in recordings.replay(
            scenario, f"127.0.0.1:{svc.endpoints.grpc_port}", svc.endpoints.http_url
        ):
            want[req.signal] += req.items
            if req.protocol != "grpc":
                assert resp[0] == 200
        assert store.spool_bytes > 0
        metrics = urllib.request.urlopen(f"{svc.endpoints.http_url}/metrics").read().decode()
        assert f"otelcap_spool_bytes {store.spool_bytes}" in metrics
        inner.down = False
        stores.wait_until(lambda: store.idle, what="the spool to drain")
        assert _counts(store) == want
    finally:
        svc.stop()


def _counts(store: Any) -> dict[str, int]:
    def n(table: str) -> int:
        return int(store.query(f"SELECT count() AS n FROM {table}").column(0)[0].as_py())

    metrics = ("sum", "gauge", "histogram", "exponential_histogram", "summary")
    return {
        "logs": n("otel_logs"),
        "traces": n("otel_traces"),
        "metrics": sum(n(f"otel_metrics_{t}") for t in metrics),
    }


def test_a_full_disk_is_retryable_not_acknowledged(
    tmp_path: Path, target: ClickHouseTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SpoolingStore(flaky(target, down=True), tmp_path / "spool", MiB, retry_s=FAST)
    store.create_schema()

    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("otelcap.storage.spool.os.fsync", no_space)
    try:
        with pytest.raises(StoreUnavailable, match="cannot write the spool"):
            store.append(stores.flush(0))
        assert store.spool.count == 0 and not list((tmp_path / "spool").glob("*.arrows*"))
    finally:
        monkeypatch.undo()
        store.close()

"""Replay every recorded Claude Code request over the protocol it was recorded with, through
real sockets into a real DuckDB file, and check that nothing was lost or altered."""

from __future__ import annotations

import json

import duckdb
import pytest
from google.protobuf import json_format

import recordings
from otelcap.receiver.decode import PbRequest, PbResponse, parse_json
from otelcap.service import Service

SCENARIOS = recordings.scenarios()
METRIC_TABLES = ("sum", "gauge", "histogram", "exponential_histogram", "summary")


def _row_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    counts = {
        "logs": con.execute("SELECT count(*) FROM otel_logs").fetchone()[0],
        "traces": con.execute("SELECT count(*) FROM otel_traces").fetchone()[0],
        "metrics": sum(
            con.execute(f"SELECT count(*) FROM otel_metrics_{t}").fetchone()[0]
            for t in METRIC_TABLES
        ),
    }
    return counts


def _decoded(req: recordings.Request) -> object:
    if req.protocol == "http-json":
        return parse_json(req.signal, req.body)
    return PbRequest[req.signal].FromString(req.body)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_replay_stores_every_record(scenario: str, server: Service) -> None:
    target = f"127.0.0.1:{server.endpoints.grpc_port}"
    expected = {"logs": 0, "metrics": 0, "traces": 0}
    for req, resp in recordings.replay(scenario, target, server.endpoints.http_url):
        expected[req.signal] += req.items
        if req.protocol == "grpc":
            decoded = PbResponse[req.signal].FromString(resp)
        else:
            status, body = resp
            assert status == 200
            decoded = (
                json_format.Parse(body, PbResponse[req.signal]())
                if req.protocol == "http-json"
                else PbResponse[req.signal].FromString(body)
            )
        assert not decoded.HasField("partial_success"), decoded
    db = server.config.database
    server.stop()
    with duckdb.connect(str(db), read_only=True) as con:
        assert _row_counts(con) == expected
        assert sum(expected.values()) > 0


@pytest.mark.parametrize("scenario", ["tools-grpc", "tools-http-json", "hooks-http-protobuf"])
def test_attribute_values_survive_exactly(scenario: str, server: Service) -> None:
    """Every log attribute, as text, equals what the client sent (order of records kept)."""
    sent: list[dict[str, str]] = []
    for req, _ in recordings.replay(
        scenario, f"127.0.0.1:{server.endpoints.grpc_port}", server.endpoints.http_url
    ):
        if req.signal != "logs":
            continue
        for rl in _decoded(req).resource_logs:  # type: ignore[attr-defined]
            for sl in rl.scope_logs:
                for rec in sl.log_records:
                    d = {}
                    for kv in rec.attributes:
                        v = kv.value
                        kind = v.WhichOneof("value")
                        if kind == "bool_value":
                            d[kv.key] = "true" if v.bool_value else "false"
                        elif kind == "array_value":
                            d[kv.key] = json.dumps(
                                json_format.MessageToDict(v.array_value).get("values", [])
                            )
                        else:
                            d[kv.key] = str(getattr(v, kind))
                    sent.append(d)
    db = server.config.database
    server.stop()
    with duckdb.connect(str(db), read_only=True) as con:
        stored = [
            dict(zip(r[0], r[1], strict=True))
            for r in con.execute(
                "SELECT map_keys(LogAttributes), map_values(LogAttributes) FROM otel_logs "
                "ORDER BY Timestamp, EventSequence"
            ).fetchall()
        ]
    assert len(stored) == len(sent)
    key = lambda d: (d.get("event.timestamp", ""), int(d.get("event.sequence", -1)))  # noqa: E731
    for got, want in zip(sorted(stored, key=key), sorted(sent, key=key), strict=True):
        for k, v in want.items():
            if k == "managed_settings.sources":  # array: compared as parsed JSON below
                assert json.loads(got[k]) == [x.get("stringValue") for x in json.loads(v)]
                continue
            assert got[k] == v, (k, got[k], v)
        assert set(got) == set(want)

"""Replay every recorded Claude Code request over the protocol it was recorded with, through
real sockets into a real DuckDB file, and check that nothing was lost or altered."""

from __future__ import annotations

import json

import duckdb
import pyarrow as pa
import pytest
from google.protobuf import json_format

import recordings
from otelcap.model import to_batches
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


def _expected_text(v: object) -> str:
    """What the model promises for each AnyValue kind (see model/wire.py)."""
    kind = v.WhichOneof("value")  # type: ignore[attr-defined]
    if kind == "bool_value":
        return "true" if v.bool_value else "false"  # type: ignore[attr-defined]
    if kind == "double_value":  # Arrow's shortest round-trip text
        return pa.array([v.double_value], pa.float64()).cast(pa.string())[0].as_py()  # type: ignore[attr-defined]
    if kind == "array_value":
        return json.dumps(
            [json_format.MessageToDict(x).popitem()[1] for x in v.array_value.values],  # type: ignore[attr-defined]
            separators=(",", ":"),
        )
    return str(getattr(v, kind))


def _sent_log_attributes(scenario: str) -> list[dict[str, str]]:
    sent = []
    for req in recordings.load(scenario):
        if req.signal != "logs":
            continue
        for rl in _decoded(req).resource_logs:  # type: ignore[attr-defined]
            for sl in rl.scope_logs:
                for rec in sl.log_records:
                    sent.append({kv.key: _expected_text(kv.value) for kv in rec.attributes})
    return sent


@pytest.mark.parametrize("scenario", ["tools-grpc", "tools-http-json", "pii-http-protobuf"])
def test_model_keeps_every_attribute_value_exactly(scenario: str) -> None:
    """Before sanitization, every log attribute equals what the client sent, as text."""
    stored = []
    for req in recordings.load(scenario):
        if req.signal != "logs":
            continue
        body = req.body if req.protocol != "http-json" else _decoded(req).SerializeToString()  # type: ignore[attr-defined]
        batch = to_batches("logs", body).batches["otel_logs"]
        stored.extend(dict(m) for m in batch.column("LogAttributes").to_pylist())
    assert stored == _sent_log_attributes(scenario)


# Attributes no privacy rule touches: they must arrive in the database exactly as sent.
UNTOUCHED = {
    "session.id", "event.sequence", "event.timestamp", "event.name", "model", "cost_usd",
    "input_tokens", "output_tokens", "duration_ms", "success", "tool_name", "user.id",
    "terminal.type", "decision", "source", "prompt.id",
}  # fmt: skip


@pytest.mark.parametrize("scenario", ["tools-grpc", "tools-http-json", "hooks-http-protobuf"])
def test_values_survive_the_whole_path(scenario: str, server: Service) -> None:
    recordings_sent = _sent_log_attributes(scenario)
    for _ in recordings.replay(
        scenario, f"127.0.0.1:{server.endpoints.grpc_port}", server.endpoints.http_url
    ):
        pass
    db = server.config.database
    server.stop()
    with duckdb.connect(str(db), read_only=True) as con:
        stored = [
            dict(zip(r[0], r[1], strict=True))
            for r in con.execute(
                "SELECT map_keys(LogAttributes), map_values(LogAttributes) FROM otel_logs_full"
            ).fetchall()
        ]

    def key(d: dict[str, str]) -> tuple[str, str, str]:
        return (d.get("session.id", ""), d.get("event.timestamp", ""), d["event.sequence"])

    assert len(stored) == len(recordings_sent)
    for got, want in zip(sorted(stored, key=key), sorted(recordings_sent, key=key), strict=True):
        assert set(got) >= set(want) - {"user.email"}
        for k in UNTOUCHED & set(want):
            assert got[k] == want[k], (k, got[k], want[k])

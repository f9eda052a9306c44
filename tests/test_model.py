"""OTLP → Arrow: every AnyValue kind, every metric point kind, defensive casts, and the
workflow step the model derives from Claude Code's raw prompt."""

from __future__ import annotations

import math

import pyarrow as pa
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from otelcap.model import PromptSteps, schema, to_batches, workflow
from otelcap.service import Service


def _kv(key: str, **value: object) -> KeyValue:
    return KeyValue(key=key, value=AnyValue(**value))  # type: ignore[arg-type]


def _log_request(*records_attrs: list[KeyValue], body: AnyValue | None = None) -> bytes:
    req = ExportLogsServiceRequest()
    rl = req.resource_logs.add()
    rl.resource.attributes.extend([_kv("service.name", string_value="claude-code"),
                                   _kv("service.version", string_value="2.1.99")])  # fmt: skip
    sl = rl.scope_logs.add()
    sl.scope.name = "com.anthropic.claude_code.events"
    for i, attrs in enumerate(records_attrs):
        rec = sl.log_records.add(time_unix_nano=1_000 + i, observed_time_unix_nano=2_000 + i)
        rec.attributes.extend(attrs)
        if body is not None:
            rec.body.CopyFrom(body)
    return req.SerializeToString()


def test_every_anyvalue_kind_becomes_text() -> None:
    arr = AnyValue()
    arr.array_value.values.extend(
        [AnyValue(string_value="a"), AnyValue(int_value=2), AnyValue(double_value=0.5),
         AnyValue(bool_value=False)]
    )  # fmt: skip
    kvl = AnyValue()
    kvl.kvlist_value.values.extend([_kv("x", int_value=1), _kv("y", string_value="z")])
    nested = AnyValue()
    nested.array_value.values.add().kvlist_value.values.extend([_kv("deep", bool_value=True)])
    attrs = [
        _kv("s", string_value="text"),
        _kv("empty", string_value=""),
        _kv("b", bool_value=True),
        _kv("i", int_value=-9_007_199_254_740_993),  # beyond float precision: kept exactly
        _kv("d", double_value=0.0160329),
        _kv("whole", double_value=3.0),
        _kv("bytes", bytes_value=b"\x00\xffhi"),
        KeyValue(key="arr", value=arr),
        KeyValue(key="kv", value=kvl),
        KeyValue(key="nested", value=nested),
        KeyValue(key="unset"),
    ]
    batch = to_batches("logs", _log_request(attrs, body=kvl)).batches["otel_logs"]
    got = dict(batch.column("LogAttributes")[0].as_py())
    assert got == {
        "s": "text",
        "empty": "",
        "b": "true",
        "i": "-9007199254740993",
        "d": "0.0160329",
        "whole": "3",
        "bytes": "AP9oaQ==",
        "arr": '["a",2,0.5,false]',
        "kv": '{"x":1,"y":"z"}',
        "nested": '[{"deep":true}]',
        "unset": "",
    }
    assert batch.column("Body")[0].as_py() == '{"x":1,"y":"z"}'


def test_repeated_keys_keep_the_last_value() -> None:
    attrs = [
        _kv("k", string_value="first"),
        _kv("other", int_value=1),
        _kv("k", string_value="last"),
    ]
    batch = to_batches("logs", _log_request(attrs, [_kv("k", string_value="solo")])).batches
    maps = [dict(m) for m in batch["otel_logs"].column("LogAttributes").to_pylist()]
    assert maps == [{"k": "last", "other": "1"}, {"k": "solo"}]


def test_promoted_columns_cast_defensively() -> None:
    old_style = [  # Claude Code before 2.1.122 sent numbers as strings
        _kv("event.name", string_value="api_request"),
        _kv("event.sequence", string_value="7"),
        _kv("cost_usd", string_value="0.25"),
        _kv("input_tokens", string_value="12"),
        _kv("duration_ms", string_value="not a number"),
        _kv("status_code", string_value="99999999999"),  # does not fit Int32
        _kv("success", string_value="TRUE"),
    ]
    new_style = [
        _kv("event.sequence", int_value=8),
        _kv("cost_usd", double_value=0.5),
        _kv("input_tokens", int_value=13),
        _kv("duration_ms", int_value=420),
        _kv("status_code", int_value=529),
        _kv("success", string_value="maybe"),
    ]
    batch = to_batches(
        "logs", _log_request(old_style, new_style, body=AnyValue(string_value="claude_code.x"))
    ).batches["otel_logs"]
    rows = batch.select(
        ["EventName", "EventSequence", "CostUsd", "InputTokens", "DurationMs", "StatusCode",
         "Success", "AppVersion", "Timestamp"]
    ).to_pylist()  # fmt: skip
    assert rows[0]["EventName"] == "api_request"
    assert rows[1]["EventName"] == "x"  # from the body, prefix stripped
    assert [r["EventSequence"] for r in rows] == [7, 8]
    assert [r["CostUsd"] for r in rows] == [0.25, 0.5]
    assert [r["InputTokens"] for r in rows] == [12, 13]
    assert [r["DurationMs"] for r in rows] == [None, 420.0]
    assert [r["StatusCode"] for r in rows] == [None, 529]
    assert [r["Success"] for r in rows] == [True, None]
    assert [r["AppVersion"] for r in rows] == ["2.1.99", "2.1.99"]
    # the raw value stays in the map
    assert dict(batch.column("LogAttributes")[0].as_py())["duration_ms"] == "not a number"


def test_all_five_metric_kinds() -> None:
    req = ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    rm.resource.attributes.append(_kv("service.name", string_value="svc"))
    sm = rm.scope_metrics.add()
    sm.scope.name = "scope"
    m = sm.metrics.add(name="claude_code.token.usage", unit="tokens")
    m.sum.aggregation_temporality = 1
    m.sum.is_monotonic = True
    p = m.sum.data_points.add(as_int=42, time_unix_nano=5)
    p.attributes.extend([_kv("type", string_value="input"), _kv("model", string_value="m")])
    ex = p.exemplars.add(as_double=1.5, trace_id=b"\x01" * 16, span_id=b"\x02" * 8)
    ex.filtered_attributes.append(_kv("f", string_value="v"))
    g = sm.metrics.add(name="gauge")
    g.gauge.data_points.add(as_double=2.5)
    h = sm.metrics.add(name="hist")
    h.histogram.aggregation_temporality = 2
    h.histogram.data_points.add(count=3, sum=6.0, bucket_counts=[1, 2], explicit_bounds=[1.0],
                                min=1.0, max=3.0)  # fmt: skip
    h.histogram.data_points.add(count=0)  # sum/min/max absent
    e = sm.metrics.add(name="exp")
    ep = e.exponential_histogram.data_points.add(count=4, scale=2, zero_count=1,
                                                 zero_threshold=0.001)  # fmt: skip
    ep.positive.offset = -1
    ep.positive.bucket_counts.extend([1, 2])
    ep.negative.bucket_counts.extend([1])
    s = sm.metrics.add(name="summary")
    sp = s.summary.data_points.add(count=10, sum=100.0)
    sp.quantile_values.add(quantile=0.5, value=9.0)
    sp.quantile_values.add(quantile=0.99, value=20.0)
    sm.metrics.add(name="no-data")

    conv = to_batches("metrics", req.SerializeToString())
    assert set(conv.batches) == {t for t in schema.TABLES if t.startswith("otel_metrics_")}
    s_row = conv.batches["otel_metrics_sum"].to_pylist()[0]
    assert (s_row["Value"], s_row["Type"], s_row["Model"], s_row["IsMonotonic"]) == (
        42.0, "input", "m", True)  # fmt: skip
    assert s_row["AggregationTemporality"] == 1 and s_row["ServiceName"] == "svc"
    assert s_row["Exemplars.Value"] == [1.5]
    assert s_row["Exemplars.TraceId"] == ["01" * 16]
    assert [dict(x) for x in s_row["Exemplars.FilteredAttributes"]] == [{"f": "v"}]
    assert conv.batches["otel_metrics_gauge"].column("Value").to_pylist() == [2.5]
    hist = conv.batches["otel_metrics_histogram"].to_pylist()
    assert (hist[0]["Count"], hist[0]["Sum"], hist[0]["BucketCounts"], hist[0]["Min"]) == (
        3, 6.0, [1, 2], 1.0)  # fmt: skip
    assert (hist[1]["Sum"], hist[1]["Min"], hist[1]["Max"]) == (None, None, None)
    exp = conv.batches["otel_metrics_exponential_histogram"].to_pylist()[0]
    assert (exp["Scale"], exp["ZeroCount"], exp["PositiveOffset"]) == (2, 1, -1)
    assert exp["PositiveBucketCounts"] == [1, 2] and exp["NegativeBucketCounts"] == [1]
    assert math.isclose(exp["ZeroThreshold"], 0.001)
    summ = conv.batches["otel_metrics_summary"].to_pylist()[0]
    assert summ["ValueAtQuantiles.Quantile"] == [0.5, 0.99]
    assert summ["ValueAtQuantiles.Value"] == [9.0, 20.0]
    assert "no data" in conv.tally.reasons[0]


def test_spans_with_events_and_links() -> None:
    req = ExportTraceServiceRequest()
    ss = req.resource_spans.add().scope_spans.add()
    sp = ss.spans.add(trace_id=b"\xab" * 16, span_id=b"\xcd" * 8, name="s", kind=3,
                      start_time_unix_nano=100, end_time_unix_nano=50)  # fmt: skip
    sp.status.code = 2
    sp.status.message = "boom"
    ev = sp.events.add(time_unix_nano=101, name="tool.output")
    ev.attributes.append(_kv("bytes", int_value=3))
    sp.links.add(trace_id=b"\x01" * 16, span_id=b"\x02" * 8, trace_state="a=b", flags=1)
    ss.spans.add(trace_id=b"\xab" * 16, span_id=b"\xce" * 8, name="no-events",
                 start_time_unix_nano=1, end_time_unix_nano=11)  # fmt: skip
    rows = to_batches("traces", req.SerializeToString()).batches["otel_traces"].to_pylist()
    first, second = rows
    assert first["SpanKind"] == "Client" and first["StatusCode"] == "Error"
    assert first["StatusMessage"] == "boom"
    assert first["Duration"] == 0  # end before start: not a wrapped unsigned number
    assert first["Events.Name"] == ["tool.output"]
    assert [dict(m) for m in first["Events.Attributes"]] == [{"bytes": "3"}]
    assert first["Links.TraceId"] == ["01" * 16] and first["Links.TraceState"] == ["a=b"]
    assert first["Links.Flags"] == [1]
    assert second["Duration"] == 10 and second["Events.Name"] == []
    assert second["TraceId"] == "ab" * 16 and second["SpanId"] == "ce" * 8


def test_many_requests_convert_together_with_per_request_tallies() -> None:
    good = ExportTraceServiceRequest()
    spans = good.resource_spans.add().scope_spans.add().spans
    spans.add(trace_id=b"\x01" * 16, span_id=b"\x02" * 8, name="a")
    spans.add(trace_id=b"\x01" * 16, span_id=b"\x03" * 8, name="b")
    mixed = ExportTraceServiceRequest()
    spans = mixed.resource_spans.add().scope_spans.add().spans
    spans.add(trace_id=b"\x01" * 2, span_id=b"\x02" * 8, name="bad")
    spans.add(trace_id=b"\x01" * 16, span_id=b"\x04" * 8, name="c")
    empty = ExportTraceServiceRequest()
    conv = to_batches(
        "traces", [good.SerializeToString(), mixed.SerializeToString(), empty.SerializeToString()]
    )
    assert conv.batches["otel_traces"].column("SpanName").to_pylist() == ["a", "b", "c"]
    assert conv.tally.accepted == [2, 1, 0]
    assert conv.tally.rejected == [0, 1, 0]
    assert conv.tally.reasons[0] == "" and "trace_id" in conv.tally.reasons[1]


# -- the workflow step (Claude Code enrichment) -----------------------------------------------


def _prompt_event(name: str, prompt_id: str, **attrs: str) -> list[KeyValue]:
    values = {"event.name": name, "prompt.id": prompt_id, **attrs}
    return [_kv(k, string_value=v) for k, v in values.items()]


def _steps(conv: object) -> list[str]:
    return conv.batches["otel_logs"].column("WorkflowStep").to_pylist()  # type: ignore[attr-defined]


def test_workflow_step_is_read_from_the_raw_prompt_and_kept_for_later_requests() -> None:
    """The turn's first event names the step; its later events arrive in later requests."""
    steps = PromptSteps()
    first = _log_request(
        _prompt_event("user_prompt", "p1", prompt="/review the diff"),
        _prompt_event("user_prompt", "p2", prompt="<REDACTED>", command_name="commit"),
        _prompt_event("user_prompt", "p3", prompt="/home/dev is full"),
        _prompt_event("api_request", "p1"),
    )
    assert _steps(to_batches("logs", first, steps)) == ["/review", "/commit", "", "/review"]
    later = _log_request(_prompt_event("tool_result", "p2"), _prompt_event("tool_result", "p9"))
    assert _steps(to_batches("logs", later, steps)) == ["/commit", ""]
    # Without a PromptSteps only the request itself is looked at.
    assert _steps(to_batches("logs", later)) == ["", ""]


@pytest.mark.parametrize("python_side", [True, False], ids=["compiled-once", "arrow-kernel"])
def test_the_slash_word_is_read_alike_on_both_paths(
    python_side: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch's few prompts are matched from Python (the pattern compiled once), many by
    Arrow's kernel: the same RE2 pattern, so the same words, edge cases included."""
    prompts = [
        "/review the diff", "  /commit", "\t/fix:lint now", "/a.b-c_d\n", "/x", None, "",
        "/home/dev is full", "/ünï x", "/_x", "\v/x y", "/x\vy", "/" + "w" * 64,
        "/" + "w" * 65, "hello /review", "/review\u00a0x",
    ]  # fmt: skip
    expected = [
        "review", "commit", "fix:lint", "a.b-c_d", "x", None, None, None, None, None, None,
        None, "w" * 64, None, None, None,
    ]  # fmt: skip
    if not python_side:
        monkeypatch.setattr(workflow, "_PY_MATCH_MAX", 0)
    assert workflow._slash_words(pa.array(prompts, pa.string())).to_pylist() == expected


def test_prompt_steps_forget_the_oldest_prompts_and_can_be_shared_by_threads() -> None:
    import threading

    steps = PromptSteps(memory=300)
    errors: list[BaseException] = []

    def convert(worker: int) -> None:
        try:
            for i in range(50):
                pid = f"w{worker}-{i}"
                req = _log_request(_prompt_event("user_prompt", pid, command_name=f"c{worker}"))
                assert _steps(to_batches("logs", req, steps)) == [f"/c{worker}"]
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=convert, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    ids = [f"w{w}-{i}" for w in range(4) for i in range(50)]
    later = _log_request(*(_prompt_event("tool_result", pid) for pid in ids))
    got = dict(zip(ids, _steps(to_batches("logs", later, steps)), strict=True))
    assert got == {pid: f"/c{pid[1]}" for pid in ids}  # 200 turns: every one remembered
    more = _log_request(*(_prompt_event("user_prompt", f"new-{i}", command_name="x")
                          for i in range(250)))  # fmt: skip
    to_batches("logs", more, steps)
    kept = _steps(to_batches("logs", later, steps))
    assert kept.count("") == 150  # 300 remembered: the 250 new ones and the latest 50 others


def test_a_running_server_keeps_the_step_for_a_turns_later_requests(server: Service) -> None:
    """Through the receiver and the ingest path: the step comes from the raw prompt of the
    first request, reaches the events of the second, and the prompt is stored hashed."""
    import urllib.request

    import duckdb

    for body in (
        _log_request(_prompt_event("user_prompt", "p1", prompt="/review the diff")),
        _log_request(_prompt_event("api_request", "p1"), _prompt_event("api_request", "p2")),
    ):
        req = urllib.request.Request(
            f"{server.endpoints.http_url}/v1/logs",
            data=body,
            headers={"Content-Type": "application/x-protobuf"},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:  # answered after the commit
            assert resp.status == 200
    db = server.config.database
    server.stop()
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "SELECT EventName, PromptId, WorkflowStep, LogAttributes['prompt'] FROM otel_logs "
            "ORDER BY EventName DESC, PromptId"
        ).fetchall()
    assert [r[:3] for r in rows] == [
        ("user_prompt", "p1", "/review"),
        ("api_request", "p1", "/review"),
        ("api_request", "p2", ""),
    ]
    assert rows[0][3].startswith("hmac-sha256:") and "/review" not in rows[0][3]


def _named_request(records: list[tuple[str, list[KeyValue], str]]) -> bytes:
    """Records of (LogRecord event_name, attributes, body text)."""
    req = ExportLogsServiceRequest()
    rl = req.resource_logs.add()
    rl.resource.attributes.extend([_kv("service.version", string_value="2.1.99")])
    sl = rl.scope_logs.add()
    for i, (event_name, attrs, body) in enumerate(records):
        rec = sl.log_records.add(time_unix_nano=1_000 + i, event_name=event_name)
        rec.attributes.extend(attrs)
        rec.body.string_value = body
    return req.SerializeToString()


def test_event_name_and_app_version_come_from_the_first_place_that_has_them() -> None:
    """EventName: the record's field, else event.name, else the body without claude_code.;
    AppVersion: app.version, else the resource's service.version. Each batch below takes
    another path through model/claude.py (every record alike, or a mix)."""
    ev = _kv("event.name", string_value="tool_result")
    app = _kv("app.version", string_value="2.2.0")
    cases = [
        # Claude Code's own shape: event.name on every record, no field, no app.version
        ([("", [ev], "claude_code.tool_result")] * 2, ["tool_result"] * 2, ["2.1.99"] * 2),
        # the field on every record, app.version on every record
        ([("api_request", [ev, app], "x")] * 2, ["api_request"] * 2, ["2.2.0"] * 2),
        # a mix: field, attribute, body with and without the prefix, nothing at all
        (
            [
                ("user_prompt", [app], "claude_code.other"),
                ("", [ev], "claude_code.other"),
                ("", [], "claude_code.api_error"),
                ("", [app], "free text"),
                ("", [_kv("event.name", string_value="")], "claude_code.x"),
            ],
            ["user_prompt", "tool_result", "api_error", "", ""],
            ["2.2.0", "2.1.99", "2.1.99", "2.2.0", "2.1.99"],
        ),
    ]
    for records, names, versions in cases:
        batch = to_batches("logs", [_named_request(records)]).batches["otel_logs"]
        assert batch.column("EventName").to_pylist() == names
        assert batch.column("AppVersion").to_pylist() == versions

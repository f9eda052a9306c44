"""The sanitizer on Arrow batches: field rules and their settings, every kind of string
column, the keyed hash and its key file, the workflow step read before the prompt is hashed,
and `describe_rules`."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import stat
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from otelcap import config as config_mod
from otelcap.errors import ConfigError
from otelcap.model import PromptSteps
from otelcap.model.schema import LOGS, METRICS_SUM, TABLES, TRACES
from otelcap.sanitize import Sanitizer, describe_rules, render_rules
from otelcap.sanitize.keyed import KEY_FILE, KeyedHash, load_or_create_key
from otelcap.sanitize.rules import FIELD_RULES, PATTERN_RULES

EMAIL = "jane.doe@example.com"
KEY = "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
HASHED = r"hmac-sha256:[0-9a-f]{64}:\d+"


def _config(tmp_path: Path, **values: Any) -> config_mod.Config:
    values.setdefault("data_dir", tmp_path / "data")
    return config_mod.load(values, env={}, config_file=tmp_path / "absent.toml")


def _sanitizer(tmp_path: Path, **values: Any) -> Sanitizer:
    return Sanitizer(_config(tmp_path, **values))


def _logs(*records: dict[str, str], **columns: list[Any]) -> pa.RecordBatch:
    rows: list[dict[str, Any]] = []
    for i, attrs in enumerate(records):
        row: dict[str, Any] = {"LogAttributes": list(attrs.items())}
        row["ResourceAttributes"] = [("service.name", "claude-code")]
        row["ScopeAttributes"] = []
        row["PromptId"] = attrs.get("prompt.id", "")
        row["Body"] = "claude_code." + attrs.get("event.name", "x")
        row.update({name: values[i] for name, values in columns.items()})
        rows.append(row)
    return pa.RecordBatch.from_pylist(rows, schema=LOGS)


def _attrs(batch: pa.RecordBatch, column: str = "LogAttributes") -> list[dict[str, str]]:
    return [dict(m) for m in batch.column(column).to_pylist()]


def _hash(s: Sanitizer, text: str) -> str:
    return s.hash(text)


# -- field rules -----------------------------------------------------------------------------


def test_prompts_content_and_identity_are_hashed_by_default(tmp_path: Path) -> None:
    s = _sanitizer(tmp_path)
    prompt = f"mail {EMAIL} the key {KEY}"
    first = {
        "event.name": "user_prompt",
        "prompt": prompt,
        "prompt_text": prompt,
        "prompt_length": str(len(prompt)),
        "user.email": EMAIL,
        "session.id": "s-1",
    }
    second = {
        "event.name": "tool_result",
        "tool_input": '{"content":"x"}',
        "tool_parameters": "{}",
        "full_command": "echo hi",
        "body": "{...}",
        "response": "ok",
        "user.account_uuid": "u-1",
        "organization.id": "o-1",
    }
    out = _attrs(s.sanitize({"otel_logs": _logs(first, second)})["otel_logs"])
    assert out[0]["prompt"] == out[0]["prompt_text"] == _hash(s, prompt)
    assert re.fullmatch(HASHED, out[0]["prompt"])
    assert out[0]["prompt"].endswith(f":{len(prompt)}")
    assert out[0]["prompt_length"] == str(len(prompt))
    assert out[0]["user.email"] == _hash(s, EMAIL)
    assert out[0]["session.id"] == "s-1"
    assert out[1] == {k: v if k == "event.name" else _hash(s, v) for k, v in second.items()}


def test_hash_format_is_keyed_hmac_sha256_with_the_length(tmp_path: Path) -> None:
    s = _sanitizer(tmp_path)
    key = load_or_create_key(tmp_path / "data")
    text = "héllo wörld"
    want = hmac.new(key, text.encode(), hashlib.sha256).hexdigest()
    assert s.hash(text) == f"hmac-sha256:{want}:{len(text)}"
    assert KeyedHash(b"k" * 100)("x") == (
        "hmac-sha256:" + hmac.new(b"k" * 100, b"x", hashlib.sha256).hexdigest() + ":1"
    )


def test_client_placeholders_empty_values_and_nulls_are_left_alone(tmp_path: Path) -> None:
    s = _sanitizer(tmp_path)
    batch = _logs({"prompt": "<REDACTED>", "response": "", "user.email": "x"})
    out = _attrs(s.sanitize({"otel_logs": batch})["otel_logs"])[0]
    assert out["prompt"] == "<REDACTED>"
    assert out["response"] == ""
    # A promoted identity column with nulls (not applicable) keeps them.
    nulls = _logs({"a": "b"}, UserAccountUuid=[None])
    got = s.sanitize({"otel_logs": nulls})["otel_logs"].column("UserAccountUuid")
    assert got.to_pylist() == [None]


@pytest.mark.parametrize(
    ("settings", "prompt", "tool_input", "email"),
    [
        ({"privacy_prompts": "drop"}, "<dropped>", "hash", "hash"),
        ({"privacy_prompts": "redact"}, "call <email> now", "hash", "hash"),
        ({"privacy_content": "drop"}, "hash", "<dropped>", "hash"),
        ({"privacy_content": "redact"}, "hash", '{"to":"<email>"}', "hash"),
        ({"privacy_keep_identity": "user.email, organization.id"}, "hash", "hash", EMAIL),
    ],
)
def test_actions_come_from_the_configuration(
    tmp_path: Path, settings: dict[str, str], prompt: str, tool_input: str, email: str
) -> None:
    s = _sanitizer(tmp_path, **settings)
    sent = {"prompt": f"call {EMAIL} now", "tool_input": f'{{"to":"{EMAIL}"}}', "user.email": EMAIL}
    out = _attrs(s.sanitize({"otel_logs": _logs(sent)})["otel_logs"])[0]
    for key, want in (("prompt", prompt), ("tool_input", tool_input), ("user.email", email)):
        assert out[key] == (_hash(s, sent[key]) if want == "hash" else want), key


def test_bad_privacy_settings_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="privacy_content"):
        _sanitizer(tmp_path, privacy_content="encrypt")
    with pytest.raises(ConfigError, match="privacy_keep_identity"):
        _sanitizer(tmp_path, privacy_keep_identity="user.email,prompt")


def test_privacy_settings_from_environment_and_config_file(tmp_path: Path) -> None:
    env = {"OTELCAP_PRIVACY_CONTENT": "drop", "OTELCAP_DATA_DIR": str(tmp_path)}
    cfg = config_mod.load(env=env, config_file=tmp_path / "absent.toml")
    assert cfg.privacy_content == "drop"
    file = tmp_path / "config.toml"
    file.write_text(
        '[serve]\ngrpc_port = 0\n[privacy]\nprompts = "redact"\n'
        'keep_identity = ["user.email", "organization.id"]\n'
    )
    cfg = config_mod.load(env={}, config_file=file)
    assert (cfg.privacy_prompts, cfg.privacy_keep_identity) == (
        "redact",
        "user.email,organization.id",
    )
    file.write_text('[privacy]\nprompt = "hash"\n')
    with pytest.raises(ConfigError, match="unknown \\[privacy\\] keys prompt"):
        config_mod.load(env={}, config_file=file)


# -- every kind of string column ---------------------------------------------------------------


def test_every_string_column_and_map_of_a_log_batch(tmp_path: Path) -> None:
    s = _sanitizer(tmp_path)
    batch = _logs(
        {"error": f"send to {EMAIL} failed", "user.id": "eb2b6c0d061bbd5caa545b6d1184a1887b"},
        Body=[f"body {EMAIL}"],
        Error=[f"send to {EMAIL} failed"],
        ResourceAttributes=[[("owner", EMAIL), ("service.name", "claude-code")]],
        ScopeAttributes=[[("token", "password=hunter22")]],
        SeverityText=[f"INFO {KEY}"],
        TraceId=["0af7651916cd43dd8448eb211c80319c"],
    )
    out = s.sanitize({"otel_logs": batch})["otel_logs"].to_pylist()[0]
    assert out["Body"] == "body <email>"
    assert out["Error"] == dict(out["LogAttributes"])["error"] == "send to <email> failed"
    assert dict(out["ResourceAttributes"]) == {"owner": "<email>", "service.name": "claude-code"}
    assert dict(out["ScopeAttributes"]) == {"token": "password=<secret:assignment>"}
    assert out["SeverityText"] == "INFO <secret:anthropic>"
    assert out["TraceId"] == "0af7651916cd43dd8448eb211c80319c"
    assert dict(out["LogAttributes"])["user.id"] == "eb2b6c0d061bbd5caa545b6d1184a1887b"


def _span(**columns: Any) -> pa.RecordBatch:
    row: dict[str, Any] = {"SpanAttributes": [], "ResourceAttributes": [], "ScopeAttributes": []}
    row.update(columns)
    return pa.RecordBatch.from_pylist([row], schema=TRACES)


def test_span_attributes_events_and_links(tmp_path: Path) -> None:
    s = _sanitizer(tmp_path)
    prompt = f"write {EMAIL}"
    batch = _span(
        SpanName="claude_code.tool",
        StatusMessage=f"failed for {EMAIL}",
        SpanAttributes=[("user_prompt", prompt), ("full_command", "echo x"),
                        ("bash_argv0", "echo"), ("file_path", "/tmp/a.txt")],
        **{
            "Events.Name": ["tool.output", "gen_ai.request.attempt", f"note {EMAIL}"],
            "Events.Attributes": [
                [("output", f"hi {EMAIL}"), ("file_path", "/tmp/a.txt")],
                [("attempt", "1")],
                [("detail", f"to {EMAIL}")],
            ],
            "Links.Attributes": [[("why", f"by {EMAIL}")]],
            "Links.TraceState": [f"k={EMAIL}"],
        },
    )  # fmt: skip
    out = s.sanitize({"otel_traces": batch})["otel_traces"].to_pylist()[0]
    attrs = dict(out["SpanAttributes"])
    assert attrs["user_prompt"] == _hash(s, prompt)
    assert attrs["full_command"] == _hash(s, "echo x")
    assert attrs["bash_argv0"] == "echo"
    assert attrs["file_path"] == "/tmp/a.txt"
    assert out["StatusMessage"] == "failed for <email>"
    assert out["Events.Name"] == ["tool.output", "gen_ai.request.attempt", "note <email>"]
    tool_output, attempt, note = (dict(m) for m in out["Events.Attributes"])
    assert tool_output == {"output": _hash(s, f"hi {EMAIL}"), "file_path": _hash(s, "/tmp/a.txt")}
    assert attempt == {"attempt": "1"}
    assert note == {"detail": "to <email>"}
    assert [dict(m) for m in out["Links.Attributes"]] == [{"why": "by <email>"}]
    assert out["Links.TraceState"] == ["k=<email>"]


def test_metric_point_attributes_exemplars_and_promoted_columns(tmp_path: Path) -> None:
    s = _sanitizer(tmp_path)
    row = {
        "ResourceAttributes": [("host", "h")],
        "ScopeAttributes": [],
        "Attributes": [("user.email", EMAIL), ("model", "claude-sonnet-4-5-20250929"),
                       ("type", f"{EMAIL}")],
        "Exemplars.FilteredAttributes": [[("who", EMAIL)]],
        "MetricName": "claude_code.cost.usage",
        "Model": "claude-sonnet-4-5-20250929",
        "Type": EMAIL,
    }  # fmt: skip
    batch = pa.RecordBatch.from_pylist([row], schema=METRICS_SUM)
    out = s.sanitize({"otel_metrics_sum": batch})["otel_metrics_sum"].to_pylist()[0]
    attrs = dict(out["Attributes"])
    assert attrs == {"user.email": _hash(s, EMAIL), "model": "claude-sonnet-4-5-20250929",
                     "type": "<email>"}  # fmt: skip
    assert out["Type"] == attrs["type"]
    assert [dict(m) for m in out["Exemplars.FilteredAttributes"]] == [{"who": "<email>"}]
    assert out["MetricName"] == "claude_code.cost.usage"


def test_promoted_identity_columns_get_their_attributes_rule(tmp_path: Path) -> None:
    s = _sanitizer(tmp_path)
    batch = _logs({"user.account_uuid": "acc-1"}, UserAccountUuid=["acc-1"])
    out = s.sanitize({"otel_logs": batch})["otel_logs"].to_pylist()[0]
    assert out["UserAccountUuid"] == dict(out["LogAttributes"])["user.account_uuid"]
    assert out["UserAccountUuid"] == _hash(s, "acc-1")


def test_attribute_names_that_match_a_rule_are_hashed_and_stay_unique(tmp_path: Path) -> None:
    s = _sanitizer(tmp_path)
    batch = _logs({"a@example.com": "1", "b@example.com": "2", "plain": "3"})
    out = _attrs(s.sanitize({"otel_logs": batch})["otel_logs"])[0]
    assert out == {_hash(s, "a@example.com"): "1", _hash(s, "b@example.com"): "2", "plain": "3"}


def test_sliced_batches_and_null_maps_keep_their_shape(tmp_path: Path) -> None:
    s = _sanitizer(tmp_path)
    batch = _logs(
        {"n": "0"}, {"mail": EMAIL, "prompt": "p1"}, {"n": "2"}, {"mail": EMAIL, "prompt": "p3"}
    )
    sliced = batch.slice(1, 3)
    out = s.sanitize({"otel_logs": sliced})["otel_logs"]
    out.validate(full=True)
    assert _attrs(out) == [
        {"mail": "<email>", "prompt": _hash(s, "p1")},
        {"n": "2"},
        {"mail": "<email>", "prompt": _hash(s, "p3")},
    ]
    head = s.sanitize({"otel_logs": batch.slice(0, 2)})["otel_logs"]
    head.validate(full=True)
    assert _attrs(head) == [{"n": "0"}, {"mail": "<email>", "prompt": _hash(s, "p1")}]
    spans = pa.RecordBatch.from_pylist(
        [{"Events.Name": ["tool.output"], "Events.Attributes": [[("output", f"o{i}")]]}
         for i in range(3)],
        schema=TRACES,
    )  # fmt: skip
    for part in (spans.slice(0, 2), spans.slice(1, 2)):
        got = s.sanitize({"otel_traces": part})["otel_traces"].column("Events.Attributes")
        assert got.to_pylist() == [[[("output", _hash(s, o[0][0][1]))]] for o in
                                   part.column("Events.Attributes").to_pylist()]  # fmt: skip
    with_null = pa.RecordBatch.from_pylist(
        [{"SpanAttributes": None, "Events.Attributes": None}, {"SpanAttributes": [("e", EMAIL)]}],
        schema=TRACES,
    )
    got = s.sanitize({"otel_traces": with_null})["otel_traces"]
    got.validate(full=True)
    assert got.column("SpanAttributes").to_pylist() == [None, [("e", "<email>")]]
    assert got.column("Events.Attributes").to_pylist()[0] is None


def test_a_batch_without_strings_to_change_comes_back_equal(tmp_path: Path) -> None:
    s = _sanitizer(tmp_path)
    batch = _logs({"event.name": "api_request", "model": "claude-sonnet-4-5-20250929"})
    batch = batch.set_column(
        batch.schema.get_field_index("WorkflowStep"), "WorkflowStep", pa.array([""])
    )
    assert s.sanitize({"otel_logs": batch})["otel_logs"].equals(batch)
    assert s.sanitize({}) == {}


# -- the key ------------------------------------------------------------------------------


def test_key_file_is_private_stable_and_per_installation(tmp_path: Path) -> None:
    a = _sanitizer(tmp_path, data_dir=tmp_path / "one")
    key_file = tmp_path / "one" / KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "one").stat().st_mode) == 0o700
    again = _sanitizer(tmp_path, data_dir=tmp_path / "one")
    other = _sanitizer(tmp_path, data_dir=tmp_path / "two")
    assert a.hash("same prompt") == again.hash("same prompt")
    assert a.hash("same prompt") != other.hash("same prompt")


def test_a_damaged_key_is_a_clear_error_and_loose_permissions_are_fixed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _sanitizer(tmp_path)
    key_file = data / KEY_FILE
    key_file.chmod(0o644)
    _sanitizer(tmp_path)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key_file.write_text("not hex\n")
    with pytest.raises(ConfigError, match="damaged"):
        _sanitizer(tmp_path)


# -- workflow step --------------------------------------------------------------------------


def test_workflow_step_from_command_name_or_a_leading_slash_word(tmp_path: Path) -> None:
    """The model reads the step from the raw prompt (PromptSteps), then the sanitizer hashes
    the prompt: the order of the ingest path."""
    s = _sanitizer(tmp_path)
    steps = PromptSteps()
    batch = _logs(
        {"event.name": "user_prompt", "prompt.id": "p1", "prompt": "/review the diff"},
        {"event.name": "user_prompt", "prompt.id": "p2", "prompt": "x", "command_name": "commit"},
        {"event.name": "user_prompt", "prompt.id": "p3", "prompt": "/home/dev is full"},
        {"event.name": "user_prompt", "prompt.id": "p4", "prompt": "<REDACTED>",
         "command_name": "/plugin:deploy"},
        {"event.name": "api_request", "prompt.id": "p1"},
        {"event.name": "api_request", "prompt.id": ""},
    )  # fmt: skip
    out = s.sanitize({"otel_logs": steps.fill(batch)})["otel_logs"]
    assert out.column("WorkflowStep").to_pylist() == [
        "/review", "/commit", "", "/plugin:deploy", "/review", ""
    ]  # fmt: skip
    assert _attrs(out)[0]["prompt"] == _hash(s, "/review the diff")
    # A later request carries the rest of the prompt's events.
    later = _logs({"event.name": "tool_result", "prompt.id": "p2"}, {"prompt.id": "p9"})
    filled = steps.fill(later)
    assert s.sanitize({"otel_logs": filled})["otel_logs"].column("WorkflowStep").to_pylist() == [
        "/commit",
        "",
    ]


def test_the_sanitizer_derives_no_column(tmp_path: Path) -> None:
    """A pure policy: WorkflowStep is the model's; the sanitizer leaves it as it arrives,
    and still applies the pattern rules to it like to any string."""
    s = _sanitizer(tmp_path)
    batch = _logs(
        {"event.name": "user_prompt", "prompt.id": "p1", "prompt": "/review the diff"},
        {"event.name": "user_prompt", "prompt.id": "p2", "command_name": "commit"},
        {"event.name": "api_request", "prompt.id": "p2"},
        WorkflowStep=["", "/commit", f"/{EMAIL}"],
    )
    out = s.sanitize({"otel_logs": batch})["otel_logs"]
    assert out.column("WorkflowStep").to_pylist() == ["", "/commit", "/<email>"]
    assert _attrs(out)[0]["prompt"] == _hash(s, "/review the diff")


# -- describe_rules ---------------------------------------------------------------------------


def test_describe_rules_lists_every_rule_with_the_configured_action(tmp_path: Path) -> None:
    rows = describe_rules(
        _config(tmp_path, privacy_content="drop", privacy_keep_identity="user.email")
    )
    json.dumps(rows)
    names = [r["rule"] for r in rows]
    assert names == [r.name for r in FIELD_RULES] + [r.name for r in PATTERN_RULES]
    by_name = {r["rule"]: r for r in rows}
    assert by_name["prompt-text"]["action"] == "hash"
    assert by_name["tool-content"]["action"] == by_name["tool-output"]["action"] == "drop"
    assert by_name["user-email"]["action"] == "keep"
    assert by_name["account-uuid"]["action"] == "hash"
    assert by_name["email"]["replacement"] == "<email>"
    text = render_rules(rows)
    assert all(name in text for name in names)
    assert describe_rules(None)[0]["action"] == "hash"


def test_every_column_of_every_table_is_handled_and_unknown_text_shapes_fail_closed() -> None:
    s = Sanitizer(None)  # an in-memory key
    for table, schema in TABLES.items():
        batch = pa.RecordBatch.from_pylist([{}], schema=schema)
        out = s.sanitize({table: batch})[table]
        changed = [f.name for f in schema if not out.column(f.name).equals(batch.column(f.name))]
        assert changed == [], table  # WorkflowStep is the model's to fill (PromptSteps)
    odd = pa.RecordBatch.from_pylist(
        [{"x": {"a": EMAIL}}], schema=pa.schema([("x", pa.struct([("a", pa.string())]))])
    )
    with pytest.raises(TypeError, match="cannot handle column 'x'"):
        s.sanitize({"t": odd})


def _email_everywhere(schema: pa.Schema) -> dict[str, object]:
    """A row with EMAIL in every string, map value and list item of the schema."""
    row: dict[str, object] = {}
    for f in schema:
        t = f.type
        if pa.types.is_string(t):
            row[f.name] = EMAIL
        elif pa.types.is_map(t):
            row[f.name] = [("k", EMAIL)]
        elif pa.types.is_list(t) and pa.types.is_string(t.value_type):
            row[f.name] = [EMAIL]
        elif pa.types.is_list(t) and pa.types.is_map(t.value_type):
            row[f.name] = [[("k", EMAIL)]]
    return row


def test_no_text_column_of_any_table_is_skipped() -> None:
    """With an email in every text slot, none survives outside the hex id columns (which the
    model builds from bytes, so they cannot carry text)."""
    from otelcap.sanitize.sanitizer import _BINARY_IDS

    s = Sanitizer(None)
    for table, schema in TABLES.items():
        batch = pa.RecordBatch.from_pylist([_email_everywhere(schema)], schema=schema)
        out = s.sanitize({table: batch})[table]
        leaked = [
            f.name
            for f in schema
            if f.name not in _BINARY_IDS and EMAIL in str(out.column(f.name).to_pylist())
        ]
        assert leaked == [], table
        filled = [f.name for f in schema if EMAIL in str(batch.column(f.name).to_pylist())]
        assert len(filled) > 10, table  # the row really carried the email everywhere

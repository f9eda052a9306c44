"""Proof of privacy by default: the recorded `pii` session, replayed over each protocol
through a real `otelcap serve` into DuckDB, leaves none of the planted personal data or
secrets, nor any 8-character piece of them, anywhere: not in any column, not in the bytes of
the database file or its WAL."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

import recordings
from otelcap.service import Service

# Planted in the prompt of the pii recordings (see their run.json); Claude Code then copied
# them into prompt_text, response, tool inputs, shell commands, tool output and API bodies.
PLANTED = [
    "jane.doe@example.com",
    "+1 (415) 555-0134",
    "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"
    "AbCdEfGhIjKlMnOpQrStUvWxYz01-2345678AA",
    "AKIAIOSFODNN7EXAMPLE",
]
# Every piece of 8 characters: any longer piece contains one of these.
PIECES = sorted({s[i : i + 8] for s in PLANTED for i in range(len(s) - 7)})
PII = ["pii-grpc", "pii-http-json", "pii-http-protobuf"]


def _prompt(scenario: str) -> str:
    run = json.loads((recordings.ROOT / scenario / "run.json").read_text())
    return str(run["argv"][run["argv"].index("-p") + 1])


def _replay(scenario: str, svc: Service) -> None:
    for _ in recordings.replay(
        scenario, f"127.0.0.1:{svc.endpoints.grpc_port}", svc.endpoints.http_url
    ):
        pass


def _leaks(text: str) -> list[str]:
    return [p for p in PIECES if p in text]


def _file_bytes(db: Path) -> dict[str, bytes]:
    files = [db, *db.parent.glob(db.name + "*.wal"), *db.parent.glob("*.wal")]
    return {str(f): f.read_bytes() for f in dict.fromkeys(files) if f.exists()}


def _all_text_columns(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Every VARCHAR, MAP and LIST column of every table, as text (keys and values)."""
    cols = con.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE data_type LIKE '%VARCHAR%' OR data_type LIKE 'MAP%' OR data_type LIKE '%[]'"
    ).fetchall()
    assert len(cols) > 50, cols
    out = {}
    for table, column, _type in cols:
        rows = con.execute(
            f'SELECT string_agg(CAST("{column}" AS VARCHAR), chr(10)) FROM "{table}"'
        ).fetchone()
        out[f"{table}.{column}"] = (rows[0] if rows else None) or ""
    return out


@pytest.mark.parametrize("scenario", PII)
def test_no_planted_data_reaches_the_database(scenario: str, server: Service) -> None:
    prompt = _prompt(scenario)
    assert all(p in prompt for p in PLANTED)  # the recording still plants what we look for
    _replay(scenario, server)
    db = server.config.database
    while_running = _file_bytes(db)  # the WAL holds the freshly committed rows
    server.stop()
    with duckdb.connect(str(db), read_only=True) as con:
        texts = _all_text_columns(con)
        stored_rows = con.execute("SELECT count(*) FROM otel_logs").fetchone()
        prompts = con.execute(
            "SELECT LogAttributes['prompt'], WorkflowStep FROM otel_logs "
            "WHERE EventName = 'user_prompt'"
        ).fetchall()
    assert stored_rows is not None and stored_rows[0] == 19
    assert {name: _leaks(text) for name, text in texts.items() if _leaks(text)} == {}
    # The data is there, only sanitized: the prompt as a keyed hash with its length.
    assert [
        (p.startswith("hmac-sha256:"), p.endswith(f":{len(prompt)}"), s) for p, s in prompts
    ] == [(True, True, "")]
    assert "claude-sonnet-4-5-20250929" in texts["otel_logs.Model"]
    for name, data in {**while_running, **_file_bytes(db)}.items():
        found = [p for p in PIECES if p.encode() in data]
        assert found == [], name


def _prompt_hashes(svc: Service) -> set[str]:
    db = svc.config.database
    svc.stop()
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "SELECT LogAttributes['prompt'] FROM otel_logs WHERE EventName = 'user_prompt' "
            "UNION ALL SELECT SpanAttributes['user_prompt'] FROM otel_traces "
            "WHERE SpanName = 'claude_code.interaction'"
        ).fetchall()
    return {r[0] for r in rows}


def test_prompt_hashes_are_stable_across_restarts_and_differ_between_installations(
    server_factory: Callable[..., Service], tmp_path: Path
) -> None:
    first = server_factory()
    _replay("pii-grpc", first)
    before = _prompt_hashes(first)
    assert len(before) == 1  # prompt, prompt_text and the span's user_prompt group together

    restarted = server_factory()  # same data directory, same key, same database
    _replay("pii-http-json", restarted)
    assert _prompt_hashes(restarted) == before

    elsewhere = server_factory(data_dir=tmp_path / "another-installation")
    _replay("pii-grpc", elsewhere)
    other = _prompt_hashes(elsewhere)
    assert len(other) == 1 and other != before

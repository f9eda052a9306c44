"""`otelcap serve --log-format json`: one JSON object per line, and no secret (the query
token, a configured password) in any line, whoever logs it."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from otelcap import config, logfmt

PASSWORD = "pw-Zq8!hunter2-not-in-logs"


@pytest.fixture
def root_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_json_lines_mask_registered_secrets_and_secret_patterns(
    tmp_path: Path, root_logging: None
) -> None:
    stream = io.StringIO()
    logfmt.setup("debug", "json", stream=stream)
    cfg = config.load(
        {"clickhouse_password": PASSWORD}, env={}, config_file=tmp_path / "absent.toml"
    )
    logfmt.add_secrets_of(cfg)
    token = "tok-" + "x" * 40
    logfmt.add_secret(token)

    log = logging.getLogger("otelcap.test")
    log.info("token is %s", token)
    log.debug("connecting to http://writer:%s@ch.example.com:8443/otel", "s3cret-in-url")
    log.warning("header Authorization: Bearer %s", "abc.def.ghi")
    try:
        raise RuntimeError(f"login failed with {PASSWORD}")
    except RuntimeError:
        log.exception("the store refused 3 requests")

    lines = stream.getvalue().splitlines()
    assert len(lines) == 4
    records = [json.loads(line) for line in lines]
    for r in records:
        assert set(r) <= {"time", "level", "logger", "message", "exception"}
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", r["time"])
        assert r["logger"] == "otelcap.test"
    assert [r["level"] for r in records] == ["info", "debug", "warning", "error"]
    assert records[0]["message"] == "token is ***"
    assert records[1]["message"] == "connecting to http://writer:***@ch.example.com:8443/otel"
    assert records[2]["message"] == "header Authorization: Bearer ***"
    assert "RuntimeError: login failed with ***" in records[3]["exception"]
    text = stream.getvalue()
    for secret in (token, PASSWORD, "s3cret-in-url", "abc.def.ghi"):
        assert secret not in text


def test_text_format_masks_too(root_logging: None) -> None:
    stream = io.StringIO()
    logfmt.setup("info", "text", stream=stream)
    logfmt.add_secret("another-secret-value")
    logging.getLogger("otelcap").info("value another-secret-value here")
    assert stream.getvalue().rstrip().endswith("INFO otelcap: value *** here")


ANTHROPIC_KEY = "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWx-Yz01"


def test_request_lines_and_every_level_get_the_sanitizers_masks(
    server_factory: Any, root_logging: None
) -> None:
    """At debug level the HTTP receiver logs each request line; a key in the query string or
    an email in the path (plain or percent-encoded) must reach the log as a placeholder."""
    stream = io.StringIO()
    logfmt.setup("debug", "text", stream=stream)
    svc = server_factory()
    base = f"http://127.0.0.1:{svc.endpoints.http_port}"
    _get(f"{base}/healthz?key={ANTHROPIC_KEY}")
    _get(f"{base}/v1/users/jane.doe@example.com/logs")
    _get(f"{base}/v1/users/john%40example.org?phone=%2B1%20(415)%20555-0134")
    logging.getLogger("otelcap.test").warning("retrying for jane.doe@example.com")
    text = stream.getvalue()
    for secret in (ANTHROPIC_KEY, "jane.doe@example.com", "john", "555-0134"):
        assert secret not in text, text
    assert "/healthz?key=<secret:anthropic>" in text
    assert "/v1/users/<email>/logs" in text
    assert "/v1/users/<email>?phone=<phone>" in text
    assert "WARNING otelcap.test: retrying for <email>" in text


def test_bad_log_format_or_level_is_a_usage_error(tmp_path: Path) -> None:
    env = {**os.environ, "OTELCAP_DATA_DIR": str(tmp_path), "OTELCAP_CONFIG": "/nonexistent"}
    for flag in (["--log-format", "xml"], ["--log-level", "loud"]):
        proc = subprocess.run(
            [sys.executable, "-m", "otelcap.cli", "serve", "--grpc-port", "0",
             "--http-port", "0", *flag],
            capture_output=True, text=True, env=env, timeout=60,
        )  # fmt: skip
        assert proc.returncode == 2, proc.stderr
        assert flag[0] in proc.stderr


def _get(url: str) -> None:
    with contextlib.suppress(urllib.error.HTTPError):  # 404s are logged too
        urllib.request.urlopen(url, timeout=10).read()


def test_serve_json_log_parses_and_holds_no_secret(tmp_path: Path) -> None:
    """A real `otelcap serve` at debug level, with a configured password, and requests that
    put the password and the query token into logged request lines."""
    env = {
        **os.environ,
        "OTELCAP_DATA_DIR": str(tmp_path / "data"),
        "OTELCAP_CONFIG": str(tmp_path / "absent.toml"),
        "OTELCAP_CLICKHOUSE_PASSWORD": PASSWORD,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "otelcap.cli", "serve", "--grpc-port", "0", "--http-port", "0",
         "--log-format", "json", "--log-level", "debug"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        banner = ""
        for line in proc.stdout:
            banner += line
            if "Ctrl-C" in line:
                break
        http_port = int(re.search(r"HTTP\s+http://127\.0\.0\.1:(\d+)", banner).group(1))  # type: ignore[union-attr]
        (record,) = (tmp_path / "data" / "servers").glob("*.json")
        server = json.loads(record.read_text())
        token = server["token"]
        _get(f"http://127.0.0.1:{http_port}/healthz?password={PASSWORD}")
        _get(f"http://127.0.0.1:{http_port}/nowhere/{token}")
        _get(f"http://127.0.0.1:{server['port']}/v1/status?token={token}")
        _get(f"http://127.0.0.1:{http_port}/v1/logs?key={ANTHROPIC_KEY}")
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    lines = err.splitlines()
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    messages = [r["message"] for r in records]
    assert any(m.startswith("listening: gRPC") for m in messages)
    assert any(m.startswith("stopped;") for m in messages)
    assert sum("***" in m for m in messages) >= 3  # the three requests were logged, masked
    assert token not in err and PASSWORD not in err
    assert ANTHROPIC_KEY not in err and "<secret:anthropic>" in err

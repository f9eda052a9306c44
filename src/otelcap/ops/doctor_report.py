"""What doctor reports: a check (section, status, message, fix) and the report of them."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

OK, WARN, FAIL, INFO = "ok", "warn", "fail", "info"

SYMBOL = {OK: "✓", WARN: "!", FAIL: "✗", INFO: "·"}

SECTIONS = {"setup": "Set-up", "server": "Server and database", "data": "What has arrived"}

DISK_FAIL_BYTES = 100 * 1024**2  # below this a flush may fail half-way: refuse

DISK_WARN_BYTES = 1024**3

WIDTH = 100  # the text report wraps here

_SEP = " · "

_GLUE = "\0"  # joins a span's words while wrapping; no path or command line holds a NUL

_COMMAND = re.compile(r"`[^`]*`")

_PROCESS = re.compile(r"\bpid \d+ \(")

_SERVE = re.compile(r"\botelcap(?:\.cli)? serve\b")  # a holder's command line

_TEMPORALITY = {0: "unspecified", 1: "delta", 2: "cumulative"}  # OTLP's enum

_FIX_NOTHING = (
    "point Claude Code at {where} (`otelcap setup claude` prints the settings; "
    "OTEL_EXPORTER_OTLP_PROTOCOL must match the port: grpc → the gRPC port, http/protobuf or "
    "http/json → the HTTP port), restart it and run a prompt. Claude Code exports events every "
    "5 s and metrics every 60 s by default"
)

_FIX_NO_LOGS = "metrics arrive but no events: set OTEL_LOGS_EXPORTER=otlp"

_FIX_NO_METRICS = (
    "events arrive but no metrics: set OTEL_METRICS_EXPORTER=otlp (and wait: Claude Code "
    "exports metrics every 60 s by default)"
)

_FIX_NO_SPANS = (
    "optional: Claude Code sends spans only with CLAUDE_CODE_ENHANCED_TELEMETRY_BETA=1 and "
    "OTEL_TRACES_EXPORTER=otlp (`otelcap setup claude --traces`); they add per-request and "
    "per-tool timing"
)

_FIX_REFUSED = (
    "invalid: the body was not OTLP for its Content-Type; too_large: over the body limit; "
    "overloaded or store_unavailable: the store could not keep up (see the server log), and "
    "the client retries"
)

_FIX_PROMPTS = (
    "optional: `otelcap setup claude --log-prompts` (otelcap still stores only a keyed hash "
    "and the length)"
)

_FIX_TOOLS = (
    "optional: `otelcap setup claude --tool-details` (otelcap hashes the content and masks "
    "secrets; `otelcap privacy` lists the rules)"
)


@dataclass
class Check:
    section: str  # setup | server | data
    name: str  # stable id, for --format json readers
    status: str  # ok | warn | fail | info
    message: str
    fix: str = ""  # what to do, when there is something to do
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Report:
    backend: str
    database: str
    data_dir: str
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return not any(c.status == FAIL for c in self.checks)

    def to_json(self) -> str:
        body = {"ok": self.ok, **{k: v for k, v in asdict(self).items() if k != "checks"}}
        body["checks"] = [asdict(c) for c in self.checks]
        return json.dumps(body, indent=2, default=str, ensure_ascii=False)


def _check(
    section: str, name: str, status: str, message: str, fix: str = "", /, **data: Any
) -> Check:
    return Check(section, name, status, message, fix, data)

"""How `otelcap serve` logs: one line per event (start, stop, a flush problem), as text or as
JSON lines, with secrets masked.

Masking happens in a handler filter, so it covers every logger (ours, grpc's), every level
and the text of exceptions: the query endpoint's token and any configured password or token
are registered by whoever creates or reads them (`add_secret`, `add_secrets_of`), bearer
tokens and passwords inside URLs are masked by pattern whoever logs them, and the
sanitizer's secret and PII patterns (keys, emails, phones) run on every line once registered
with `add_redactor` (service.py does: this module sits below otelcap.sanitize).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
import re
import sys
import threading
from collections.abc import Callable
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any

from otelcap.errors import ConfigError

FORMATS = ("text", "json")
LEVELS = ("debug", "info", "warning", "error")
MASK = "***"
_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Config fields whose values are secrets, by name; URLs (a ClickHouse DSN) may carry a password.
_SECRET_FIELD = re.compile(r"password|passwd|secret|token|api_key", re.IGNORECASE)
_PATTERNS = (
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1" + MASK),
    (re.compile(r"(://[^:/@\s]+:)[^@/\s]+@"), r"\1" + MASK + "@"),
)
# serve logs a few lines an hour at info (start, stop, retention, a flush problem): 10 MB
# holds months of them, and four files bound what a debug session can leave behind.
LOG_FILE_BYTES = 10 * 1024 * 1024
LOG_FILE_KEEP = 3
_MIN_SECRET_LEN = 4  # shorter values would mask ordinary words; no real secret is this short

_secrets: set[str] = set()
_secrets_lock = threading.Lock()
_redactors: list[Callable[[str], str]] = []


def add_secret(value: str | None) -> None:
    """Never log this value (the query token, a password)."""
    if value and len(value) >= _MIN_SECRET_LEN:
        with _secrets_lock:
            _secrets.add(value)


def add_secrets_of(settings: Any) -> None:
    """Register the secret-looking fields of a config dataclass, and passwords in its URLs."""
    if not dataclasses.is_dataclass(settings):
        return
    for f in dataclasses.fields(settings):
        value = getattr(settings, f.name, None)
        if not isinstance(value, str) or not value:
            continue
        if _SECRET_FIELD.search(f.name):
            add_secret(value)
        for m in re.finditer(r"://[^:/@\s]+:([^@/\s]+)@", value):
            add_secret(m.group(1))


def add_redactor(redact: Callable[[str], str]) -> None:
    """Also pass every line through `redact` (text in, masked text out), after the masks
    above. Registering the same function twice applies it once."""
    with _secrets_lock:
        if redact not in _redactors:
            _redactors.append(redact)


def mask(text: str) -> str:
    with _secrets_lock:
        known = sorted(_secrets, key=len, reverse=True)  # a longer secret may contain a shorter
        redactors = list(_redactors)
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    if redactors:
        # Around what is masked already, not over it: `password=***` would otherwise become
        # `password=<secret:assignment>`, and the same line would read differently depending
        # on which masks were registered.
        pieces = text.split(MASK)
        for redact in redactors:
            pieces = [redact(p) for p in pieces]
        text = MASK.join(pieces)
    return text


class SecretFilter(logging.Filter):
    """Renders the message (and exception text) once, masked, before any formatter sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        if record.stack_info:
            record.stack_info = mask(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message[, exception]."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False)


def setup(
    level: str = "info", fmt: str = "text", stream: Any = None, file: Path | None = None
) -> logging.Handler:
    """Configure the root logger for `otelcap serve`; returns the handler it installed.
    With `file`, lines go to that file (0600), rotated at LOG_FILE_BYTES, LOG_FILE_KEEP kept."""
    if fmt not in FORMATS:
        raise ConfigError(f"--log-format must be text or json, got {fmt!r}")
    if level.lower() not in LEVELS:
        raise ConfigError(f"--log-level must be one of {', '.join(LEVELS)}, got {level!r}")
    handler: logging.Handler
    if file is not None:
        handler = _file_handler(file)
    else:
        handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(_TEXT_FORMAT))
    handler.addFilter(SecretFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    return handler


def _file_handler(path: Path) -> logging.Handler:
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))  # not the umask's
        return RotatingFileHandler(
            path, maxBytes=LOG_FILE_BYTES, backupCount=LOG_FILE_KEEP, encoding="utf-8"
        )
    except OSError as exc:
        raise ConfigError(f"cannot write the log file {path}: {exc.strerror}") from None

"""The one place where flags, OTELCAP_* environment variables and the config file are read.

Precedence, highest first: explicit flags, environment, config file, defaults.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from otelcap.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

APP_NAME = "otelcap"
ENV_PREFIX = "OTELCAP_"
MiB = 1024 * 1024


def default_data_dir() -> Path:
    """Platform data directory (XDG_DATA_HOME/otelcap on Linux)."""
    from platformdirs import user_data_path

    return Path(user_data_path(APP_NAME, appauthor=False))


def default_config_file() -> Path:
    from platformdirs import user_config_path

    return Path(user_config_path(APP_NAME, appauthor=False)) / "config.toml"


def claude_settings_file(env: dict[str, str] | None = None) -> Path:
    """Claude Code's user settings.json: in $CLAUDE_CONFIG_DIR when set (Claude Code reads
    its configuration from there), else ~/.claude."""
    env = dict(os.environ) if env is None else env
    base = env.get("CLAUDE_CONFIG_DIR") or str(Path.home() / ".claude")
    return Path(base).expanduser() / "settings.json"


@dataclass(frozen=True)
class Config:
    data_dir: Path = field(default_factory=default_data_dir)
    db_path: Path | None = None  # None: <data_dir>/otelcap.duckdb
    backend: str = "duckdb"
    host: str = "127.0.0.1"
    grpc_port: int = 4317
    http_port: int = 4318
    # HTTP connections, one thread each (receiver/http.py). Claude Code opens 1-3 per process
    # (one per signal) and keeps them alive between exports, so 128 serves a team of dozens
    # of running sessions; gRPC calls share one event loop thread instead. Past the
    # bound a new connection is answered 503 + Retry-After and closed: OTLP exporters retry
    # that, while one left waiting in the listen backlog gets no answer before the exporter's
    # own 10 s timeout, which the JS exporter Claude Code uses does not retry.
    http_max_connections: int = 128
    # A request, headers and body, must arrive within this many seconds of its first byte,
    # however slowly it trickles (a slowloris client is cut off here): OTLP exporters give up
    # on an export after 10 s (OTEL_EXPORTER_OTLP_TIMEOUT), so no one waits on a slower one.
    http_read_timeout_s: int = 10
    # A kept-alive connection with no new request for this long is closed. Longer than Claude
    # Code's 5 s log export interval, so an active session keeps its connection; short enough
    # that a vanished client's slot is free again within half a minute.
    http_idle_timeout_s: int = 30
    # Limits on one request. 16 MiB after decompression; a gzip body that inflates more than
    # 200x is refused before it is fully inflated (real OTLP JSON compresses 10-30x).
    max_body_bytes: int = 16 * MiB
    max_decompression_ratio: int = 200
    # Group commit: flush when this many rows are pending or the oldest waited this long.
    # 20k rows: DuckDB appends are 2-5x faster in 10k-100k batches than in 1k ones.
    flush_rows: int = 20_000
    flush_interval_ms: int = 100
    # Rows waiting for the writer before the receiver answers "retry later".
    queue_max_rows: int = 400_000
    # Decompressed request bytes being decoded, converted or waiting for their commit, past
    # which a request is answered "retry later" (one arriving with nothing else in flight is
    # always taken); 0: no limit. One 8.6 MiB request (11,720 Claude Code log records) alone
    # peaks at ~360 MB, so about one of them fits under 400 MB. 16 such requests at once, peak
    # RSS (VmHWM of `otelcap serve`, 2 cores): no limit 804 MB over HTTP, 1,168 MB over gRPC,
    # 1,487 MB as JSON; 32 MiB 503 MB; 16 MiB 421 MB (gRPC 479, JSON 353), the 15 not taken
    # answered 503 / UNAVAILABLE; 8 MiB 406 MB. Claude Code's own requests are a few KiB,
    # and 16 clients of 1,000-record requests (bench/ingest.py) hold ~12 MiB: 16 MiB refuses
    # neither.
    max_inflight_bytes: int = 16 * MiB
    # gRPC calls in progress, 4 per unit (128): past them a call is answered RESOURCE_EXHAUSTED
    # (receiver/grpc.py). The name is older than the asyncio server: no thread is held per
    # call, and the converter and writer threads do the work whatever this is.
    grpc_workers: int = 32
    # A gRPC connection with no call for this long is closed (GOAWAY; the client reconnects at
    # its next export). Claude Code exports at least every 60 s (metrics) while it runs.
    # 0: never, here and below.
    grpc_idle_timeout_s: int = 300
    # Every gRPC connection is closed at this age (GOAWAY, then 35 s for its calls to finish),
    # which bounds how long a client that never finishes sending its message holds a worker
    # (grpcio waits for it without a deadline): at most 155 s. Reconnecting every 2 minutes
    # costs a Claude Code process a TCP and HTTP/2 handshake.
    grpc_max_connection_age_s: int = 120
    # Privacy (otelcap.sanitize; `otelcap privacy` prints every rule). Prompt and response
    # text, and tool content (tool_parameters, tool_input, full_command, tool.output events,
    # raw API bodies): hash (keyed HMAC-SHA256, length kept), drop, or redact (kept, with
    # emails, phone numbers and secrets replaced by placeholders).
    privacy_prompts: str = "hash"
    privacy_content: str = "hash"
    # Identity attributes stored verbatim, comma separated, from: user.email,
    # user.account_uuid, organization.id. The default keeps none: they are hashed.
    privacy_keep_identity: str = ""
    # ClickHouse (backend "clickhouse"; otelcap.storage.clickhouse). A URL such as
    # https://ch.example.com:8443/otel, and/or its parts; a part set on its own wins over the
    # URL's. The password comes from OTELCAP_CLICKHOUSE_PASSWORD or the config file, never
    # from a flag (other users see command lines in `ps`); repr=False keeps it out of logs.
    clickhouse_url: str = field(default="", repr=False)
    clickhouse_host: str = ""
    clickhouse_port: int = 0  # 0: 8123, or 8443 with TLS
    clickhouse_user: str = ""
    clickhouse_password: str = field(default="", repr=False)
    clickhouse_database: str = ""  # "": the URL's path, else "otel" (the exporter's default)
    clickhouse_secure: bool = False
    clickhouse_ttl_days: int = 90  # rows older than this are dropped by ClickHouse; 0: never
    # Flushes ClickHouse could not take wait in <data_dir>/spool; past this size requests are
    # answered "retry later" instead (1 GiB holds ~4M Claude Code events: ~270 bytes each with
    # their metrics, zstd-compressed; bench/clickhouse.py).
    spool_max_bytes: int = 1024 * MiB
    # DuckDB keeps rows this long (by their event time), pruned at start and hourly while
    # `otelcap serve` runs: 90d, 12w, 36h; 0 keeps everything. ClickHouse has its TTL instead.
    retention: str = "90d"
    # Day, week and month buckets and printed times use this IANA zone; "" is the local one
    # (the TZ variable, else the system's), "UTC" is UTC (what --utc says).
    timezone: str = ""
    # DuckDB's memory_limit (its buffer pool: cached blocks, rows not yet checkpointed, query
    # working memory, which spills to <db>.tmp beyond it). DuckDB's own default is 80% of RAM,
    # and a long-running collector kept growing towards it: after the query pack ran twice on
    # 10M events the process held 805 MB, 639 MB with 512MB (queries 0-38% slower, 256MB
    # doubled error-analysis; bench/queries.py --memory-limit). "" restores that default.
    duckdb_memory_limit: str = "512MB"
    # Rows per DuckDB row group written by this process (0: DuckDB's 122,880). Each checkpoint
    # rewrites the open row group, and rows wait uncompressed in memory until then, so smaller
    # groups ingest faster and leaner; larger ones scan faster at millions of rows. Measured
    # (bench/ingest.py, 4 gRPC clients, 3 interleaved runs each; bench/queries.py, 10M events):
    #   122,880: 21-23k records/s, peak RSS ~725 MB, p99 ~1.7 s; error-analysis 0.94 s
    #    32,768: 23.5-24.4k records/s, ~595 MB, ~0.85 s;        error-analysis 1.15 s
    #    16,384: 24.7-25.9k records/s, ~555 MB, ~0.6 s;         error-analysis 1.40 s
    # (every query 10-22% slower at 32,768 than at 122,880 and 20-60% at 16,384; at 1M
    # events neither was slower: at 32,768 error-analysis 112 ms, sessions 110, as before).
    # 32,768 takes most of the ingest gain for about a third of the query cost.
    duckdb_row_group_size: int = 32_768
    # Spending limits in USD for `otelcap budget` (the [budget] table: daily, weekly,
    # monthly; `otelcap budget set` writes it). 0: no limit.
    budget_daily: float = 0.0
    budget_weekly: float = 0.0
    budget_monthly: float = 0.0
    # `serve --report-every 1d`: the running collector writes the HTML report this often
    # (0: never) into report_dir ("" is <data_dir>/reports), over the last report_since,
    # keeping the newest report_keep files (7 daily reports: a week, ~1-3 MB each at 1M
    # events).
    report_every: str = "0"
    report_dir: str = ""
    report_keep: int = 7
    report_since: str = "30d"

    @property
    def database(self) -> Path:
        return self.db_path if self.db_path is not None else self.data_dir / "otelcap.duckdb"

    @property
    def reports_directory(self) -> Path:
        return Path(self.report_dir).expanduser() if self.report_dir else self.data_dir / "reports"

    @property
    def budget_limits(self) -> dict[str, float]:
        """The spending limits in USD: daily, weekly, monthly (0: none)."""
        return {
            "daily": self.budget_daily,
            "weekly": self.budget_weekly,
            "monthly": self.budget_monthly,
        }

    @property
    def names_data(self) -> bool:
        """Whether this configuration names its data (--db or OTELCAP_DB, or another backend
        than the default) rather than falling back to the default file; a command that does
        not name its data uses whichever one server runs (access.py)."""
        return self.db_path is not None or self.backend != Config.backend


_INT_FIELDS = {f.name for f in dataclasses.fields(Config) if f.type in ("int", int)}
_PATH_FIELDS = {"data_dir", "db_path"}
_BOOL_FIELDS = {f.name for f in dataclasses.fields(Config) if f.type in ("bool", bool)}
_FLOAT_FIELDS = {f.name for f in dataclasses.fields(Config) if f.type in ("float", float)}
_BACKENDS = ("duckdb", "clickhouse")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


def _coerce(name: str, value: Any, source: str) -> Any:
    if name in _BOOL_FIELDS:
        text = str(value).strip().lower()
        if isinstance(value, bool) or text in _TRUE + _FALSE:
            return value if isinstance(value, bool) else text in _TRUE
        raise ConfigError(f"{source}: {name} must be true or false, got {value!r}")
    if name in _INT_FIELDS:
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{source}: {name} must be a whole number, got {value!r}") from None
        if number < 0:
            raise ConfigError(f"{source}: {name} must not be negative, got {number}")
        return number
    if name in _FLOAT_FIELDS:
        try:
            real = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{source}: {name} must be a number, got {value!r}") from None
        if not math.isfinite(real) or real < 0:
            raise ConfigError(f"{source}: {name} must be a number of 0 or more, got {value!r}")
        return real
    if name in _PATH_FIELDS:
        return Path(str(value)).expanduser()
    return str(value)


def _from_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    known = {f.name for f in dataclasses.fields(Config)}
    section = raw.get("serve", raw)
    unknown = sorted(k for k in section if k not in known and not isinstance(section[k], dict))
    if unknown:
        raise ConfigError(f"config file {path}: unknown keys {', '.join(unknown)}")
    values = {k: _coerce(k, v, str(path)) for k, v in section.items() if k in known}
    values.update(_privacy_from_file(raw.get("privacy", {}), path))
    values.update(_budget_from_file(raw.get("budget", {}), path))
    return values


BUDGET_PERIODS = ("daily", "weekly", "monthly")


def _budget_from_file(section: Any, path: Path) -> dict[str, Any]:
    """A [budget] table: `daily = 20.0` sets budget_daily (USD)."""
    if not isinstance(section, dict):
        raise ConfigError(f"config file {path}: [budget] must be a table")
    unknown = sorted(k for k in section if k not in BUDGET_PERIODS)
    if unknown:
        raise ConfigError(
            f"config file {path}: unknown [budget] keys {', '.join(unknown)} "
            f"(known: {', '.join(BUDGET_PERIODS)})"
        )
    where = f"{path} [budget]"
    return {"budget_" + k: _coerce("budget_" + k, v, where) for k, v in section.items()}


def _privacy_from_file(section: Any, path: Path) -> dict[str, Any]:
    """A [privacy] table: `prompts = "hash"` sets privacy_prompts; a list (keep_identity)
    becomes the comma-separated string its environment variable would hold."""
    if not isinstance(section, dict):
        raise ConfigError(f"config file {path}: [privacy] must be a table")
    known = {f.name for f in dataclasses.fields(Config) if f.name.startswith("privacy_")}
    unknown = sorted(k for k in section if "privacy_" + k not in known)
    if unknown:
        raise ConfigError(f"config file {path}: unknown [privacy] keys {', '.join(unknown)}")
    return {
        "privacy_" + k: _coerce(
            "privacy_" + k, ",".join(v) if isinstance(v, list) else v, str(path)
        )
        for k, v in section.items()
    }


# Shorter names people type; the field's own name (OTELCAP_DB_PATH) wins when both are set.
_ENV_ALIASES = {"OTELCAP_DB": "db_path"}


def _from_env(env: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, name in _ENV_ALIASES.items():
        if env.get(key):
            out[name] = _coerce(name, env[key], key)
    for f in dataclasses.fields(Config):
        key = ENV_PREFIX + f.name.upper()
        if key in env and env[key] != "":
            out[f.name] = _coerce(f.name, env[key], key)
    return out


def config_file_path(env: dict[str, str] | None = None) -> Path:
    """The config file: $OTELCAP_CONFIG, else ~/.config/otelcap/config.toml."""
    env = dict(os.environ) if env is None else env
    return Path(env.get(ENV_PREFIX + "CONFIG", "") or default_config_file())


def load(
    overrides: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    config_file: Path | None = None,
) -> Config:
    """Build the effective Config. `overrides` are flags; None values mean "not given"."""
    env = dict(os.environ) if env is None else env
    file_path = config_file or config_file_path(env)
    values: dict[str, Any] = {}
    values.update(_from_file(file_path))
    values.update(_from_env(env))
    for k, v in (overrides or {}).items():
        if v is not None:
            values[k] = _coerce(k, v, f"--{k.replace('_', '-')}")
    if _has_password((overrides or {}).get("clickhouse_url")):
        raise ConfigError(
            "--clickhouse-url must not hold a password (other users can read command lines); "
            "set OTELCAP_CLICKHOUSE_PASSWORD instead"
        )
    cfg = Config(**values)
    if cfg.backend not in _BACKENDS:
        raise ConfigError(
            f"backend {cfg.backend!r} is not available; choose one of: {', '.join(_BACKENDS)}"
        )
    for port_name in ("grpc_port", "http_port"):
        if getattr(cfg, port_name) > 65535:
            raise ConfigError(f"{port_name} must be 0-65535, got {getattr(cfg, port_name)}")
    for name in ("http_max_connections", "http_read_timeout_s", "http_idle_timeout_s"):
        if getattr(cfg, name) < 1:  # 0 would refuse every connection or time out at once
            raise ConfigError(f"{name} must be at least 1, got {getattr(cfg, name)}")
    parse_duration(cfg.retention, "retention")  # a bad value fails at start, not an hour later
    every = parse_duration(cfg.report_every, "report_every")
    if every is not None and every < MIN_REPORT_EVERY:
        raise ConfigError(
            f"report_every must be at least 1m (a report at 10M events takes seconds of "
            f"queries), got {cfg.report_every!r}"
        )
    if every is not None:
        try:
            parse_time(cfg.report_since)
        except ValueError as exc:
            raise ConfigError(f"report_since: {exc}") from None
    if cfg.report_keep < 1:
        raise ConfigError(f"report_keep must be at least 1, got {cfg.report_keep}")
    return cfg


MIN_REPORT_EVERY = dt.timedelta(minutes=1)
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_duration(text: str, what: str = "duration") -> dt.timedelta | None:
    """`90d`, `12w`, `36h`, `30m`, `45s` → a timedelta; `0` → None (forever, no limit)."""
    raw = str(text).strip().lower()
    number, unit = (raw, "s") if raw.isdigit() else (raw[:-1].strip(), raw[-1:])
    if unit not in _DURATION_UNITS or not number.isdigit() or (raw.isdigit() and int(raw)):
        raise ConfigError(f"{what} must look like 90d, 12w, 36h, 30m or 0, got {text!r}")
    seconds = int(number) * _DURATION_UNITS[unit]
    return dt.timedelta(seconds=seconds) if seconds else None


_TIME_FORMS = "7d, 12h, 30m, 2w, now, 2026-11-01 or an ISO time"


def budget_limits_now(cfg: Config, config_file: Path | None) -> dict[str, float]:
    """The spending limits as the config file and OTELCAP_BUDGET_* say now, so a running
    server's dashboard shows what `otelcap budget set` wrote meanwhile; `cfg`'s when there is
    no file to read (a configuration built in code) or the file no longer parses."""
    if config_file is None:
        return cfg.budget_limits
    try:
        return load(config_file=config_file).budget_limits
    except ConfigError:
        return cfg.budget_limits


def zone(cfg: Config) -> dt.tzinfo:
    """The configured zone (`timezone`, "" = the local one) as a tzinfo: where the report's
    and the dashboard's days start."""
    from zoneinfo import ZoneInfo

    return ZoneInfo(resolve_timezone(cfg.timezone))


def resolve_timezone(name: str = "") -> str:
    """The IANA name of a zone: `name` when it is one, the local zone for "" (TZ, else the
    system's; UTC when neither names a zone). Raises ConfigError for an unknown name."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if name:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"unknown time zone {name!r}: give an IANA name such as Europe/Berlin or "
                "America/New_York, or --utc"
            ) from None
        return name
    tz_env = os.environ.get("TZ", "").lstrip(":")
    if tz_env and ("/" in tz_env or tz_env == "UTC"):  # an IANA name (not a POSIX rule)
        try:
            ZoneInfo(tz_env)
            return tz_env
        except (ZoneInfoNotFoundError, ValueError):
            pass
    try:
        import tzlocal  # caches its answer: TZ is read above, each time

        local = tzlocal.get_localzone_name()
    except Exception:  # no zone configured (a bare container): UTC is the honest answer
        local = None
    return local if local and local != "localtime" else "UTC"


def parse_time(text: str, now: dt.datetime | None = None, tz: str | None = None) -> dt.datetime:
    """A point in time as `--since`/`--until` take it, for every command: `7d`, `12h`,
    `30m`, `45s`, `2w` before now, `now`, `2026-11-01` or an ISO time (in `tz`, UTC when
    None, unless it says otherwise) → naive UTC. Raises ValueError naming the accepted forms."""
    now = now or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    raw = str(text).strip()
    if raw.lower() == "now":
        return now
    number, unit = raw[:-1].strip(), raw[-1:].lower()
    if number.isdigit() and unit in _DURATION_UNITS:
        return now - dt.timedelta(seconds=int(number) * _DURATION_UNITS[unit])
    try:
        t = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"expected {_TIME_FORMS}, got {text!r}") from None
    if t.tzinfo is None and tz and tz != "UTC":
        from zoneinfo import ZoneInfo

        t = t.replace(tzinfo=ZoneInfo(tz))  # 2026-11-01 is that day's midnight in `tz`
    return t.astimezone(dt.timezone.utc).replace(tzinfo=None) if t.tzinfo else t


def check_format(fmt: str, allowed: tuple[str, ...]) -> str:
    """`--format`: one of `allowed`, else a usage error worded the same in every command."""
    if fmt not in allowed:
        raise ConfigError(f"--format must be one of {', '.join(allowed)}, got {fmt!r}")
    return fmt


def time_window(
    since: str | dt.datetime | None,
    until: str | dt.datetime | None,
    now: dt.datetime | None = None,
    tz: str | None = None,
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """`--since` and `--until` as every command takes them (parse_time's forms, read in `tz`,
    or a datetime) → naive UTC; ConfigError (a usage error) naming the flag, and when --since
    is not before --until: such a window holds nothing, which is a mistake, not an answer."""
    out: list[dt.datetime | None] = []
    for flag, raw in (("--since", since), ("--until", until)):
        if raw is None or isinstance(raw, dt.datetime):
            out.append(raw)
            continue
        try:
            out.append(parse_time(raw, now, tz))
        except ValueError as exc:
            raise ConfigError(f"{flag}: {exc}") from None
    start, end = out
    if start is not None and end is not None and start >= end:
        raise ConfigError(
            f"--since ({start.isoformat(sep=' ')} UTC) is not before --until "
            f"({end.isoformat(sep=' ')} UTC): no row can match; swap them or widen the window"
        )
    return start, end


def _has_password(url: Any) -> bool:
    from urllib.parse import urlsplit

    try:
        return bool(url) and urlsplit(str(url)).password is not None
    except ValueError:
        return False


_TABLE_HEADER = re.compile(r"^\s*\[\s*([A-Za-z0-9_-]+)\s*\]\s*(#.*)?$")
_ANY_HEADER = re.compile(r"^\s*\[")


def update_file_table(path: Path, table: str, values: dict[str, float | None]) -> None:
    """Set (a number) or remove (None) keys of one `[table]` of a TOML config file, keeping
    every other line as it was, comments included; the file and the table are made when
    missing, and a table left with nothing in it is removed. The new text is parsed before
    it replaces the file (written beside it, then renamed), so a failed edit leaves the file
    as it was. A table written another way (inline, dotted keys) is refused: edit it by hand."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    try:
        before = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not valid TOML ({exc}); fix it first") from None
    lines = text.splitlines()
    start = next(
        (i for i, line in enumerate(lines) if (m := _TABLE_HEADER.match(line)) and m[1] == table),
        None,
    )
    if start is None and table in before:
        raise ConfigError(
            f"config file {path} sets {table} without a [{table}] header; edit it by hand"
        )
    if start is None:
        start = len(lines) + (1 if lines and lines[-1].strip() else 0)
        lines += [""] * (start - len(lines)) + [f"[{table}]"]
    end = next((i for i in range(start + 1, len(lines)) if _ANY_HEADER.match(lines[i])), len(lines))
    body = lines[start + 1 : end]
    pending = dict(values)
    kept = []
    for line in body:
        key = line.split("=", 1)[0].strip() if "=" in line else None
        if key in pending:
            value = pending.pop(key)
            if value is not None:
                kept.append(f"{key} = {float(value)!r}")
        else:
            kept.append(line)
    while kept and not kept[-1].strip():  # new keys go after the table's last line
        kept.pop()
    kept += [f"{k} = {float(v)!r}" for k, v in pending.items() if v is not None]
    if kept:
        section = [lines[start], *kept] + ([""] if end < len(lines) else [])
    else:  # nothing left: the header goes, with the blank lines that set it off
        while start > 0 and not lines[start - 1].strip():
            start -= 1
        section = [""] if start > 0 and end < len(lines) else []
    new_lines = lines[:start] + section + lines[end:]
    new_text = "\n".join(new_lines).strip("\n")
    new_text = new_text + "\n" if new_text else ""
    try:
        after = tomllib.loads(new_text)
    except tomllib.TOMLDecodeError as exc:  # pragma: no cover - a bug here, not the user's
        raise ConfigError(f"could not edit [{table}] in {path} ({exc}); edit it by hand") from None
    want = {**before.get(table, {}), **values}
    want = {k: v for k, v in want.items() if v is not None}
    if after.get(table, {}) != want or {k: v for k, v in after.items() if k != table} != {
        k: v for k, v in before.items() if k != table
    }:
        raise ConfigError(f"could not edit [{table}] in {path} safely; edit it by hand")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    # the file may hold a ClickHouse password: a new one is private, an old one keeps its mode
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(new_text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)

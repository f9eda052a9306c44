"""The otelcap command line. Each command: flags → config → one call → print.

Heavy modules (grpc, duckdb, pyarrow) are imported inside commands so `otelcap --help`
stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer

from otelcap import __version__
from otelcap.errors import ConfigError, OtelcapError
from otelcap.files import private_umask

if TYPE_CHECKING:
    from otelcap.config import Config
    from otelcap.output import Shape

app = typer.Typer(
    name="otelcap",
    help=(
        "A local collector for Claude Code telemetry: OTLP in, sanitized DuckDB out.\n\n"
        "Example: otelcap serve"
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    # Subcommands inherit it from the root's context: `otelcap query -h` too.
    context_settings={"help_option_names": ["-h", "--help"]},
)

# Exit codes, the same in every command: 0 done, 1 it failed (a check, the store, the server),
# 2 a usage or configuration error (a bad flag, a port or database that is taken, several
# servers and no --db to choose one).
EXIT_FAILED = 1
EXIT_CONFIG = 2


def _store_flags(
    backend: str | None,
    db: Path | None,
    clickhouse_url: str | None,
    clickhouse_user: str | None,
    clickhouse_database: str | None,
) -> dict[str, object]:
    """The flags that say which store to open, as config overrides (None: not given)."""
    return {
        "backend": backend,
        "db_path": db,
        "clickhouse_url": clickhouse_url,
        "clickhouse_user": clickhouse_user,
        "clickhouse_database": clickhouse_database,
    }


def _text_or_json(fmt: str) -> str:
    from otelcap.config import check_format

    return check_format(fmt, ("text", "json"))


class _NoPandas:
    """An import finder that says pandas is not installed (see `_without_pandas`)."""

    @staticmethod
    def find_spec(name: str, path: object = None, target: object = None) -> None:
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError(f"otelcap serve does not load {name}", name=name)


def _without_pandas() -> None:
    """Keep pandas out of the `serve` process, which never uses it.

    pyarrow imports pandas, when it is installed (chdb, a test dependency, brings it), at
    the first `pa.array` of Python objects, to recognise pandas inputs and NA values:
    that import is ~42 MB of the server's resident set and 400 modules, for nothing
    (idle RSS 185-188 -> 151-152 MB, bench/ingest.py). pyarrow, DuckDB, clickhouse-connect and
    chdb treat a pandas that cannot be imported as not installed. Installed before the
    first array is made, and only by `serve`, never in a process that has pandas already
    (a test run that loaded it in-process keeps it)."""
    if "pandas" not in sys.modules and _NoPandas not in sys.meta_path:
        sys.meta_path.insert(0, _NoPandas)


def _fail(exc: Exception) -> NoReturn:
    """Print the error; exit 2 for a usage or configuration error, 1 for anything else."""
    typer.echo(f"otelcap: {exc}", err=True)
    raise typer.Exit(EXIT_CONFIG if isinstance(exc, ConfigError) else EXIT_FAILED) from None


def _version(value: bool) -> None:
    if value:
        typer.echo(f"otelcap {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """A local collector for Claude Code telemetry."""


# ClickHouse connection flags, shared by serve, query and sql. The password has no flag (other
# users can read command lines): OTELCAP_CLICKHOUSE_PASSWORD or the config file.
_ChUrl = Annotated[
    str | None,
    typer.Option(
        "--clickhouse-url",
        help="ClickHouse for --backend clickhouse, e.g. https://ch.example.com:8443/otel "
        "(default http://localhost:8123/otel). Password: OTELCAP_CLICKHOUSE_PASSWORD.",
    ),
]
_ChUser = Annotated[
    str | None, typer.Option("--clickhouse-user", help="ClickHouse user (default: the URL's).")
]
_ChDatabase = Annotated[
    str | None,
    typer.Option("--clickhouse-database", help="ClickHouse database (default: the URL's; otel)."),
]


@app.command()
def serve(
    backend: Annotated[
        str | None,
        typer.Option(help="Where data goes: duckdb (embedded file) or clickhouse (a server)."),
    ] = None,
    db: Annotated[
        Path | None,
        typer.Option(help="DuckDB file. Default: otelcap.duckdb in the user data directory."),
    ] = None,
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (default 127.0.0.1).")
    ] = None,
    grpc_port: Annotated[
        int | None, typer.Option(help="OTLP/gRPC port (default 4317; 0 picks a free one).")
    ] = None,
    http_port: Annotated[
        int | None, typer.Option(help="OTLP/HTTP port (default 4318; 0 picks a free one).")
    ] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
    log_format: Annotated[
        str,
        typer.Option(help="text, or json: one object per line (time, level, logger, message)."),
    ] = "text",
    log_file: Annotated[
        Path | None,
        typer.Option(
            help="Write log lines to this file (0600, rotated at 10 MB, 3 kept) instead of "
            "stderr; the background service logs to <data_dir>/logs/otelcap.log."
        ),
    ] = None,
    clickhouse_url: _ChUrl = None,
    clickhouse_user: _ChUser = None,
    clickhouse_database: _ChDatabase = None,
    report_every: Annotated[
        str | None,
        typer.Option(
            help="Write the HTML report this often while serving (1d, 12h; 0 never, the "
            "default), over the last --report-since (30d)."
        ),
    ] = None,
    report_dir: Annotated[
        Path | None,
        typer.Option(help="Where scheduled reports go (default <data_dir>/reports)."),
    ] = None,
    report_keep: Annotated[
        int | None, typer.Option(help="Scheduled reports kept, newest first (default 7).")
    ] = None,
    report_since: Annotated[
        str | None, typer.Option(help="The period each scheduled report covers (default 30d).")
    ] = None,
    retention: Annotated[
        str | None,
        typer.Option(
            help="DuckDB keeps rows this long, pruned at start and hourly: 90d (default), 12w, "
            "36h; 0 keeps everything. ClickHouse uses its TTL."
        ),
    ] = None,
) -> None:
    """Receive OTLP from Claude Code (gRPC :4317, HTTP :4318) and store it.

    With --backend clickhouse, what ClickHouse cannot take (it is down, say) waits in a spool in
    the data directory and is sent when it answers; nothing acknowledged is lost.

    Example: otelcap serve --db ./claude.duckdb --grpc-port 0 --http-port 0

    Example (a report each day, the last 7 kept): otelcap serve --report-every 1d

    \b
    Example (a team's ClickHouse; password in OTELCAP_CLICKHOUSE_PASSWORD):
    otelcap serve --backend clickhouse --clickhouse-url https://ch.example.com:8443/otel
    """
    _without_pandas()
    from otelcap import banner, config, logfmt
    from otelcap.access import location

    try:
        logfmt.setup(
            log_level, log_format, file=log_file
        )  # masks the query token and configured passwords
        cfg = config.load(
            {
                **_store_flags(backend, db, clickhouse_url, clickhouse_user, clickhouse_database),
                "host": host,
                "grpc_port": grpc_port,
                "http_port": http_port,
                "retention": retention,
                "report_every": report_every,
                "report_dir": str(report_dir) if report_dir is not None else None,
                "report_keep": report_keep,
                "report_since": report_since,
            }
        )
        from otelcap.service import Service

        service = Service(cfg, config_file=config.config_file_path())
    except ConfigError as exc:
        _fail(exc)

    def ready(ep: object) -> None:
        typer.echo(
            banner.render(
                cfg.host,
                service.endpoints.grpc_port,
                service.endpoints.http_port,
                location(cfg),  # a ClickHouse URL is shown without its password
                cfg.backend,
            )
        )
        sys.stdout.flush()

    service.run(on_ready=ready)
    typer.echo("otelcap stopped; everything acknowledged is committed.")


@app.command()
def privacy(
    fmt: Annotated[str, typer.Option("--format", help="text (default) or json.")] = "text",
) -> None:
    """Print the privacy rules applied to every record before it is stored.

    Example: otelcap privacy --format json
    """
    import json

    from otelcap import config
    from otelcap.sanitize import describe_rules, render_rules

    try:
        _text_or_json(fmt)
        rows = describe_rules(config.load({}))
    except ConfigError as exc:
        _fail(exc)
    typer.echo(
        json.dumps(rows, indent=2, ensure_ascii=False) if fmt == "json" else render_rules(rows)
    )


_FORMAT_HELP = "Output: table (aligned, for people), csv, json (stable, for scripts) or markdown."
_DB_HELP = (
    "DuckDB file (or OTELCAP_DB). Default: the one running otelcap's data, else otelcap.duckdb "
    "in the user data directory."
)
_BACKEND_HELP = "Where the data is: duckdb (embedded file) or clickhouse (see --clickhouse-url)."
_FILTER_HELP = "Only this {0} (a label `otelcap query cost --by {0}` prints; '' = all)."
_FROM_HELP = "Run on a bundle written by `otelcap export` (DuckDB SQL), not on the store."


# How results are shown, shared by query and sql.
_Timezone = Annotated[
    str | None,
    typer.Option(
        "--timezone",
        help="IANA time zone for day/week/month buckets, dates in --since/--until and printed "
        "times (default: the local one, or OTELCAP_TIMEZONE), e.g. Europe/Berlin.",
    ),
]
_Utc = Annotated[bool, typer.Option("--utc", help="Use UTC instead of the local time zone.")]
_Limit = Annotated[int | None, typer.Option("--limit", help="Show at most this many rows.")]
_Order = Annotated[
    str | None,
    typer.Option("--order", help="Sort by this column; -COLUMN sorts descending."),
]
_Columns = Annotated[
    str | None, typer.Option("--columns", help="Show only these columns, e.g. model,cost_usd.")
]
_Wide = Annotated[
    bool,
    typer.Option(
        "--wide", help="Show every column even when the table is wider than the terminal."
    ),
]


def _view(
    cfg: Config,
    timezone: str | None,
    utc: bool,
    limit: int | None,
    order: str | None,
    columns: str | None,
    wide: bool,
) -> tuple[str, Shape]:
    """(IANA zone, output.Shape) from the display flags: --utc, else --timezone, else the
    config's (local when unset)."""
    from otelcap.config import resolve_timezone
    from otelcap.output import Shape

    if utc and timezone:
        raise ConfigError("--utc and --timezone contradict each other: give one")
    zone = resolve_timezone("UTC" if utc else timezone or cfg.timezone)
    cols = tuple(c for c in (columns or "").split(",") if c.strip())
    return zone, Shape(limit=limit, order=order, columns=cols, wide=wide)


@app.command()
def query(
    name: Annotated[str | None, typer.Argument(help="The query to run; see --list.")] = None,
    list_queries: Annotated[
        bool, typer.Option("--list", help="List every query with its parameters.")
    ] = False,
    explain: Annotated[
        bool,
        typer.Option("--explain", help="Print what the query computes and how to read it."),
    ] = False,
    since: Annotated[
        str | None, typer.Option(help="From this time: 7d, 12h, 2026-11-01 or ISO time (UTC).")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Before this time (forms as --since).")] = None,
    session: Annotated[str | None, typer.Option(help="Only this session id.")] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", help="A query parameter as key=value (repeat for more)."),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help=_FORMAT_HELP)] = "table",
    db: Annotated[Path | None, typer.Option(help=_DB_HELP)] = None,
    backend: Annotated[str | None, typer.Option(help=_BACKEND_HELP)] = None,
    clickhouse_url: _ChUrl = None,
    clickhouse_user: _ChUser = None,
    clickhouse_database: _ChDatabase = None,
    from_dir: Annotated[Path | None, typer.Option("--from", help=_FROM_HELP)] = None,
    by: Annotated[
        str | None,
        typer.Option(
            "--by",
            help="cost and tokens per model (default), project, user, team, department, "
            "cost_center, host, version, terminal, session or day; sessions and tool-usage "
            "per project (default) and the rest.",
        ),
    ] = None,
    project: Annotated[
        str | None,
        typer.Option(help="Only this project, as --by project prints it, e.g. '(no repository)'."),
    ] = None,
    user: Annotated[
        str | None, typer.Option(help="Only this user, as --by user prints it (a hash by default).")
    ] = None,
    team: Annotated[
        str | None, typer.Option(help="Only this team.id, as --by team prints it.")
    ] = None,
    model: Annotated[
        str | None, typer.Option(help="Only this model (cost, tokens, blocks, api-latency, ...).")
    ] = None,
    timezone: _Timezone = None,
    utc: _Utc = False,
    limit: _Limit = None,
    order: _Order = None,
    columns: _Columns = None,
    wide: _Wide = False,
) -> None:
    """Run a query from the pack: sessions, cost, tokens, tool-usage, error-analysis, ...

    Works while `otelcap serve` runs (through its local endpoint) and when it does not, and on
    a bundle from `otelcap export` without importing it (--from DIR).

    Example: otelcap query cost --since 30d --param period=week

    Example (on ClickHouse): otelcap query sessions --backend clickhouse --since 7d

    Example (a colleague's bundle): otelcap query error-analysis --from ./bundle

    Example (how to read it): otelcap query error-analysis --explain

    Example (per team, UTC days): otelcap query cost --by team --utc --order -cost_usd

    Example (one team's sessions per project): otelcap query sessions --by project --team platform

    --project, --user, --team and --model take a label of the --by output and keep that
    group's records; `query --list` names the filters each query takes.

    Times are local (with their offset) unless --utc or --timezone says otherwise; on a
    terminal the table fits its width and names the columns it left out (--wide shows all).
    """
    from otelcap import answer, config, querypack
    from otelcap.errors import OtelcapError

    try:
        if list_queries or name is None:
            if fmt not in ("table", "json"):
                raise ConfigError(f"--list takes --format table or json, got {fmt!r}")
            typer.echo(querypack.describe_all("json" if fmt == "json" else "text"))
            return
        if explain:
            typer.echo(querypack.explain(answer.check_query(name).name))
            return
        cfg = config.load(
            {
                **_store_flags(backend, db, clickhouse_url, clickhouse_user, clickhouse_database),
            }
        )
        zone, shape = _view(cfg, timezone, utc, limit, order, columns, wide)
        typer.echo(
            answer.run_named(
                cfg, name, since, until, session, param or [], fmt, from_dir,
                by=by, tz=zone, shape=shape,
                filters={"project": project, "user": user, "team": team, "model": model},
            )
        )  # fmt: skip
    except OtelcapError as exc:
        _fail(exc)


@app.command()
def sql(
    statement: Annotated[str, typer.Argument(help="One read-only SQL statement.")],
    fmt: Annotated[str, typer.Option("--format", help=_FORMAT_HELP)] = "table",
    db: Annotated[Path | None, typer.Option(help=_DB_HELP)] = None,
    backend: Annotated[str | None, typer.Option(help=_BACKEND_HELP)] = None,
    clickhouse_url: _ChUrl = None,
    clickhouse_user: _ChUser = None,
    clickhouse_database: _ChDatabase = None,
    from_dir: Annotated[Path | None, typer.Option("--from", help=_FROM_HELP)] = None,
    timezone: _Timezone = None,
    utc: _Utc = False,
    limit: _Limit = None,
    order: _Order = None,
    columns: _Columns = None,
    wide: _Wide = False,
) -> None:
    """Run one read-only SQL statement (in the backend's dialect) on the stored telemetry.

    One SELECT (or EXPLAIN [ANALYZE] of one) over otelcap's tables; writes, DDL, COPY, ATTACH,
    SET, PRAGMA, CHECKPOINT and file readers (read_csv, glob, ...) are refused, exit code 1.

    An attribute with a typed column (session.id: SessionId, model: Model, cost_usd: CostUsd,
    ...) is read from the column. In DuckDB it is not in otel_logs' LogAttributes; the view
    otel_logs_full has every map whole, as ClickHouse's otel_logs and export bundles do.

    Example: otelcap sql "SELECT EventName, count(*) AS n FROM otel_logs GROUP BY 1 ORDER BY n DESC"

    Example: otelcap sql "SELECT LogAttributes['session.id'] AS s FROM otel_logs_full LIMIT 3"
    """
    from otelcap import answer, config
    from otelcap.errors import OtelcapError

    try:
        cfg = config.load(
            {
                **_store_flags(backend, db, clickhouse_url, clickhouse_user, clickhouse_database),
            }
        )
        zone, shape = _view(cfg, timezone, utc, limit, order, columns, wide)
        typer.echo(answer.run_sql(cfg, statement, fmt, from_dir, tz=zone, shape=shape))
    except OtelcapError as exc:
        _fail(exc)


# --- show: one session's or one turn's story --------------------------------------------------

show_app = typer.Typer(
    help="Tell one session's or one turn's story: events and spans with durations, tool calls "
    "and permission decisions, API calls, errors, time waiting on the user, subagents.\n\n"
    "Example: otelcap show turn 3f2a",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(show_app, name="show")

_SHOW_FORMAT_HELP = "text (default, for people) or json (for scripts)."


def _show(
    what: str,
    prefix: str,
    fmt: str,
    db: Path | None,
    backend: str | None,
    clickhouse_url: str | None,
    clickhouse_user: str | None,
    clickhouse_database: str | None,
    timezone: str | None,
    utc: bool,
) -> None:
    from otelcap import config, show
    from otelcap.errors import OtelcapError

    try:
        cfg = config.load(
            _store_flags(backend, db, clickhouse_url, clickhouse_user, clickhouse_database)
        )
        zone, _shape = _view(cfg, timezone, utc, None, None, None, False)
        story = show.show_session if what == "session" else show.show_turn
        typer.echo(story(cfg, prefix, fmt, zone))
    except OtelcapError as exc:
        _fail(exc)


@show_app.command("session")
def show_session(
    session_id: Annotated[str, typer.Argument(help="A session id, or any unique prefix of one.")],
    fmt: Annotated[str, typer.Option("--format", help=_SHOW_FORMAT_HELP)] = "text",
    db: Annotated[Path | None, typer.Option(help=_DB_HELP)] = None,
    backend: Annotated[str | None, typer.Option(help=_BACKEND_HELP)] = None,
    clickhouse_url: _ChUrl = None,
    clickhouse_user: _ChUser = None,
    clickhouse_database: _ChDatabase = None,
    timezone: _Timezone = None,
    utc: _Utc = False,
) -> None:
    """Print a session turn by turn: what happened, what it cost, where it failed.

    Exit codes: 0 shown, 1 no session starts with the prefix, 2 several do (they are listed).

    Example: otelcap show session eca05f33

    Example (for scripts, in UTC): otelcap show session eca05f33 --format json --utc
    """
    _show("session", session_id, fmt, db, backend, clickhouse_url, clickhouse_user,
          clickhouse_database, timezone, utc)  # fmt: skip


@show_app.command("turn")
def show_turn(
    prompt_id: Annotated[str, typer.Argument(help="A prompt.id, or any unique prefix of one.")],
    fmt: Annotated[str, typer.Option("--format", help=_SHOW_FORMAT_HELP)] = "text",
    db: Annotated[Path | None, typer.Option(help=_DB_HELP)] = None,
    backend: Annotated[str | None, typer.Option(help=_BACKEND_HELP)] = None,
    clickhouse_url: _ChUrl = None,
    clickhouse_user: _ChUser = None,
    clickhouse_database: _ChDatabase = None,
    timezone: _Timezone = None,
    utc: _Utc = False,
) -> None:
    """Print one turn (one prompt): its events and spans, tools, API calls, errors, waiting.

    `otelcap query errors-sample` prints this command for each failing turn it samples.

    Exit codes: 0 shown, 1 no turn starts with the prefix, 2 several do (they are listed).

    Example: otelcap show turn 3f2a --timezone Europe/Berlin
    """
    _show("turn", prompt_id, fmt, db, backend, clickhouse_url, clickhouse_user,
          clickhouse_database, timezone, utc)  # fmt: skip


# --- operations: setup claude, doctor, status -------------------------------------------------

_OPS_FORMAT_HELP = "text (default, for people) or json (stable, for scripts)."

setup_app = typer.Typer(
    help="Set up the programs that send to otelcap.\n\nExample: otelcap setup claude --write",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(setup_app, name="setup")


@setup_app.command("claude")
def setup_claude(
    protocol: Annotated[
        str | None,
        typer.Option(
            help="grpc (port 4317), http/protobuf or http/json (port 4318). Default: the one "
            "settings.json already uses, else grpc."
        ),
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="shell (export lines, default) or dotenv (.env).")
    ] = "shell",
    write: Annotated[
        bool,
        typer.Option(
            "--write", help="Merge into Claude Code's settings.json `env` block (backup first)."
        ),
    ] = False,
    settings: Annotated[
        Path | None,
        typer.Option(
            help="settings.json to write (default ~/.claude/settings.json, or in "
            "$CLAUDE_CONFIG_DIR)."
        ),
    ] = None,
    log_prompts: Annotated[
        bool | None,
        typer.Option(
            "--log-prompts/--no-log-prompts",
            help="Send prompt text (OTEL_LOG_USER_PROMPTS=1); otelcap stores a keyed hash and "
            "the length, never the text (`otelcap privacy`).",
        ),
    ] = None,
    tool_details: Annotated[
        bool | None,
        typer.Option(
            "--tool-details/--no-tool-details",
            help="Send tool parameters, Bash commands, file paths and tool error text "
            "(OTEL_LOG_TOOL_DETAILS=1); otelcap hashes the content and masks secrets.",
        ),
    ] = None,
    traces: Annotated[
        bool | None,
        typer.Option(
            "--traces/--no-traces",
            help="Send spans, a Claude Code beta (CLAUDE_CODE_ENHANCED_TELEMETRY_BETA=1): "
            "per-request and per-tool timing; otelcap sanitizes them like events.",
        ),
    ] = None,
    host: Annotated[
        str | None,
        typer.Option(help="Host Claude Code sends to (default: where otelcap listens)."),
    ] = None,
    grpc_port: Annotated[
        int | None, typer.Option(help="otelcap's gRPC port (default 4317).")
    ] = None,
    http_port: Annotated[
        int | None, typer.Option(help="otelcap's HTTP port (default 4318).")
    ] = None,
    statusline: Annotated[
        bool,
        typer.Option(
            "--statusline",
            help="Set settings.json's `statusLine` to `otelcap statusline` (session cost, "
            "today's cost, burn rate); with --write the env block too, in one write.",
        ),
    ] = False,
) -> None:
    """Print (or write) the environment that points Claude Code at otelcap.

    Without --write it prints shell exports or a .env file. With --write it merges the
    variables into the `env` block of Claude Code's settings.json: a timestamped backup is made
    first, other keys and variables are kept, running it again changes nothing, and a file
    that is not valid JSON is refused. With --write, an omitted content flag leaves the
    file's value as it is; --no-… removes it, and each changed variable is shown old → new.
    The protocol the file already uses is kept unless --protocol is given, and a running
    otelcap's ports are used unless --grpc-port/--http-port are.

    Example: otelcap setup claude --protocol http/protobuf --tool-details --write

    Example: otelcap setup claude --write --statusline

    Exit codes: 0 ok, 2 a usage or configuration error (such as invalid JSON in the file).
    """
    from otelcap import config
    from otelcap.ops import claude

    try:
        cfg = config.load({"grpc_port": grpc_port, "http_port": http_port})
        path = settings or config.claude_settings_file()
        where = claude.target(cfg, ports_given=grpc_port is not None or http_port is not None)
        content = {"log_prompts": log_prompts, "tool_details": tool_details, "traces": traces}
        chosen = protocol or claude.configured_protocol(path) or "grpc"
        env = claude.build(where.config, chosen, host, content)
        line = claude.statusline_setting() if statusline else None
        if write or statusline:
            result = claude.write_settings(path, env if write else None, line)
            typer.echo(claude.render_write(result))
        else:
            typer.echo(claude.render(env, fmt))
        if where.note:
            typer.echo(where.note, err=True)
    except ConfigError as exc:
        _fail(exc)


service_app = typer.Typer(
    help="Keep `otelcap serve` running in the background: a systemd user unit on Linux, a "
    "launchd agent on macOS; it starts at login and restarts after a failure.\n\n"
    "Example: otelcap service install",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(service_app, name="service")


@service_app.command("install")
def service_install(
    backend: Annotated[str | None, typer.Option(help="duckdb (default) or clickhouse.")] = None,
    db: Annotated[Path | None, typer.Option(help="DuckDB file the service writes.")] = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    grpc_port: Annotated[int | None, typer.Option(help="OTLP/gRPC port (default 4317).")] = None,
    http_port: Annotated[int | None, typer.Option(help="OTLP/HTTP port (default 4318).")] = None,
    clickhouse_url: _ChUrl = None,
    clickhouse_user: _ChUser = None,
    clickhouse_database: _ChDatabase = None,
    retention: Annotated[str | None, typer.Option(help="As for serve: 90d, 0 keeps all.")] = None,
) -> None:
    """Install and start the background collector (again: only what changed).

    The service runs `otelcap serve` with these flags and the OTELCAP_* variables set here
    (secrets such as OTELCAP_CLICKHOUSE_PASSWORD excepted: put them in the config file).
    Running it twice changes nothing.

    Example: otelcap service install --db ~/claude.duckdb

    Exit codes: 0 installed and started, 1 the service manager refused (the message says what
    to run), 2 a usage or configuration error.
    """
    from otelcap import config
    from otelcap.ops import userservice

    flags = {"--backend": backend, "--db": db.resolve() if db else None, "--host": host,
             "--grpc-port": grpc_port, "--http-port": http_port,
             "--clickhouse-url": clickhouse_url, "--clickhouse-user": clickhouse_user,
             "--clickhouse-database": clickhouse_database, "--retention": retention}  # fmt: skip
    serve_args = [str(a) for k, v in flags.items() if v is not None for a in (k, v)]
    try:
        cfg = config.load(
            {
                **_store_flags(backend, db, clickhouse_url, clickhouse_user, clickhouse_database),
                "host": host,
                "grpc_port": grpc_port,
                "http_port": http_port,
                "retention": retention,
            }
        )
        outcome = userservice.install(cfg, serve_args)
    except OtelcapError as exc:
        _fail(exc)
    typer.echo("\n".join(outcome.lines))
    for name in userservice.skipped_secrets():
        typer.echo(f"note: {name} is set here but not written into the unit; put it in the "
                   "config file so the service has it")  # fmt: skip


@service_app.command("uninstall")
def service_uninstall() -> None:
    """Stop the background collector and remove its unit; logs and data stay.

    Example: otelcap service uninstall
    """
    from otelcap.ops import userservice

    typer.echo("\n".join(userservice.uninstall().lines))


@service_app.command("start")
def service_start() -> None:
    """Start the installed background collector.

    Example: otelcap service start
    """
    _service_control("start")


@service_app.command("stop")
def service_stop() -> None:
    """Stop the background collector until the next login or `otelcap service start`.

    Example: otelcap service stop
    """
    _service_control("stop")


def _service_control(action: str) -> None:
    from otelcap.ops import userservice

    try:
        typer.echo("\n".join(userservice.control(action).lines))
    except OtelcapError as exc:
        _fail(exc)


@service_app.command("status")
def service_status(
    fmt: Annotated[str, typer.Option("--format", help=_OPS_FORMAT_HELP)] = "text",
) -> None:
    """Is the background collector installed, running, and answering?

    Example: otelcap service status --format json

    Exit codes: 0 running, 1 installed but not running, or not installed; 2 a usage error.
    """
    from otelcap import config
    from otelcap.ops import userservice

    try:
        _text_or_json(fmt)
        cfg = config.load({})
    except ConfigError as exc:
        _fail(exc)
    report = userservice.report(cfg)
    typer.echo(userservice.render(report, fmt))
    raise typer.Exit(0 if report["running"] else 1)


@service_app.command("logs")
def service_logs(
    lines: Annotated[int, typer.Option("--lines", "-n", help="How many lines to show.")] = 50,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new lines (Ctrl-C stops).")
    ] = False,
) -> None:
    """Show the background collector's log (<data_dir>/logs/otelcap.log).

    Example: otelcap service logs -n 100 --follow

    Exit codes: 0 shown, 1 no log yet, 2 a usage error.
    """
    from otelcap import config
    from otelcap.ops import userservice

    try:
        cfg = config.load({})
        for line in userservice.logs(cfg, lines, follow):
            typer.echo(line)
    except OtelcapError as exc:
        _fail(exc)
    except KeyboardInterrupt:
        pass


@app.command()
def doctor(
    fmt: Annotated[str, typer.Option("--format", help=_OPS_FORMAT_HELP)] = "text",
    backend: Annotated[
        str | None, typer.Option(help="Check this backend: duckdb (default) or clickhouse.")
    ] = None,
    db: Annotated[Path | None, typer.Option(help=_DB_HELP)] = None,
    grpc_port: Annotated[
        int | None, typer.Option(help="gRPC port to check (default 4317).")
    ] = None,
    http_port: Annotated[
        int | None, typer.Option(help="HTTP port to check (default 4318).")
    ] = None,
    clickhouse_url: _ChUrl = None,
    clickhouse_user: _ChUser = None,
    clickhouse_database: _ChDatabase = None,
) -> None:
    """Check the set-up and show what has arrived from Claude Code, each line ✓/✗ with what
    to do.

    Checks the data directory and disk space, the ports, the database (or ClickHouse), then
    what has arrived: events and metrics per name and when last seen, Claude Code versions,
    protocol, metric temporality, and content missing because a Claude Code flag is off.
    Warnings (!) do not fail the check.

    Example: otelcap doctor --format json

    Exit codes: 0 ok, 1 a check failed, 2 a usage or configuration error.
    """
    from otelcap.ops import doctor as doc

    overrides = {
        **_store_flags(backend, db, clickhouse_url, clickhouse_user, clickhouse_database),
        "grpc_port": grpc_port,
        "http_port": http_port,
    }
    try:
        _text_or_json(fmt)
        report = doc.diagnose(overrides)
    except OtelcapError as exc:
        _fail(exc)
    typer.echo(doc.render(report, fmt))
    raise typer.Exit(0 if report.ok else 1)


@app.command()
def status(
    fmt: Annotated[str, typer.Option("--format", help=_OPS_FORMAT_HELP)] = "text",
    backend: Annotated[str | None, typer.Option(help=_BACKEND_HELP)] = None,
    db: Annotated[Path | None, typer.Option(help=_DB_HELP)] = None,
    clickhouse_url: _ChUrl = None,
    clickhouse_user: _ChUser = None,
    clickhouse_database: _ChDatabase = None,
) -> None:
    """Show whether otelcap is running, its endpoints, rows per table, database size, ingest
    rate over the last minute and spool size.

    Example: otelcap status --format json

    Exit codes: 0 running and storing, 1 not running (or not storing), 2 a usage or
    configuration error.
    """
    from otelcap import config
    from otelcap.ops import status as st

    try:
        _text_or_json(fmt)
        cfg = config.load(
            {
                **_store_flags(backend, db, clickhouse_url, clickhouse_user, clickhouse_database),
            }
        )
        result = st.collect(cfg)
    except OtelcapError as exc:
        _fail(exc)
    typer.echo(st.render(result, fmt))
    raise typer.Exit(0 if result.ok else 1)


@app.command()
def statusline(
    at: Annotated[
        str | None,
        typer.Option(
            help="The moment that decides today and the active 5-hour block (--since forms; "
            "default now)."
        ),
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="line (default) or json (the server's figures).")
    ] = "line",
) -> None:
    """Print one line for Claude Code's status bar: this session's cost, today's cost (local
    day) and the burn rate of the active 5-hour block, from the running otelcap.

    Claude Code runs it with the session's JSON on stdin (`otelcap setup claude --statusline`
    adds it to settings.json). It always prints one line and exits 0: "otelcap: not running"
    when no server runs. `python -m otelcap statusline` (what setup writes) answers before
    Typer loads; bench/statusline.py times it.

    Example: echo '{"session_id": "…"}' | otelcap statusline
    """
    from otelcap import statusline as line

    args = ["--format", fmt] + (["--at", at] if at else [])
    raise typer.Exit(line.main(args))


# --- budget -----------------------------------------------------------------------------------

budget_app = typer.Typer(
    help="Spending limits, and spend so far today, this week and this month against them.\n\n"
    "With no command, prints the status (as `otelcap budget status`): each period's spend, "
    "limit, % used (warnings at 80% and 90%; 100% is over the limit) and a linear run-rate "
    "projection. Periods are in local time: the day from midnight, the week from Monday, "
    "the month from the 1st.\n\n"
    "Example: otelcap budget set --daily 20 --monthly 400\n\n"
    "Example (cron): otelcap budget > /dev/null || notify-send 'Claude Code budget reached'"
    "\n\nExit codes: 0 within every limit, 1 a limit reached or passed (or the spend could "
    "not be read), 2 a usage or configuration error.",
    invoke_without_command=True,
    rich_markup_mode=None,
)
app.add_typer(budget_app, name="budget")

_BUDGET_STATUS_DOC = """Print each period's spend so far, its limit, % used and a projection.

    Periods are in local time (the machine's time zone): the day from midnight, the week from
    Monday, the month from the 1st. Warnings at 80% and 90%; at 100% the limit is reached
    ("over the limit"). The projection is a linear run rate: spend so far / the share of the
    period gone by.
    Spend is api_request cost_usd, as in `otelcap query cost`.

    Example: otelcap budget --format json

    Exit codes: 0 within every limit (warnings included), 1 a limit reached or passed (or
    the spend could not be read), 2 a usage or configuration error.
    """


def _budget_status(
    fmt: str,
    backend: str | None,
    db: Path | None,
    clickhouse_url: str | None,
    clickhouse_user: str | None,
    clickhouse_database: str | None,
) -> NoReturn:
    from otelcap import config
    from otelcap.errors import OtelcapError
    from otelcap.ops import budget

    try:
        _text_or_json(fmt)
        cfg = config.load(
            _store_flags(backend, db, clickhouse_url, clickhouse_user, clickhouse_database)
        )
        report = budget.status(cfg)
    except OtelcapError as exc:
        _fail(exc)
    typer.echo(budget.render(report, fmt))
    raise typer.Exit(1 if report.over else 0)


@budget_app.callback()
def budget_main(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", help=_OPS_FORMAT_HELP)] = "text",
    backend: Annotated[str | None, typer.Option(help=_BACKEND_HELP)] = None,
    db: Annotated[Path | None, typer.Option(help=_DB_HELP)] = None,
    clickhouse_url: _ChUrl = None,
    clickhouse_user: _ChUser = None,
    clickhouse_database: _ChDatabase = None,
) -> None:
    """Spending limits; with no command, the status."""
    if ctx.invoked_subcommand is None:
        _budget_status(fmt, backend, db, clickhouse_url, clickhouse_user, clickhouse_database)


@budget_app.command("status")
def budget_status(
    fmt: Annotated[str, typer.Option("--format", help=_OPS_FORMAT_HELP)] = "text",
    backend: Annotated[str | None, typer.Option(help=_BACKEND_HELP)] = None,
    db: Annotated[Path | None, typer.Option(help=_DB_HELP)] = None,
    clickhouse_url: _ChUrl = None,
    clickhouse_user: _ChUser = None,
    clickhouse_database: _ChDatabase = None,
) -> None:
    _budget_status(fmt, backend, db, clickhouse_url, clickhouse_user, clickhouse_database)


budget_status.__doc__ = _BUDGET_STATUS_DOC

_LIMIT_HELP = "Limit in USD for the {}; 0 removes it."


@budget_app.command("set")
def budget_set(
    daily: Annotated[float | None, typer.Option(help=_LIMIT_HELP.format("day"))] = None,
    weekly: Annotated[
        float | None, typer.Option(help=_LIMIT_HELP.format("week (from Monday)"))
    ] = None,
    monthly: Annotated[float | None, typer.Option(help=_LIMIT_HELP.format("month"))] = None,
) -> None:
    """Store spending limits in the config file's [budget] table (other settings are kept).

    The file is ~/.config/otelcap/config.toml, or $OTELCAP_CONFIG. Limits not given stay as
    they are.

    Example: otelcap budget set --daily 20 --weekly 100 --monthly 400

    Exit codes: 0 stored, 2 a usage or configuration error.
    """
    from otelcap import config
    from otelcap.ops import budget

    try:
        path = config.config_file_path()
        limits = budget.set_limits(path, {"daily": daily, "weekly": weekly, "monthly": monthly})
    except ConfigError as exc:
        _fail(exc)
    typer.echo(budget.render_limits(path, limits))


@budget_app.command("clear")
def budget_clear(
    daily: Annotated[bool, typer.Option("--daily", help="Remove the daily limit.")] = False,
    weekly: Annotated[bool, typer.Option("--weekly", help="Remove the weekly limit.")] = False,
    monthly: Annotated[bool, typer.Option("--monthly", help="Remove the monthly limit.")] = False,
) -> None:
    """Remove spending limits from the config file: the ones named, or all of them.

    Example: otelcap budget clear --daily

    Exit codes: 0 removed, 2 a usage or configuration error.
    """
    from otelcap import config
    from otelcap.ops import budget

    which = [k for k, on in (("daily", daily), ("weekly", weekly), ("monthly", monthly)) if on]
    try:
        path = config.config_file_path()
        limits = budget.clear_limits(path, which)
    except ConfigError as exc:
        _fail(exc)
    typer.echo(budget.render_limits(path, limits))


# --- share and keep: export, import, prune ----------------------------------------------------

_SHARE_FORMAT_HELP = "text (a progress bar on a terminal, a summary) or json (quiet, for scripts)."


@app.command()
def export(
    directory: Annotated[
        Path | None,
        typer.Argument(help="A new or empty directory (default: ./otelcap-export-<UTC time>)."),
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Rows from this time: 30d, 12h, 2026-11-01, ISO (UTC).")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Rows before this time (forms as --since).")
    ] = None,
    tables: Annotated[
        list[str] | None,
        typer.Option(
            help="Only these tables, comma separated or repeated: logs, traces, "
            "metrics_sum, ... (default: all)."
        ),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help=_SHARE_FORMAT_HELP)] = "text",
    db: Annotated[Path | None, typer.Option(help=_DB_HELP)] = None,
    backend: Annotated[str | None, typer.Option(help=_BACKEND_HELP)] = None,
    clickhouse_url: _ChUrl = None,
    clickhouse_user: _ChUser = None,
    clickhouse_database: _ChDatabase = None,
) -> None:
    """Export the stored telemetry as a sanitized Parquet bundle to share or keep.

    One dataset per table, partitioned by UTC day (otel_logs/date=2026-11-27/part-0.parquet),
    zstd, and manifest.json: versions, row counts, time range, the privacy rules, a sha256 per
    file. Works while `otelcap serve` runs (through it) and when it does not.

    Example: otelcap export ./claude-bundle --since 30d
    """
    from otelcap import config, progress
    from otelcap import export as bundle
    from otelcap.errors import OtelcapError

    try:
        cfg = config.load(
            _store_flags(backend, db, clickhouse_url, clickhouse_user, clickhouse_database)
        )
        out = directory or bundle.default_directory()
        with progress.bar("exporting", enabled=_text_or_json(fmt) == "text") as update:
            manifest = bundle.export_bundle(cfg, out, since, until, tables, update)
        typer.echo(bundle.render_export(bundle.summary(manifest, out), fmt))
    except OtelcapError as exc:
        _fail(exc)


@app.command("import")
def import_(
    directories: Annotated[list[Path], typer.Argument(help="Bundles written by `otelcap export`.")],
    fmt: Annotated[str, typer.Option("--format", help=_SHARE_FORMAT_HELP)] = "text",
    db: Annotated[Path | None, typer.Option(help=_DB_HELP)] = None,
) -> None:
    """Merge exported bundles (other machines, colleagues) into the DuckDB store.

    Idempotent: a record already stored is not stored again, so importing a bundle twice or
    bundles that overlap keeps each record once; different records are never merged. Files are
    checked against the manifest's sha256 first, and a bundle of a schema version this otelcap
    cannot read is refused. While `otelcap serve` runs, it does the merge (ingest goes on).

    Example: otelcap import ./laptop-bundle ./desktop-bundle
    """
    from otelcap import config, progress
    from otelcap import export as bundle
    from otelcap.errors import OtelcapError

    try:
        cfg = config.load({"db_path": db})
        with progress.bar("importing", enabled=_text_or_json(fmt) == "text") as update:
            result = bundle.import_bundles(cfg, directories, update)
        typer.echo(bundle.render_import(result, fmt))
    except OtelcapError as exc:
        _fail(exc)


@app.command()
def prune(
    older_than: Annotated[
        str, typer.Option(help="Delete rows older than this: 30d, 12w, 36h (by their time).")
    ],
    fmt: Annotated[str, typer.Option("--format", help=_OPS_FORMAT_HELP)] = "text",
    db: Annotated[Path | None, typer.Option(help=_DB_HELP)] = None,
) -> None:
    """Delete old rows from the DuckDB store now (serve also does it hourly, see --retention).

    Works while `otelcap serve` runs (it does the deleting, ingest goes on). ClickHouse drops
    old rows by its TTL instead.

    Example: otelcap prune --older-than 30d
    """
    from otelcap import config, retention
    from otelcap.errors import OtelcapError

    try:
        fmt = _text_or_json(fmt)
        cfg = config.load({"db_path": db})
        typer.echo(retention.render(retention.prune(cfg, older_than), fmt))
    except OtelcapError as exc:
        _fail(exc)


@app.command()
def report(
    html: Annotated[
        Path, typer.Option("--html", help="The HTML file to write (replaced if it exists).")
    ],
    since: Annotated[
        str, typer.Option(help="From this time until now: 30d, 12h, 2026-11-01 or ISO (UTC).")
    ] = "30d",
    open_it: Annotated[
        bool, typer.Option("--open", help="Open the file in the default web browser.")
    ] = False,
    model: Annotated[str, typer.Option(help=_FILTER_HELP.format("model"))] = "",
    project: Annotated[str, typer.Option(help=_FILTER_HELP.format("project"))] = "",
    user: Annotated[str, typer.Option(help=_FILTER_HELP.format("user"))] = "",
    team: Annotated[str, typer.Option(help=_FILTER_HELP.format("team"))] = "",
    db: Annotated[Path | None, typer.Option(help=_DB_HELP)] = None,
    backend: Annotated[str | None, typer.Option(help=_BACKEND_HELP)] = None,
    clickhouse_url: _ChUrl = None,
    clickhouse_user: _ChUser = None,
    clickhouse_database: _ChDatabase = None,
) -> None:
    """Write the dashboard as one self-contained HTML file that opens offline.

    Overview (cost today, 7 and 30 days, cache hits, cost per commit, productive vs wasted
    sessions), cost and tokens over time, sessions with a page each, tools, error analysis,
    changes by version. Every number is a query pack answer (the page names the
    `otelcap query` that prints it); the data is the sanitized telemetry, so the file can be
    shared. Works while `otelcap serve` runs (through it) and when it does not.

    --model, --project, --user and --team keep only what has that label (as `otelcap query
    cost --by project` prints it); the page says which it was written for.

    Example: otelcap report --html claude-week.html --since 7d --open
    """
    import webbrowser

    from otelcap import config
    from otelcap import report as report_mod
    from otelcap.errors import OtelcapError

    def progress(message: str) -> None:
        if sys.stderr.isatty():  # one line, rewritten: nothing to clean up in a pipe or log
            sys.stderr.write(f"\r\033[Kotelcap report: {message}")
            sys.stderr.flush()

    try:
        cfg = config.load(
            _store_flags(backend, db, clickhouse_url, clickhouse_user, clickhouse_database)
        )
        with report_mod.pack_runner(cfg) as run:
            filters = {"model": model, "project": project, "user": user, "team": team}
            path = report_mod.build(
                run,
                html,
                since,
                tz=config.zone(cfg),
                progress=progress,
                filters=filters,
                limits=cfg.budget_limits,
            )
    except OtelcapError as exc:
        progress("")
        _fail(exc)
    progress("")
    typer.echo(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB); open it in a web browser")
    if open_it:
        webbrowser.open(path.resolve().as_uri())


@app.command()
def ui(
    no_open: Annotated[
        bool,
        typer.Option("--no-open", help="Print the link; do not open a browser."),
    ] = False,
    port: Annotated[
        int,
        typer.Option(help="With no server running: the port to serve on (0 picks a free one)."),
    ] = 0,
    db: Annotated[Path | None, typer.Option(help=_DB_HELP)] = None,
    backend: Annotated[str | None, typer.Option(help=_BACKEND_HELP)] = None,
    clickhouse_url: _ChUrl = None,
    clickhouse_user: _ChUser = None,
    clickhouse_database: _ChDatabase = None,
) -> None:
    """Open the dashboard: the report's views, live, with filters.

    While `otelcap serve` runs, it serves the dashboard on 127.0.0.1; this command asks it
    for a one-time link (good for 2 minutes) and opens it, or prints it when there is no
    desktop or with --no-open. The link sets a cookie for this browser and nothing is served
    without it. The page refreshes by itself as more telemetry arrives. With no server
    running, this command serves the database itself, read-only, until Ctrl-C.

    Example: otelcap ui
    """
    from otelcap import access, config, dashboard

    def show(url: str, lead: str) -> None:
        opened = not no_open and dashboard.open_in_browser(url)
        verb = "opened in your browser" if opened else "open this link (good once, for 2 min)"
        typer.echo(f"{lead}; {verb}:\n  {url}")
        sys.stdout.flush()

    try:
        cfg = config.load(
            _store_flags(backend, db, clickhouse_url, clickhouse_user, clickhouse_database)
        )
        found = access.dashboard_link(cfg)
        if found is not None:
            record, url = found
            show(url, f"the dashboard of the running otelcap (pid {record.pid}, {record.target})")
            return

        def ready(_board: object, url: str) -> None:
            lead = (
                f"no otelcap server runs: serving {access.location(cfg)} read-only until "
                "Ctrl-C (it does not refresh by itself; reload the page for new data)"
            )
            show(url, lead)

        dashboard.serve_local(cfg, port, ready, config_file=config.config_file_path())
    except OtelcapError as exc:
        _fail(exc)
    typer.echo("otelcap ui stopped.")


def main() -> None:
    # Every command: DuckDB creates the database, its WAL and spill files with the process
    # umask; otelcap's data is the user's alone (0600 files, 0700 directories, files.py).
    private_umask()
    app()


if __name__ == "__main__":
    main()

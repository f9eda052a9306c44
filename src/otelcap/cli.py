"""The otelcap command line. Each command: flags → config → one call → print.

Heavy modules (grpc, duckdb, pyarrow) are imported inside commands so `otelcap --help`
stays fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from otelcap import __version__
from otelcap.errors import ConfigError
from otelcap.files import private_umask

app = typer.Typer(
    name="otelcap",
    help=(
        "A local collector for Claude Code telemetry: OTLP in, sanitized DuckDB out.\n\n"
        "Example: otelcap serve"
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)

EXIT_CONFIG = 2  # bad flags, config or a port/database that is taken


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
    if fmt not in ("text", "json"):
        raise ConfigError(f"--format must be text or json, got {fmt!r}")
    return fmt


def _fail(exc: Exception) -> NoReturn:
    """Print the error; exit 2 for a usage or configuration error, 1 for anything else."""
    typer.echo(f"otelcap: {exc}", err=True)
    raise typer.Exit(EXIT_CONFIG if isinstance(exc, ConfigError) else 1) from None


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
    clickhouse_url: _ChUrl = None,
    clickhouse_user: _ChUser = None,
    clickhouse_database: _ChDatabase = None,
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

    \b
    Example (a team's ClickHouse; password in OTELCAP_CLICKHOUSE_PASSWORD):
    otelcap serve --backend clickhouse --clickhouse-url https://ch.example.com:8443/otel
    """
    from otelcap import banner, config, logfmt
    from otelcap.storage import location

    try:
        logfmt.setup(log_level, log_format)  # masks the query token and configured passwords
        cfg = config.load(
            {
                **_store_flags(backend, db, clickhouse_url, clickhouse_user, clickhouse_database),
                "host": host,
                "grpc_port": grpc_port,
                "http_port": http_port,
                "retention": retention,
            }
        )
        from otelcap.service import Service

        service = Service(cfg)
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
_DB_HELP = "DuckDB file. Default: otelcap.duckdb in the user data directory."
_BACKEND_HELP = "Where the data is: duckdb (embedded file) or clickhouse (see --clickhouse-url)."
_FROM_HELP = "Run on a bundle written by `otelcap export` (DuckDB SQL), not on the store."


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
) -> None:
    """Run a query from the pack: sessions, cost, tokens, tool-usage, error-analysis, ...

    Works while `otelcap serve` runs (through its local endpoint) and when it does not, and on
    a bundle from `otelcap export` without importing it (--from DIR).

    Example: otelcap query cost --since 30d --param period=week

    Example (on ClickHouse): otelcap query sessions --backend clickhouse --since 7d

    Example (a colleague's bundle): otelcap query error-analysis --from ./bundle

    Example (how to read it): otelcap query error-analysis --explain
    """
    from otelcap import config, querypack
    from otelcap.errors import OtelcapError

    try:
        if list_queries or name is None:
            typer.echo(querypack.describe_all())
            return
        if explain:
            typer.echo(querypack.explain(name))
            return
        cfg = config.load(
            {
                **_store_flags(backend, db, clickhouse_url, clickhouse_user, clickhouse_database),
            }
        )
        typer.echo(
            querypack.run_named(cfg, name, since, until, session, param or [], fmt, from_dir)
        )
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
) -> None:
    """Run one read-only SQL statement (in the backend's dialect) on the stored telemetry.

    One SELECT (or EXPLAIN [ANALYZE] of one) over otelcap's tables; writes, DDL, COPY, ATTACH,
    SET, PRAGMA, CHECKPOINT and file readers (read_csv, glob, ...) are refused, exit code 1.

    Example: otelcap sql "SELECT EventName, count(*) AS n FROM otel_logs GROUP BY 1 ORDER BY n DESC"
    """
    from otelcap import config, querypack
    from otelcap.errors import OtelcapError

    try:
        cfg = config.load(
            {
                **_store_flags(backend, db, clickhouse_url, clickhouse_user, clickhouse_database),
            }
        )
        typer.echo(querypack.run_sql(cfg, statement, fmt, from_dir))
    except OtelcapError as exc:
        _fail(exc)


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
        str,
        typer.Option(help="grpc (port 4317), http/protobuf or http/json (port 4318)."),
    ] = "grpc",
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
) -> None:
    """Print (or write) the environment that points Claude Code at otelcap.

    Without --write it prints shell exports or a .env file. With --write it merges the
    variables into the `env` block of Claude Code's settings.json: a timestamped backup is made
    first, other keys and variables are kept, running it again changes nothing, and a file
    that is not valid JSON is refused. With --write, an omitted content flag leaves the
    file's value as it is; --no-… removes it.

    Example: otelcap setup claude --protocol http/protobuf --tool-details --write

    Exit codes: 0 ok, 2 a usage or configuration error (such as invalid JSON in the file).
    """
    from otelcap import config
    from otelcap.ops import claude

    try:
        cfg = config.load({"grpc_port": grpc_port, "http_port": http_port})
        content = {"log_prompts": log_prompts, "tool_details": tool_details, "traces": traces}
        env = claude.build(cfg, protocol, host, content)
        if write:
            result = claude.write_settings(settings or config.claude_settings_file(), env)
            typer.echo(claude.render_write(result))
        else:
            typer.echo(claude.render(env, fmt))
    except ConfigError as exc:
        _fail(exc)


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

    try:
        _text_or_json(fmt)
    except ConfigError as exc:
        _fail(exc)
    overrides = {
        **_store_flags(backend, db, clickhouse_url, clickhouse_user, clickhouse_database),
        "grpc_port": grpc_port,
        "http_port": http_port,
    }
    try:
        report = doc.diagnose(overrides)
    except ConfigError as exc:
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
    except ConfigError as exc:
        _fail(exc)
    typer.echo(st.render(result, fmt))
    raise typer.Exit(0 if result.ok else 1)


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


def main() -> None:
    # Every command: DuckDB creates the database, its WAL and spill files with the process
    # umask; otelcap's data is the user's alone (0600 files, 0700 directories, files.py).
    private_umask()
    app()


if __name__ == "__main__":
    main()

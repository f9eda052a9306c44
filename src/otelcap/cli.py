"""The otelcap command line. Each command: flags → config → one call → print.

Heavy modules (grpc, duckdb, pyarrow) are imported inside commands so `otelcap --help`
stays fast.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from otelcap import __version__
from otelcap.errors import ConfigError

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


@app.command()
def serve(
    backend: Annotated[
        str | None, typer.Option(help="Where data goes: duckdb (embedded file).")
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
) -> None:
    """Receive OTLP from Claude Code (gRPC :4317, HTTP :4318) and store it.

    Example: otelcap serve --db ./claude.duckdb --grpc-port 0 --http-port 0
    """
    from otelcap import banner, config

    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        cfg = config.load(
            {
                "backend": backend,
                "db_path": db,
                "host": host,
                "grpc_port": grpc_port,
                "http_port": http_port,
            }
        )
        from otelcap.service import Service

        service = Service(cfg)
    except ConfigError as exc:
        typer.echo(f"otelcap: {exc}", err=True)
        raise typer.Exit(EXIT_CONFIG) from None

    def ready(ep: object) -> None:
        typer.echo(
            banner.render(
                cfg.host,
                service.endpoints.grpc_port,
                service.endpoints.http_port,
                cfg.database,
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
        if fmt not in ("text", "json"):
            raise ConfigError(f"--format must be text or json, got {fmt!r}")
        rows = describe_rules(config.load({}))
    except ConfigError as exc:
        typer.echo(f"otelcap: {exc}", err=True)
        raise typer.Exit(EXIT_CONFIG) from None
    typer.echo(
        json.dumps(rows, indent=2, ensure_ascii=False) if fmt == "json" else render_rules(rows)
    )


_FORMAT_HELP = "Output: table (aligned, for people), csv, json (stable, for scripts) or markdown."
_DB_HELP = "DuckDB file. Default: otelcap.duckdb in the user data directory."
_BACKEND_HELP = "Where the data is: duckdb (embedded file)."


@app.command()
def query(
    name: Annotated[str | None, typer.Argument(help="The query to run; see --list.")] = None,
    list_queries: Annotated[
        bool, typer.Option("--list", help="List every query with its parameters.")
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
) -> None:
    """Run a query from the pack: sessions, cost, tokens, tool-usage, error-analysis, ...

    Works while `otelcap serve` runs (through its local endpoint) and when it does not.

    Example: otelcap query cost --since 30d --param period=week
    """
    from otelcap import config, querypack
    from otelcap.errors import OtelcapError

    try:
        if list_queries or name is None:
            typer.echo(querypack.describe_all())
            return
        cfg = config.load({"backend": backend, "db_path": db})
        typer.echo(querypack.run_named(cfg, name, since, until, session, param or [], fmt))
    except OtelcapError as exc:
        typer.echo(f"otelcap: {exc}", err=True)
        raise typer.Exit(EXIT_CONFIG if isinstance(exc, ConfigError) else 1) from None


@app.command()
def sql(
    statement: Annotated[str, typer.Argument(help="One read-only SQL statement.")],
    fmt: Annotated[str, typer.Option("--format", help=_FORMAT_HELP)] = "table",
    db: Annotated[Path | None, typer.Option(help=_DB_HELP)] = None,
    backend: Annotated[str | None, typer.Option(help=_BACKEND_HELP)] = None,
) -> None:
    """Run one read-only SQL statement (in the backend's dialect) on the stored telemetry.

    Example: otelcap sql "SELECT EventName, count(*) AS n FROM otel_logs GROUP BY 1 ORDER BY n DESC"
    """
    from otelcap import config, querypack
    from otelcap.errors import OtelcapError

    try:
        cfg = config.load({"backend": backend, "db_path": db})
        typer.echo(querypack.run_sql(cfg, statement, fmt))
    except OtelcapError as exc:
        typer.echo(f"otelcap: {exc}", err=True)
        raise typer.Exit(EXIT_CONFIG if isinstance(exc, ConfigError) else 1) from None


def main() -> None:
    app()


if __name__ == "__main__":
    main()

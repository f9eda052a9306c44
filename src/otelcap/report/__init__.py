"""`otelcap report --html FILE`: the dashboard's views as one self-contained HTML file.

- data.py gathers the numbers: the query pack's answers, through a `run(name, values)`
  callable, as JSON (so a figure on the page is what `otelcap query` prints);
- page.py puts them, the vendored chart library (uPlot, assets/) and the page's own script
  and styles into one file that needs no network: it opens offline and can be shared (the
  data was sanitized when it arrived).

The same page is what `otelcap ui` will serve: the script reads its data from the page, so a
served copy differs only in where the data and assets come from.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from otelcap.errors import ConfigError, OtelcapError

if TYPE_CHECKING:
    import pyarrow as pa

    from otelcap.access import Reader
    from otelcap.config import Config
    from otelcap.report.data import Progress, Run

__all__ = ["build", "pack_runner", "parse_since", "store_runner"]


def parse_since(since: str, now: dt.datetime, tz: dt.tzinfo | None = None) -> dt.datetime:
    """--since as the pack reads it (30d, 12h, 2026-11-01, ISO; a date or time without an
    offset is one in `tz`, whose days the page shows); a usage error otherwise."""
    from otelcap.config import parse_time
    from otelcap.report.data import zone_name

    try:
        start = parse_time(since, now, zone_name(tz))
    except ValueError as exc:
        raise ConfigError(f"--since: {exc}") from None
    if start >= now:
        raise ConfigError(f"--since {since!r} is not before now ({now:%Y-%m-%d %H:%M} UTC)")
    return start


def store_runner(store: Reader) -> Run:
    """Pack queries run on `store`, as `otelcap query` runs them."""
    from otelcap import querypack

    def run(name: str, values: dict[str, str]) -> pa.Table:
        # statement(): a filter left '' leaves its map reads out of the SQL
        return querypack.run(store, name, dict(values))

    return run


@contextlib.contextmanager
def pack_runner(config: Config) -> Iterator[Run]:
    """Pack queries where `otelcap query` runs them, through the access layer (the running
    server, or the file or ClickHouse opened read-only), opened once for the whole report
    (opening the file for each of its ~90 queries took 17 s of a 1 s report on the
    recordings)."""
    from otelcap import access

    with access.open(config) as store:
        yield store_runner(store)


def available() -> dict[str, Collection[str]]:
    """The pack's queries and their parameters."""
    from otelcap import querypack

    return {q.name: [p.name for p in q.params] for q in querypack.load_all()}


def build(
    run: Run,
    path: Path,
    since: str,
    now: dt.datetime | None = None,
    tz: dt.tzinfo | None = None,
    progress: Progress | None = None,
    filters: dict[str, str] | None = None,
    limits: dict[str, float] | None = None,
) -> Path:
    """Gather the pack's answers for [since, now) and write the page to `path`; `filters`
    (model, project, user, team: a label of `otelcap query cost --by X`) are fixed in it;
    `limits` (Config.budget_limits) add the budget card."""
    from otelcap.report import data, page

    now = now or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    start = parse_since(since, now, tz)
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"--html {path} is a directory: name the file to write, e.g. report.html")
    if not path.parent.is_dir():
        raise ConfigError(f"--html {path}: directory {path.parent} does not exist")
    pack = available()
    chosen = {k: v for k, v in (filters or {}).items() if v}
    missing = [k for k in chosen if k not in data.filterable(pack)]
    if missing:
        raise ConfigError(
            f"--{missing[0]}: this otelcap's query pack has no {missing[0]} filter; leave it out"
        )
    answers = data.gather(run, start, now, pack, tz, progress, filters=chosen, limits=limits)
    html = page.render(answers)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(html, encoding="utf-8")
        tmp.replace(path)  # a reader never sees half a page
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OtelcapError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path

"""Output: an Arrow table in, text out, in one of FORMATS. The library answers with Arrow
(the query pack, `otelcap sql`); the CLI prints with this module, and so will the HTML
report, so a number looks the same wherever it is shown.

- table: for a terminal: thousands separators, money (`*_usd`) to 4 places, rates (`*_rate`,
  `*_ratio`, `*_share`) as percentages, one precision per column, times in the chosen zone
  with their offset. On a terminal the table fits its width (rich draws it): numbers are never
  cut, long text is, and columns that still do not fit are left out and named below it
  (`wide` shows them all, one block per row when they cannot fit). Piped, the table is plain
  aligned text at full width, easy for scripts.
- json: for scripts: numbers as numbers (NaN/inf as null), times as ISO 8601 instants with
  their offset (Z for UTC).
- csv: plain values, '' for NULL.
- markdown: a pipe table, numbers right-aligned.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import re
import shutil
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pyarrow as pa

from otelcap.errors import QueryError

__all__ = ["FORMATS", "Shape", "check_format", "format_table", "instant", "local_time", "shape"]

FORMATS = ("table", "csv", "json", "markdown")


def check_format(fmt: str) -> str:
    """`fmt` when it is one of FORMATS; QueryError naming them when not."""
    if fmt not in FORMATS:
        raise QueryError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    return fmt


@dataclass(frozen=True)
class Shape:
    """What of a result to show: `--limit`, `--order COLUMN` (`-COLUMN` descending),
    `--columns a,b` and `--wide` (every column, however wide)."""

    limit: int | None = None
    order: str | None = None
    columns: Sequence[str] = ()
    wide: bool = False


def shape(table: pa.Table, how: Shape) -> pa.Table:
    """Apply `how` to the rows and columns, in every format, so a script sees what a person
    does. Unknown column names are a QueryError naming the columns there are."""

    def known(name: str, flag: str) -> str:
        if name not in table.column_names:
            raise QueryError(
                f"{flag}: no column {name!r}; the columns are {', '.join(table.column_names)}"
            )
        return name

    if how.order:
        descending = how.order.startswith("-")
        name = known(how.order.lstrip("-"), "--order")
        order = "descending" if descending else "ascending"
        # NULLs last either way; pyarrow 25 takes the placement per key, older ones per sort
        if int(pa.__version__.split(".")[0]) >= 25:
            table = table.sort_by([(name, order, "at_end")])
        else:
            table = table.sort_by([(name, order)], null_placement="at_end")
    if how.limit is not None:
        if how.limit < 0:
            raise QueryError(f"--limit must be 0 or more, got {how.limit}")
        table = table.slice(0, how.limit)
    if how.columns:
        table = table.select([known(c.strip(), "--columns") for c in how.columns if c.strip()])
    return table


def format_table(
    table: pa.Table,
    fmt: str = "table",
    width: int | None = None,
    tz: str | None = None,
    wide: bool = False,
) -> str:
    """The table as text in `fmt`. Times are shown in `tz` (an IANA name; None: UTC) with
    their offset. `width` (table format only): the terminal's width; None asks the terminal,
    and plain full-width text when the output is not one."""
    check_format(fmt)
    zone = _zone(tz)
    names = table.column_names
    rows = table.to_pylist()
    if fmt == "json":
        return json.dumps([{k: _json_value(r[k], zone) for k in names} for r in rows], indent=2)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(names)
        for r in rows:
            writer.writerow(["" if r[k] is None else _plain(r[k], zone) for k in names])
        return buf.getvalue().rstrip("\n")
    columns = [[r[k] for r in rows] for k in names]
    shown = [
        [_human(v, k, _decimals(col), zone) for v in col]
        for k, col in zip(names, columns, strict=True)
    ]
    cells = [list(row) for row in zip(*shown, strict=True)] if rows else []
    right = [_is_numeric(table.schema.field(k).type) for k in names]
    if fmt == "markdown":
        return _markdown(names, cells, right)
    if width is None:
        if not sys.stdout.isatty():  # piped: every column at full width, for scripts
            return _text_table(names, cells, right, 1_000_000)
        width = shutil.get_terminal_size((100, 24)).columns
    times = [pa.types.is_temporal(table.schema.field(k).type) for k in names]
    return _fitted(names, cells, right, times, width, wide)


def instant(value: dt.datetime, tz: str | None = None) -> str:
    """A time for scripts: ISO 8601 with its offset in `tz` (an IANA name; None: UTC, as Z)."""
    return _iso(value, _zone(tz))


def local_time(value: dt.datetime, tz: str | None = None) -> str:
    """A time for a person: `2026-11-27 23:10:03.120+01:00` in `tz` (None: UTC); the
    milliseconds because one turn's events are often less than a second apart."""
    moment = value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    text = moment.astimezone(_zone(tz)).isoformat(sep=" ", timespec="milliseconds")
    return text


def _zone(tz: str | None) -> dt.tzinfo:
    if not tz or tz == "UTC":
        return dt.timezone.utc
    from zoneinfo import ZoneInfo

    return ZoneInfo(tz)


# Text columns may be cut to this many characters (with …) before a column is left out: a
# session id's first 12 characters still tell sessions apart, and `show` takes a prefix.
_MIN_TEXT = 12
_GAP = 2


def _fitted(
    names: list[str],
    cells: list[list[str]],
    right: list[bool],
    times: list[bool],
    width: int,
    wide: bool,
) -> str:
    """A rich table that fits `width`: which columns, and how wide each may be."""
    if not names:
        return "(no columns)"
    natural = [max([len(n), *(len(r[i]) for r in cells)]) for i, n in enumerate(names)]
    # Numbers and times are never cut; other text may be, to _MIN_TEXT (or its header).
    cuttable = [not right[i] and not times[i] for i in range(len(names))]
    least = [
        min(w, max(_MIN_TEXT, len(names[i]))) if cuttable[i] else w for i, w in enumerate(natural)
    ]
    keep = list(range(len(names)))
    hidden: list[int] = []
    if not wide:
        # What a row is comes first (its leading text columns: period and model, a session
        # id), then money, then a leading time (25 characters), then the rest in order.
        keys = 0
        while keys < min(3, len(names)) and not right[keys]:
            keys += 1

        def rank_of(i: int) -> tuple[int, int]:
            key, money, time = i < keys, names[i].endswith("_usd"), not cuttable[i] and not right[i]
            return (0 if i == 0 else 1 if key and not time else 2 if money else 3 if key else 4, i)

        rank = sorted(keep, key=rank_of)
        keep, used = [], -_GAP
        for i in rank:
            if used + _GAP + least[i] <= width:
                keep.append(i)
                used += _GAP + least[i]
            else:
                hidden.append(i)
        keep.sort()
    elif sum(least) + _GAP * (len(names) - 1) > width and len(names) > 2:
        return _vertical(names, cells)
    # What is left of the width goes to the cut columns, up to what they need.
    alloc = {i: least[i] for i in keep}
    spare = width - sum(alloc.values()) - _GAP * (len(keep) - 1)
    for i in keep:
        if cuttable[i] and spare > 0:
            extra = min(spare, natural[i] - alloc[i])
            alloc[i] += extra
            spare -= extra
    from rich import box
    from rich.console import Console
    from rich.table import Table

    grid = Table(
        box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 1), collapse_padding=True
    )  # a 2-space gap: _GAP
    for i in keep:
        grid.add_column(
            names[i],
            justify="right" if right[i] else "left",
            no_wrap=True,
            overflow="ellipsis",
            width=alloc[i],
        )
    for row in cells:
        grid.add_row(*(row[i] for i in keep))
    buf = io.StringIO()
    Console(file=buf, width=width, color_system=None, force_terminal=False).print(grid)
    out = [line.rstrip() for line in buf.getvalue().splitlines()]
    out.append(f"({len(cells)} row{'s' if len(cells) != 1 else ''})")
    if hidden:
        import textwrap

        left_out = ", ".join(names[i] for i in sorted(hidden))
        note = f"({len(hidden)} columns not shown: {left_out}; --wide or --columns shows them)"
        out += textwrap.wrap(note, max(20, width))
    return "\n".join(out)


def _decimals(values: list[Any]) -> int:
    """One precision per column, so a column's numbers line up."""
    floats = [abs(float(v)) for v in values if isinstance(v, (float, Decimal)) and math.isfinite(v)]
    biggest = max(floats, default=0.0)
    return 0 if biggest >= 1000 else 1 if biggest >= 10 else 2


def _is_numeric(typ: pa.DataType) -> bool:
    return pa.types.is_integer(typ) or pa.types.is_floating(typ) or pa.types.is_decimal(typ)


def _iso(value: dt.date | dt.datetime, zone: dt.tzinfo = dt.timezone.utc) -> str:
    """An instant as ISO 8601 with its offset in `zone` (Z for UTC); a date as it is. The
    stores return naive times in UTC."""
    if isinstance(value, dt.datetime):
        instant = value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
        text = instant.astimezone(zone).isoformat(timespec="microseconds")
        return text[:-6] + "Z" if text.endswith("+00:00") and zone is dt.timezone.utc else text
    return value.isoformat()


def _json_value(value: Any, zone: dt.tzinfo = dt.timezone.utc) -> Any:
    """Stable JSON for scripts: numbers as numbers (NaN/inf as null), times as ISO 8601
    instants with their offset, dates as YYYY-MM-DD, lists and maps as JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return _iso(value, zone)
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(x, tuple) and len(x) == 2 for x in value):
            return {str(k): _json_value(v, zone) for k, v in value}  # an Arrow map
        return [_json_value(x, zone) for x in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v, zone) for k, v in value.items()}
    if isinstance(value, bytes):
        return value.hex()
    return value


def _plain(value: Any, zone: dt.tzinfo = dt.timezone.utc) -> str:
    if isinstance(value, (dt.date, dt.datetime)):
        return _iso(value, zone)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ""
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(_json_value(value, zone))
    return str(value)


_PERCENT = re.compile(r"(rate|ratio|share)$")


def _human(value: Any, column: str, decimals: int = 2, zone: dt.tzinfo = dt.timezone.utc) -> str:
    """Terminal form: thousands separators, money to 4 places, rates as percentages."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, (float, Decimal)):
        x = float(value)
        if not math.isfinite(x):
            return str(x)
        if _PERCENT.search(column):
            x, decimals, unit = x * 100, 1, "%"
        elif column.endswith("_usd"):
            decimals, unit = 4, ""
        else:
            unit = ""
        x = round(x, decimals) + 0.0  # no "-0.0000" for a float error of -1e-15
        return f"{x:,.{decimals}f}{unit}"
    if isinstance(value, dt.datetime):
        instant = value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
        local = instant.astimezone(zone)
        offset = local.strftime("%z")  # +0100 → +01:00, as ISO writes it
        return local.strftime("%Y-%m-%d %H:%M:%S") + f"{offset[:3]}:{offset[3:]}"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(_json_value(value, zone))
    return str(value).replace("\n", " ")


def _text_table(names: list[str], cells: list[list[str]], right: list[bool], width: int) -> str:
    if not names:
        return "(no columns)"
    widths = [max([len(n), *(len(r[i]) for r in cells)]) for i, n in enumerate(names)]
    total = sum(widths) + 2 * (len(names) - 1)
    if total > width and len(names) > 2:
        return _vertical(names, cells)

    def line(values: Iterable[str]) -> str:
        parts = [
            v.rjust(w) if r else v.ljust(w) for v, w, r in zip(values, widths, right, strict=True)
        ]
        return "  ".join(parts).rstrip()

    out = [line(names), line("-" * w for w in widths)]
    out += [line(r) for r in cells]
    out.append(f"({len(cells)} row{'s' if len(cells) != 1 else ''})")
    return "\n".join(out)


def _vertical(names: list[str], cells: list[list[str]]) -> str:
    """Too wide for the terminal: one block per row, a line per column (psql's \\x)."""
    label = max(len(n) for n in names)
    out = []
    for i, row in enumerate(cells, 1):
        out.append(f"-[ row {i} ]" + "-" * max(0, label - 6))
        out += [f"{n.ljust(label)} | {v}".rstrip() for n, v in zip(names, row, strict=True)]
    out.append(f"({len(cells)} row{'s' if len(cells) != 1 else ''})")
    return "\n".join(out)


def _markdown(names: list[str], cells: list[list[str]], right: list[bool]) -> str:
    def esc(v: str) -> str:
        return v.replace("|", "\\|")

    out = ["| " + " | ".join(esc(n) for n in names) + " |"]
    out.append("|" + "|".join("---:" if r else "---" for r in right) + "|")
    out += ["| " + " | ".join(esc(v) for v in r) + " |" for r in cells]
    return "\n".join(out)

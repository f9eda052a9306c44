"""Output: an Arrow table in, text out, in one of FORMATS. The library answers with Arrow
(the query pack, `otelcap sql`); the CLI prints with this module, and so will the HTML
report, so a number looks the same wherever it is shown.

- table: for a terminal: thousands separators, money (`*_usd`) to 4 places, rates (`*_rate`,
  `*_ratio`, `*_share`) as percentages, one precision per column; one block per row when the
  columns do not fit the terminal's width.
- json: for scripts: numbers as numbers (NaN/inf as null), times as ISO 8601 UTC with Z.
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
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import pyarrow as pa

from otelcap.errors import QueryError

__all__ = ["FORMATS", "check_format", "format_table"]

FORMATS = ("table", "csv", "json", "markdown")


def check_format(fmt: str) -> str:
    """`fmt` when it is one of FORMATS; QueryError naming them when not."""
    if fmt not in FORMATS:
        raise QueryError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    return fmt


def format_table(table: pa.Table, fmt: str = "table", width: int | None = None) -> str:
    """The table as text in `fmt`; `width` (table format only) defaults to the terminal's."""
    check_format(fmt)
    names = table.column_names
    rows = table.to_pylist()
    if fmt == "json":
        return json.dumps([{k: _json_value(r[k]) for k in names} for r in rows], indent=2)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(names)
        for r in rows:
            writer.writerow(["" if r[k] is None else _plain(r[k]) for k in names])
        return buf.getvalue().rstrip("\n")
    columns = [[r[k] for r in rows] for k in names]
    shown = [
        [_human(v, k, _decimals(col)) for v in col] for k, col in zip(names, columns, strict=True)
    ]
    cells = [list(row) for row in zip(*shown, strict=True)] if rows else []
    right = [_is_numeric(table.schema.field(k).type) for k in names]
    if fmt == "markdown":
        return _markdown(names, cells, right)
    if width is None:  # a terminal's width; unlimited when piped (no wrapping for less/files)
        width = shutil.get_terminal_size((1_000_000, 24)).columns
    return _text_table(names, cells, right, width)


def _decimals(values: list[Any]) -> int:
    """One precision per column, so a column's numbers line up."""
    floats = [abs(float(v)) for v in values if isinstance(v, (float, Decimal)) and math.isfinite(v)]
    biggest = max(floats, default=0.0)
    return 0 if biggest >= 1000 else 1 if biggest >= 10 else 2


def _is_numeric(typ: pa.DataType) -> bool:
    return pa.types.is_integer(typ) or pa.types.is_floating(typ) or pa.types.is_decimal(typ)


def _iso(value: dt.date | dt.datetime) -> str:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return value.isoformat(timespec="microseconds") + "Z"
    return value.isoformat()


def _json_value(value: Any) -> Any:
    """Stable JSON for scripts: numbers as numbers (NaN/inf as null), times as ISO 8601 UTC
    strings with Z, dates as YYYY-MM-DD, lists and maps as JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return _iso(value)
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(x, tuple) and len(x) == 2 for x in value):
            return {str(k): _json_value(v) for k, v in value}  # an Arrow map
        return [_json_value(x) for x in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return value.hex()
    return value


def _plain(value: Any) -> str:
    if isinstance(value, (dt.date, dt.datetime)):
        return _iso(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ""
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(_json_value(value))
    return str(value)


_PERCENT = re.compile(r"(rate|ratio|share)$")


def _human(value: Any, column: str, decimals: int = 2) -> str:
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
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(_json_value(value))
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

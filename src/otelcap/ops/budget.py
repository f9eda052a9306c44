"""`otelcap budget`: spend so far today, this week and this month against the limits of the
config file's [budget] table, with warnings at 80, 90 and 100% and a linear run-rate
projection of each period's end.

Periods are local: the day from midnight, the week from Monday (ISO), the month from the 1st,
in the configured zone (`timezone`; "" is the machine's: TZ, else the system's). The
boundaries are computed from a time-zone-aware `now` (budgets.py) and passed to the pack's
`budget` query as instants.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from otelcap import config as config_mod
from otelcap.budgets import (
    Period,
    PeriodStatus,
    as_json,
    periods,
    query_values,
    statuses,
)
from otelcap.config import BUDGET_PERIODS, Config
from otelcap.errors import ConfigError


@dataclass(frozen=True)
class Report:
    now: dt.datetime
    zone: str
    periods: list[PeriodStatus]

    @property
    def over(self) -> bool:
        """A limit reached or passed: `otelcap budget` exits 1."""
        return any(p.status == "over" for p in self.periods)


def zone_name(now: dt.datetime) -> str:
    return str(getattr(now.tzinfo, "key", None) or now.tzname() or "UTC")


def _spend(config: Config, spans: list[Period], now: dt.datetime) -> list[dict[str, Any]]:
    """The pack's `budget` query where the data is (the access layer: the running server, or
    the file read-only): the one place this module reads it."""
    from otelcap import access, querypack

    with access.open(config) as store:
        table = querypack.run(store, "budget", dict(query_values(spans, now)))
    return table.to_pylist()


def status(config: Config, now: dt.datetime | None = None) -> Report:
    """Each period's spend so far against its limit. `now` must be time-zone aware; by
    default it is the clock in the configured zone."""
    now = now or dt.datetime.now(config_mod.zone(config))
    spans = periods(now)
    out = statuses(_spend(config, spans, now), spans, config.budget_limits, now)
    return Report(now, zone_name(now), out)


# --- limits in the config file ------------------------------------------------------------------


def set_limits(path: Path, limits: dict[str, float | None]) -> dict[str, float]:
    """Write the given limits (USD; 0 removes one) into the config file's [budget] table and
    return every limit now in it. Limits not given are left as they are."""
    given = {k: v for k, v in limits.items() if v is not None}
    if not given:
        raise ConfigError(
            "give at least one of --daily, --weekly, --monthly (in USD; 0 removes a limit)"
        )
    for key, value in given.items():
        if key not in BUDGET_PERIODS:
            raise ConfigError(f"no budget period {key!r}; the periods are daily, weekly, monthly")
        if not math.isfinite(value) or value < 0:
            raise ConfigError(f"--{key} must be an amount in USD of 0 or more, got {value}")
    config_mod.load(env={}, config_file=path)  # a file otelcap cannot read is not edited
    config_mod.update_file_table(
        path, "budget", {k: (v if v > 0 else None) for k, v in given.items()}
    )
    return file_limits(path)


def clear_limits(path: Path, which: list[str]) -> dict[str, float]:
    """Remove the named limits (all when none is named); return what is left."""
    config_mod.load(env={}, config_file=path)
    config_mod.update_file_table(path, "budget", dict.fromkeys(which or BUDGET_PERIODS))
    return file_limits(path)


def file_limits(path: Path) -> dict[str, float]:
    cfg = config_mod.load(env={}, config_file=path)
    return {k: v for k in BUDGET_PERIODS if (v := getattr(cfg, f"budget_{k}")) > 0}


def render_limits(path: Path, limits: dict[str, float], env: dict[str, str] | None = None) -> str:
    env = dict(os.environ) if env is None else env
    shown = ", ".join(
        f"{k} {_usd(limits[k])}" if k in limits else f"{k} none" for k in BUDGET_PERIODS
    )
    lines = [f"Budget limits in {path}: {shown}"]
    for k in BUDGET_PERIODS:
        var = f"OTELCAP_BUDGET_{k.upper()}"
        if env.get(var):
            lines.append(f"note: {var}={env[var]} is set and wins over the file")
    return "\n".join(lines)


# --- output ----------------------------------------------------------------------------------


def _usd(x: float) -> str:
    return f"${x:,.2f}"


_SAID = {
    "ok": "ok",
    "warning_80": "warning: 80% used",
    "warning_90": "warning: 90% used",
    "over": "over the limit",
    "no_limit": "no limit",
}


def render(report: Report, fmt: str = "text") -> str:
    if fmt == "json":
        return json.dumps(
            {
                "time_zone": report.zone,
                "now": report.now.isoformat(),
                "over": report.over,
                "periods": [as_json(p) for p in report.periods],
            },
            indent=2,
        )
    day, week, month = (p.period.start for p in report.periods)
    rows = [["period", "spent", "limit", "used", "projected", "status"]]
    for p in report.periods:
        said = _SAID[p.status]
        if p.limit_usd is not None and p.status != "over" and p.projected_usd > p.limit_usd:
            said += " (projected over)"
        rows.append(
            [
                p.period.name,
                _usd(p.spent_usd),
                "-" if p.limit_usd is None else _usd(p.limit_usd),
                "-" if p.used is None else f"{100 * p.used:.1f}%",
                _usd(p.projected_usd),
                said,
            ]
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    right = {1, 2, 3, 4}
    lines = [
        f"Budget at {report.now:%Y-%m-%d %H:%M} {report.zone}: the day from {day:%H:%M}, "
        f"the week from Monday {week:%Y-%m-%d}, the month from {month:%Y-%m-%d} (local time)",
        "",
    ]
    for r in rows:
        cells = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    if all(p.limit_usd is None for p in report.periods):
        lines += ["", "No limits set: otelcap budget set --daily 20 --weekly 100 --monthly 400"]
    return "\n".join(lines)

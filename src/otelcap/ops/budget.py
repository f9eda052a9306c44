"""`otelcap budget`: spend so far today, this week and this month against the limits of the
config file's [budget] table, with warnings at 80, 90 and 100% and a linear run-rate
projection of each period's end.

Periods are local: the day from midnight, the week from Monday (ISO), the month from the 1st,
in the machine's time zone (TZ, else /etc/localtime). The rest of the query pack reads UTC
days, so the boundaries are computed here, from a time-zone-aware `now`, and passed to the
pack's `budget` query as instants: a configured zone later is a different `now.tzinfo`.
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
from otelcap.config import BUDGET_PERIODS, Config
from otelcap.errors import ConfigError

PERIODS = (("day", "daily"), ("week", "weekly"), ("month", "monthly"))
# (share of the limit spent, status), highest first: spending the whole limit is "over"
LEVELS = ((1.0, "over"), (0.9, "warning_90"), (0.8, "warning_80"))


@dataclass(frozen=True)
class Period:
    name: str  # day | week | month
    start: dt.datetime  # time-zone aware
    end: dt.datetime

    def elapsed(self, now: dt.datetime) -> float:
        """The share of the period gone by at `now`, 0-1, in real time: Python subtracts two
        times of one zone by their clocks, so a 23-hour day would count 24 without the UTC."""
        utc = dt.timezone.utc
        start, end = self.start.astimezone(utc), self.end.astimezone(utc)
        return min(1.0, max(0.0, (now.astimezone(utc) - start) / (end - start)))


@dataclass(frozen=True)
class PeriodStatus:
    period: Period
    spent_usd: float
    requests: int
    limit_usd: float | None  # None: no limit
    elapsed: float  # the share of the period gone by, 0-1

    @property
    def used(self) -> float | None:
        return None if self.limit_usd is None else self.spent_usd / self.limit_usd

    @property
    def projected_usd(self) -> float:
        """Spend at the period's end if it goes on at the rate so far (spent / elapsed share).
        Early in a period this swings: $1 in the first hour of a day projects $24."""
        return self.spent_usd / self.elapsed if self.elapsed > 0 else self.spent_usd

    @property
    def status(self) -> str:
        used = self.used
        if used is None:
            return "no_limit"
        return next((name for share, name in LEVELS if used >= share), "ok")


@dataclass(frozen=True)
class Report:
    now: dt.datetime
    zone: str
    periods: list[PeriodStatus]

    @property
    def over(self) -> bool:
        """A limit reached or passed: `otelcap budget` exits 1."""
        return any(p.status == "over" for p in self.periods)


def local_zone() -> dt.tzinfo:
    """The machine's time zone, with its daylight-saving rules when it has a name (TZ, or
    the zone /etc/localtime links to); else the current UTC offset."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    name = os.environ.get("TZ", "").lstrip(":")
    if not name:
        target = os.path.realpath("/etc/localtime")
        name = target.split("/zoneinfo/", 1)[1] if "/zoneinfo/" in target else ""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    zone = dt.datetime.now().astimezone().tzinfo
    return zone if zone is not None else dt.timezone.utc


def zone_name(now: dt.datetime) -> str:
    return str(getattr(now.tzinfo, "key", None) or now.tzname() or "UTC")


def periods(now: dt.datetime) -> list[Period]:
    """The day, ISO week and month holding `now`, in now's time zone. Lengths are real time:
    a day that changes to summer time is 23 hours long."""
    if now.tzinfo is None:
        raise ValueError("periods() needs a time-zone-aware now")
    zone = now.tzinfo
    today = now.date()

    def midnight(day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(), tzinfo=zone)

    monday = today - dt.timedelta(days=today.weekday())
    first = today.replace(day=1)
    next_first = (first + dt.timedelta(days=32)).replace(day=1)
    return [
        Period("day", midnight(today), midnight(today + dt.timedelta(days=1))),
        Period("week", midnight(monday), midnight(monday + dt.timedelta(days=7))),
        Period("month", midnight(first), midnight(next_first)),
    ]


def _utc(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).isoformat()


def _spend(config: Config, spans: list[Period], now: dt.datetime) -> list[dict[str, Any]]:
    """The pack's `budget` query where the data is (the access layer: the running server, or
    the file read-only): the one place this module reads it."""
    from otelcap import access, querypack

    starts = {f"{p.name}_start": _utc(p.start) for p in spans}
    values: dict[str, str | None] = {
        "since": min(starts.values(), key=dt.datetime.fromisoformat),
        "until": _utc(now),
        **starts,
    }
    with access.open(config) as store:
        table = querypack.run(store, "budget", values)
    return table.to_pylist()


def status(config: Config, now: dt.datetime | None = None) -> Report:
    """Each period's spend so far against its limit. `now` must be time-zone aware; by
    default it is the local clock."""
    now = now or dt.datetime.now(local_zone())
    spans = periods(now)
    rows = {r["period"]: r for r in _spend(config, spans, now)}
    out = []
    for span, (_name, key) in zip(spans, PERIODS, strict=True):
        limit = getattr(config, f"budget_{key}")
        row = rows[span.name]
        out.append(
            PeriodStatus(
                span,
                float(row["spent_usd"] or 0.0),
                int(row["requests"] or 0),
                limit if limit > 0 else None,
                span.elapsed(now),
            )
        )
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
                "periods": [
                    {
                        "period": p.period.name,
                        "start": p.period.start.isoformat(),
                        "end": p.period.end.isoformat(),
                        "spent_usd": p.spent_usd,
                        "requests": p.requests,
                        "limit_usd": p.limit_usd,
                        "used_pct": None if p.used is None else 100 * p.used,
                        "elapsed_pct": 100 * p.elapsed,
                        "projected_usd": p.projected_usd,
                        "projected_over": p.limit_usd is not None and p.projected_usd > p.limit_usd,
                        "status": p.status,
                    }
                    for p in report.periods
                ],
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

"""Spending limits, without I/O: the local day, ISO week and month holding a moment, each
period's spend against its limit (warnings at 80 and 90%, over at 100%), a linear run-rate
projection of its end, and the values the pack's `budget` query takes. `otelcap budget`
(ops/budget.py) and the dashboard's budget card (report/data.py) both compute with these.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

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


def utc_iso(t: dt.datetime) -> str:
    return t.astimezone(dt.timezone.utc).isoformat()


def query_values(spans: list[Period], now: dt.datetime) -> dict[str, str]:
    """The `budget` query's parameters: each period's start as a UTC instant, and the span
    from the earliest of them to now."""
    starts = {f"{p.name}_start": utc_iso(p.start) for p in spans}
    return {
        "since": min(starts.values(), key=dt.datetime.fromisoformat),
        "until": utc_iso(now),
        **starts,
    }


def statuses(
    rows: Iterable[Mapping[str, Any]],
    spans: list[Period],
    limits: Mapping[str, float],
    now: dt.datetime,
) -> list[PeriodStatus]:
    """Each period's status from the `budget` query's rows; `limits` maps daily, weekly and
    monthly to USD (missing or 0: no limit)."""
    by_period = {r["period"]: r for r in rows}
    out = []
    for span, (_name, key) in zip(spans, PERIODS, strict=True):
        limit = float(limits.get(key) or 0.0)
        row = by_period[span.name]
        out.append(
            PeriodStatus(
                span,
                float(row["spent_usd"] or 0.0),
                int(row["requests"] or 0),
                limit if limit > 0 else None,
                span.elapsed(now),
            )
        )
    return out


def as_json(p: PeriodStatus) -> dict[str, Any]:
    """One period as `otelcap budget --format json` prints it."""
    return {
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

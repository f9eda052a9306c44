"""`serve --report-every 1d --report-dir DIR`: the HTML report, written on a schedule by the
running collector, the last `keep` of them kept.

The server writes them itself from its own store (the pack's queries, as `otelcap report`
runs them), on a thread of its own: a report at 1M events takes ~1.5 s of queries
(bench/ui.py), which the writer never waits for. Files are named by the UTC minute they were
written, `otelcap-report-20261202T0640Z.html`, so names sort by age whatever the local zone
does (a DST change would reorder local names). The schedule survives restarts: the next
report is due one interval after the newest file in the directory, so a collector restarted
every few minutes does not write one each time.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from otelcap import files

if TYPE_CHECKING:
    from otelcap.report.data import Run

log = logging.getLogger(__name__)

PREFIX = "otelcap-report-"
_NAME = re.compile(rf"^{PREFIX}\d{{8}}T\d{{4,6}}Z\.html$")
# A failed report (the store busy or failing) is tried again this soon, not a day later.
RETRY_S = 300.0


def report_files(directory: Path) -> list[Path]:
    """The scheduled reports in `directory`, oldest first (other files are never touched)."""
    try:
        names = sorted(p.name for p in directory.iterdir() if _NAME.match(p.name))
    except FileNotFoundError:
        return []
    return [directory / name for name in names]


def file_name(now: dt.datetime) -> str:
    return f"{PREFIX}{now.astimezone(dt.timezone.utc):%Y%m%dT%H%M%SZ}.html"


class ReportSchedule:
    """Writes a report every `every` into `directory`, keeping the newest `keep`."""

    def __init__(
        self,
        run: Run,
        directory: Path,
        every: dt.timedelta,
        keep: int,
        since: str = "30d",
        tz: dt.tzinfo | None = None,
        clock: Callable[[], float] = time.time,
        limits: Callable[[], dict[str, float]] | None = None,
    ) -> None:
        self.run = run
        self.directory = Path(directory)
        self.every_s = every.total_seconds()
        self.keep = keep
        self.since = since
        self.tz = tz
        self.clock = clock
        self.limits = limits  # asked at each report: the config file may have changed
        self.written: list[Path] = []
        self.failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="otelcap-reports", daemon=True)

    def start(self) -> None:
        files.private_dir(self.directory)
        log.info(
            "a report every %s into %s (the newest %d kept)",
            dt.timedelta(seconds=self.every_s),
            self.directory,
            self.keep,
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def due_in(self) -> float:
        """Seconds until the next report: one interval after the newest one, now if none."""
        existing = report_files(self.directory)
        if not existing:
            return 0.0
        try:
            newest = existing[-1].stat().st_mtime
        except FileNotFoundError:
            return 0.0
        return max(0.0, newest + self.every_s - self.clock())

    def write_one(self) -> Path:
        """Write one report now and drop the oldest beyond `keep`; the written path."""
        from otelcap import report

        now = dt.datetime.fromtimestamp(self.clock(), dt.timezone.utc)
        path = self.directory / file_name(now)
        report.build(
            self.run,
            path,
            self.since,
            now=now.replace(tzinfo=None),
            tz=self.tz,
            limits=self.limits() if self.limits is not None else None,
        )
        os.chmod(path, files.FILE_MODE)  # sanitized, but the user's own: 0600 as everything
        self.written.append(path)
        for old in report_files(self.directory)[: -self.keep]:
            old.unlink(missing_ok=True)
        return path

    def _loop(self) -> None:
        delay = self.due_in()
        while not self._stop.wait(delay):
            try:
                log.info("report written: %s", self.write_one())
                delay = self.due_in()  # one interval from the file just written
            except Exception as exc:  # the next try comes soon; serving goes on regardless
                self.failures += 1
                delay = min(RETRY_S, self.every_s)
                log.warning("scheduled report failed (retrying in %.0f s): %s", delay, exc)

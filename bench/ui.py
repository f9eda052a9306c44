"""Report benchmark: the time of each view's data queries and of the first rendered view in
headless chromium, on synthetic Claude Code telemetry (bench/queries.py makes it).

The queries are those `otelcap report` runs (report.data.gather), each timed where it runs,
summed per query name (cost runs 7 times: the period and the overview's six windows; the
session pages run session-events and session-spans once per inlined session). The render is
the browser's own clock: from the navigation's start to the page's `otelcap-rendered` mark
(set when the first view, with its chart, is on screen), median over fresh loads. Run by
hand, not in CI:

    .venv/bin/python bench/ui.py                                   # 1M events
    .venv/bin/python bench/ui.py --events 10000000 --db /tmp/otelcap-10m.duckdb
    .venv/bin/python bench/ui.py --db /tmp/otelcap-1m.duckdb --reuse
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import queries as synthetic  # bench/queries.py: the generator (puts src/ on the path)
from otelcap import querypack, report
from otelcap.report import data, page
from otelcap.storage.duckdb import DuckDBStore

# The synthetic year runs through 2026; its last 30 days end here.
NOW = dt.datetime(2026, 12, 31)


def render_times(path: Path, loads: int) -> tuple[list[float], list[float]]:
    """(first render ms, load event ms) per fresh load of the file in headless chromium."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and chromedriver):
        sys.exit("needs chromium and chromedriver: apt-get install -y chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1280,800"):  # fmt: skip
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    rendered, loaded = [], []
    try:
        for _ in range(loads):
            driver.get("about:blank")
            driver.get(path.as_uri() + "#overview")
            marks = driver.execute_script(
                "const m = performance.getEntriesByName('otelcap-rendered');"
                "const n = performance.getEntriesByType('navigation')[0];"
                "return [m.length ? m[0].startTime : null, n ? n.loadEventEnd : null];"
            )
            if marks[0] is None:
                sys.exit("the page did not render (no otelcap-rendered mark)")
            rendered.append(marks[0])
            loaded.append(marks[1])
    finally:
        driver.quit()
    return rendered, loaded


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000, help="log records to generate")
    ap.add_argument("--db", type=Path, help="DuckDB file (default: a temporary one)")
    ap.add_argument("--reuse", action="store_true", help="use an existing --db, no generation")
    ap.add_argument("--since", default="30d", help="the report's period (default 30d)")
    ap.add_argument("--loads", type=int, default=5, help="fresh page loads timed (median shown)")
    args = ap.parse_args()

    tmp = None
    if args.db is None:
        tmp = tempfile.TemporaryDirectory(prefix="otelcap-bench-ui-")
        args.db = Path(tmp.name) / "bench.duckdb"
    if not args.reuse:
        store = DuckDBStore(args.db)
        store.create_schema()
        t0 = time.perf_counter()
        n = synthetic.load(store, args.events)
        store.close()
        print(f"generated and ingested {n:,} events in {time.perf_counter() - t0:.0f} s")

    seconds: dict[str, list[float]] = defaultdict(list)
    with contextlib.closing(DuckDBStore(args.db, read_only=True)) as store:
        events = store.query("SELECT count(*) AS n FROM otel_logs").column(0)[0].as_py()

        def run(name: str, values: dict[str, str]):  # type: ignore[no-untyped-def]
            t = time.perf_counter()
            table = querypack.run(store, name, values)
            seconds[name].append(time.perf_counter() - t)
            return table

        since = report.parse_since(args.since, NOW)
        run("sessions", {})  # warm: the file's pages in the OS cache, as for a second report
        seconds.clear()
        t0 = time.perf_counter()
        answers = data.gather(run, since, NOW, report.available(), dt.timezone.utc)
        gather_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    html = page.render(answers)
    render_s = time.perf_counter() - t0
    out = Path(tempfile.mkdtemp(prefix="otelcap-bench-ui-")) / "report.html"
    out.write_text(html)

    sessions = answers["sessions"]["total"]
    print(
        f"{events:,} events in the file; report over {args.since} before {NOW:%Y-%m-%d}: "
        f"{sessions:,} sessions, {len(answers['details'])} session pages, "
        f"page {len(html.encode()) / 1e6:.1f} MB"
    )
    print(f"\n{'query':<18}{'runs':>5}{'total ms':>10}{'max ms':>8}")
    for name, times in sorted(seconds.items(), key=lambda kv: -sum(kv[1])):
        print(f"{name:<18}{len(times):>5}{sum(times) * 1000:>10.0f}{max(times) * 1000:>8.0f}")
    print(f"{'all queries':<18}{sum(len(t) for t in seconds.values()):>5}{gather_s * 1000:>10.0f}")
    print(f"page built in {render_s * 1000:.0f} ms")

    rendered, loaded = render_times(out, args.loads)
    print(
        f"\nfirst render in headless chromium (navigation start → first view drawn), "
        f"{args.loads} fresh loads: median {statistics.median(rendered):.0f} ms "
        f"(min {min(rendered):.0f}, max {max(rendered):.0f}); load event at "
        f"{statistics.median(loaded):.0f} ms"
    )
    if tmp:
        tmp.cleanup()


if __name__ == "__main__":
    main()

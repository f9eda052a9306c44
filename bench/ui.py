"""Dashboard and report benchmark: the time of each view's data queries and of the first
rendered view in headless chromium, on synthetic Claude Code telemetry (bench/queries.py makes
it).

The served dashboard (`otelcap ui` against a running server): a real otelcap Service on a
copy of the file, signed in through a ticket; each pack query the page's JSON runs, timed
inside the server and grouped by the view that shows it; each JSON endpoint as the page asks
for it (api/data, api/choices, api/changes, api/session); and the first render, from the
navigation's start to the page's `otelcap-rendered` mark (the data fetched and the overview
with its chart on screen), median over fresh loads.

The report file:
The queries are those `otelcap report` runs (report.data.gather), each timed where it runs,
summed per query name (cost runs 7 times: the period and the overview's six windows; the
session pages run session-events and session-spans once per inlined session). The render is
the browser's own clock: from the navigation's start to the page's `otelcap-rendered` mark
(set when the first view, with its chart, is on screen), median over fresh loads. Run by
hand, not in CI:

    .venv/bin/python bench/ui.py                                   # 1M events
    .venv/bin/python bench/ui.py --events 10000000 --db /tmp/otelcap-10m.duckdb
    .venv/bin/python bench/ui.py --db /tmp/otelcap-1m.duckdb --reuse
    .venv/bin/python bench/ui.py --db /tmp/otelcap-10m.duckdb --reuse --only served
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
from collections.abc import Callable
from pathlib import Path

import queries as synthetic  # bench/queries.py: the generator (puts src/ on the path)
from otelcap import querypack, report
from otelcap.report import data, page
from otelcap.storage.duckdb import DuckDBStore

# The synthetic year runs through 2026; its last 30 days end here.
NOW = dt.datetime(2026, 12, 31)


# which view shows each query's answer (the served page's api/data runs all but the last two)
VIEWS = {
    "cost": "overview (its windows, active users), cost",
    "tokens": "overview, cost",
    "outcomes": "overview",
    "sessions": "overview, sessions",
    "blocks": "cost",
    "sessions-by": "",
    "budget": "overview (budget)",
    "tool-usage": "tools",
    "tool-usage-by": "tools (per day)",
    "api-latency": "tools",
    "error-analysis": "errors",
    "errors-sample": "errors",
    "regressions": "anomalies",
    "anomalies": "anomalies",
    "session-events": "a session's page",
    "session-spans": "a session's page",
}


def _driver():  # type: ignore[no-untyped-def]
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
    return webdriver.Chrome(service=Service(chromedriver), options=options)


def render_times(
    path: Path | str, loads: int, login: str = "", before: Callable[[], None] | None = None
) -> tuple[list[float], list[float]]:
    """(first render ms, load event ms) per fresh load of the page in headless chromium: a
    file, or the served page's URL (signed in first through `login`, a ticket URL; `before`
    runs before each load)."""
    from selenium.webdriver.support.wait import WebDriverWait

    driver = _driver()
    url = path.as_uri() if isinstance(path, Path) else path
    rendered, loaded = [], []
    try:
        if login:
            driver.get(login)
        for _ in range(loads):
            driver.get("about:blank")
            if before:
                before()
            driver.get(url + "#overview")
            # the served page draws after its fetch: wait for the mark, not the load event
            WebDriverWait(driver, 120).until(
                lambda d: d.execute_script(
                    "return performance.getEntriesByName('otelcap-rendered').length"
                )
            )
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


def served(db: Path, loads: int, since: str) -> None:
    """The dashboard a running server serves, on a copy of `db`."""
    import http.client
    import json

    from otelcap import config as config_mod
    from otelcap.service import Service

    tmp = Path(tempfile.mkdtemp(prefix="otelcap-bench-ui-served-"))
    copy = tmp / "served.duckdb"
    shutil.copy(db, copy)  # serve opens its file read-write: never the caller's
    cfg = config_mod.load(
        {"db_path": copy, "data_dir": tmp / "data", "grpc_port": 0, "http_port": 0,
         "retention": "0"},
        env={}, config_file=tmp / "absent.toml",
    )  # fmt: skip
    svc = Service(cfg)
    seconds: dict[str, list[float]] = defaultdict(list)
    svc.start()
    # each pack query the dashboard runs, timed inside the server: its runner, wrapped
    runner = svc.dashboard.runner

    @contextlib.contextmanager
    def timed_runner():  # type: ignore[no-untyped-def]
        with runner() as run:

            def timed(name: str, values: dict[str, str]):  # type: ignore[no-untyped-def]
                t = time.perf_counter()
                table = run(name, values)
                seconds[name].append(time.perf_counter() - t)
                return table

            yield timed

    svc.dashboard.runner = timed_runner
    try:
        login = svc.dashboard.ticket_url()
        port = svc.dashboard.port
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        conn.request("GET", login.split(str(port), 1)[1])
        resp = conn.getresponse()
        resp.read()
        cookie = (resp.getheader("Set-Cookie") or "").split(";")[0]

        def get(path: str) -> tuple[float, bytes]:
            t = time.perf_counter()
            conn.request("GET", path, headers={"Cookie": cookie})
            r = conn.getresponse()
            body = r.read()
            if r.status != 200:
                sys.exit(f"{path}: {r.status} {body[:300]!r}")
            return (time.perf_counter() - t) * 1000, body

        get(f"/api/data?since={since}")  # warm: the file's pages in the OS cache
        seconds.clear()
        endpoints: dict[str, list[float]] = defaultdict(list)
        body = b""
        forget = svc.dashboard._answers.clear  # as after rows were stored: computed anew
        for _ in range(3):
            forget()
            ms, body = get(f"/api/data?since={since}")
            endpoints["api/data"].append(ms)
        for _ in range(3):
            endpoints["api/data again"].append(get(f"/api/data?since={since}")[0])
        runs = {name: len(t) // 3 for name, t in seconds.items()}
        per_load = {name: sum(t) / 3 for name, t in seconds.items()}
        answers = json.loads(body)
        for _ in range(3):
            forget()
            endpoints["api/choices"].append(get(f"/api/choices?since={since}")[0])
            endpoints["api/changes"].append(get("/api/changes")[0])
        sessions = answers["sessions"]
        sid = (
            sessions["rows"][0][sessions["columns"].index("session_id")] if sessions["rows"] else ""
        )
        seconds["session-events"], seconds["session-spans"] = [], []
        if sid:
            for _ in range(3):
                q = f"/api/session?session={sid}&since={answers['meta']['since']}"
                endpoints["api/session"].append(get(q)[0])
        print(
            f"\nserved dashboard over {since} before now: {sessions['total']:,} sessions, "
            f"api/data {len(body) / 1e6:.2f} MB"
        )
        print(f"\n{'query (api/data)':<18}{'runs':>5}{'ms':>8}  view")
        for name, total in sorted(per_load.items(), key=lambda kv: -kv[1]):
            print(f"{name:<18}{runs[name]:>5}{total * 1000:>8.0f}  {VIEWS.get(name, '')}")
        for name in ("session-events", "session-spans"):
            if seconds.get(name):
                ms = statistics.median(seconds[name]) * 1000
                print(f"{name:<18}{1:>5}{ms:>8.0f}  {VIEWS[name]} (api/session)")
        print(f"\n{'endpoint':<16}{'median ms':>10}{'min':>7}{'max':>7}")
        for name, times in endpoints.items():
            print(
                f"{name:<16}{statistics.median(times):>10.0f}{min(times):>7.0f}{max(times):>7.0f}"
            )
        conn.close()
        page = f"http://127.0.0.1:{port}/?since={since}"
        print(
            f"\nserved first render in headless chromium (navigation start → data fetched and "
            f"the overview drawn), {loads} fresh loads each:"
        )
        for label, before in (("computed anew", forget), ("already computed", None)):
            rendered, _loaded = render_times(page, loads, svc.dashboard.ticket_url(), before)
            print(
                f"  data {label:<17} median {statistics.median(rendered):>6.0f} ms "
                f"(min {min(rendered):.0f}, max {max(rendered):.0f})"
            )
    finally:
        svc.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000, help="log records to generate")
    ap.add_argument("--db", type=Path, help="DuckDB file (default: a temporary one)")
    ap.add_argument("--reuse", action="store_true", help="use an existing --db, no generation")
    ap.add_argument("--since", default="30d", help="the report's period (default 30d)")
    ap.add_argument("--loads", type=int, default=5, help="fresh page loads timed (median shown)")
    ap.add_argument(
        "--only", choices=("served", "report"), help="time only the served dashboard or the report"
    )
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

    if args.only != "report":
        served(args.db, args.loads, args.since)
    if args.only == "served":
        return
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

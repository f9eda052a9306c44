"""How long `python -m otelcap statusline` takes, start to exit, with a server running and
without (run by hand). The target: within 100 ms with a server running.

A DuckDB file is filled with --events synthetic Claude Code events (bench/queries.py's
generator, through the real model and sanitizer), or --db names one already made (say by
`bench/queries.py --events 1000000 --db …`). `otelcap serve` runs on it as its own process;
the status line then runs --runs times as a fresh process with a session's JSON on stdin, as
Claude Code runs it, alternating with the same command on an empty data directory (no
server) and with `python -c pass` (the interpreter's own start, which no client can save).
Printed: median and p95 wall time of each, and the server's part alone (the GET
/v1/statusline request, timed in this process), so a slow line says whether the client or
the server is slow. Check what
the client imports with `python -X importtime -m otelcap statusline < /dev/null`.

    .venv/bin/python bench/statusline.py --runs 30
    .venv/bin/python bench/statusline.py --db /tmp/otelcap-1m.duckdb --runs 30
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
TARGET_MS = 100.0


def _fill(db: Path, events: int) -> tuple[str, str]:
    """A DuckDB file with `events` synthetic events; its busiest session, its last request."""
    sys.path.insert(0, str(ROOT / "bench"))
    import queries
    from otelcap.storage.duckdb import DuckDBStore

    store = DuckDBStore(str(db))
    store.create_schema()
    queries.load(store, events)
    store.close()
    return _a_session(db)


def _a_session(db: Path) -> tuple[str, str]:
    """The session with the most requests, and the last request's time: the status line is
    asked `--at` that moment, as in a working session (the synthetic data spans a year that
    need not end today, and an idle `now` would find no active block)."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    row = con.execute(
        "SELECT SessionId FROM otel_logs WHERE EventName = 'api_request' "
        "GROUP BY SessionId ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()
    last = con.execute("SELECT max(Timestamp) FROM otel_logs WHERE EventName = 'api_request'")
    at = last.fetchone()
    con.close()
    return (str(row[0]) if row else "no-session"), (at[0].isoformat() if at and at[0] else "now")


def _serve(db: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "otelcap", "serve", "--db", str(db),
         "--grpc-port", "0", "--http-port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    for line in proc.stdout:
        if "Ctrl-C" in line:  # the banner's last line: listening, record written
            return proc
    raise SystemExit("otelcap serve stopped before it listened")


def _once(argv: list[str], env: dict[str, str], stdin: str) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(argv, input=stdin, capture_output=True, text=True, env=env)
    return (time.perf_counter() - start) * 1000, done.stdout.strip()


def _time_cases(
    cases: dict[str, tuple[list[str], dict[str, str]]], stdin: str, runs: int
) -> tuple[dict[str, list[float]], dict[str, str]]:
    """Each case --runs times, alternating them so a busy moment of the machine hits all;
    a first round warms the OS file cache and is not counted."""
    times: dict[str, list[float]] = {name: [] for name in cases}
    lines: dict[str, str] = {}
    for n in range(runs + 1):
        for name, (argv, env) in cases.items():
            ms, lines[name] = _once(argv, env, stdin)
            if n:
                times[name].append(ms)
    return times, lines


def _time_request(data_dir: Path, session: str, at: str, runs: int) -> list[float]:
    record = json.loads(next((data_dir / "servers").glob("*.json")).read_text())
    query = urllib.parse.urlencode({"session": session, "at": at})
    url = f"http://{record['host']}:{record['port']}/v1/statusline?{query}"
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {record['token']}"})
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        with urllib.request.urlopen(req, timeout=30) as resp:
            resp.read()
        times.append((time.perf_counter() - start) * 1000)
    return times


def _p95(ms: list[float]) -> float:
    return sorted(ms)[max(0, round(0.95 * len(ms)) - 1)]


def _row(name: str, ms: list[float]) -> str:
    med = statistics.median(ms)
    return f"  {name:<34} median {med:6.1f} ms  p95 {_p95(ms):6.1f} ms  (min {min(ms):.1f})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=30, help="processes per case")
    ap.add_argument("--events", type=int, default=50_000, help="synthetic events to serve")
    ap.add_argument("--db", type=Path, help="serve this DuckDB file instead (not changed)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="otelcap-statusline-"))
    env = {
        **os.environ,
        "OTELCAP_DATA_DIR": str(tmp / "data"),
        "OTELCAP_CONFIG": str(tmp / "absent.toml"),
        "OTELCAP_RETENTION": "0",  # synthetic data spans a year: keep it all
    }
    if args.db:
        db, (session, at) = args.db, _a_session(args.db)
    else:
        db = tmp / "bench.duckdb"
        print(f"filling {db} with {args.events} events …", flush=True)
        session, at = _fill(db, args.events)
    stdin = json.dumps({"session_id": session, "model": {"display_name": "Opus"}})
    server = _serve(db, env)
    # The status line runs with the server's environment minus what only serve needs
    # (OTELCAP_RETENTION would send the client the slow way, config.load); "no server" is
    # the same command on an empty data directory, run while the server runs, so both share
    # the machine's load.
    line_env = {k: v for k, v in env.items() if k != "OTELCAP_RETENTION"}
    empty_env = {**line_env, "OTELCAP_DATA_DIR": str(tmp / "empty")}
    line = [sys.executable, "-m", "otelcap", "statusline", "--at", at]
    cases = {
        "statusline, server running": (line, line_env),
        "statusline, no server": (line, empty_env),
        "python -c pass (the floor)": ([sys.executable, "-c", "pass"], line_env),
    }
    try:
        times, lines = _time_cases(cases, stdin, args.runs)
        request = _time_request(tmp / "data", session, at, args.runs)
    finally:
        server.terminate()
        server.wait(60)
    size = db.stat().st_size / 1e6
    print(f"{args.runs} runs each, {os.cpu_count()} CPUs, {db} ({size:.0f} MB)")
    for name, ms in times.items():
        print(_row(name, ms))
        if name.endswith("running"):
            print(_row("  of which GET /v1/statusline", request))
    print(f"  line: {lines['statusline, server running']}")
    print(f"  line without a server: {lines['statusline, no server']}")
    running = statistics.median(times["statusline, server running"])
    verdict = "within" if running <= TARGET_MS else "OVER"
    print(f"  {verdict} the {TARGET_MS:.0f} ms target (median, server running)")
    if lines["statusline, server running"].startswith("otelcap: "):
        print("  note: the line with a server running is an error line (see above)")


if __name__ == "__main__":
    main()

"""Query-pack benchmark: synthetic Claude Code telemetry → DuckDB → each query's median time.

The data is made the way Claude Code makes it (OTLP requests: events per turn ordered by
event.sequence, one process per session, delta or cumulative metrics, a `--continue` process
now and then that restarts cumulative series) and goes through the real ingest code: OTLP
bytes → model.to_batches → sanitizer → DuckDBStore.append in 20k-row flushes. Only the
sockets are left out. Run by hand, not in CI:

    .venv/bin/python bench/queries.py                  # 1M events, prints median ms per query
    .venv/bin/python bench/queries.py --events 10000000 --db /tmp/otelcap-10m.duckdb
    .venv/bin/python bench/queries.py --db /tmp/otelcap-10m.duckdb --reuse   # time again
    .venv/bin/python bench/queries.py --db /tmp/otelcap-10m.duckdb --reuse --callgrind

The generator (`generate`) is also what tests/test_queries_golden.py feeds both engines.
"""

from __future__ import annotations

import argparse
import ctypes
import multiprocessing as mp
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.common.v1.common_pb2 import KeyValue
from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
from otelcap.config import Config  # noqa: E402 - after the path insert

DAY_NS = 86_400 * 10**9
START_NS = 1_767_225_600 * 10**9  # 2026-01-01T00:00:00Z: a year of use ends 2026-12-31
DELTA = AggregationTemporality.AGGREGATION_TEMPORALITY_DELTA
CUMULATIVE = AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE

# (model, $ per million input, output, cache read and cache write tokens, weight)
MODELS = [
    ("claude-sonnet-4-5-20250929", (3.0, 15.0, 0.30, 3.75), 0.62),
    ("claude-opus-4-1-20250805", (15.0, 75.0, 1.50, 18.75), 0.18),
    ("claude-haiku-4-5-20251001", (1.0, 5.0, 0.10, 1.25), 0.20),
]
TOOLS = [
    ("Read", 0.26), ("Bash", 0.24), ("Edit", 0.16), ("Grep", 0.10), ("Write", 0.06),
    ("Glob", 0.06), ("TodoWrite", 0.05), ("WebFetch", 0.03), ("Agent", 0.02),
    ("mcp__github__create_pull_request", 0.02),
]  # fmt: skip
# (error_type, error text or "" when tool details are off, weight)
TOOL_FAILURES = [
    ("ShellError", "Shell command failed", 0.30),
    ("ShellError", "Command exited with code 1: npm test", 0.14),
    ("TelemetrySafeError", "File does not exist. Current working directory: /repo.", 0.14),
    ("TelemetrySafeError", "File has not been read yet. Read it first before writing to it.", 0.10),
    ("TelemetrySafeError", "String to replace not found in file.", 0.12),
    ("TimeoutError", "Command timed out after 120000ms", 0.06),
    ("TelemetrySafeError", "EACCES: permission denied, open '/etc/hosts'", 0.04),
    ("TelemetrySafeError", "", 0.06),
    ("UnknownError", "Something unexpected happened", 0.04),
]  # fmt: skip
REJECT_SOURCES = [("config", 0.45), ("user_reject", 0.30), ("hook", 0.15), ("user_abort", 0.10)]
API_ERRORS = [(529, "Overloaded"), (429, "Rate limited"), (500, "Internal server error"),
              (400, "prompt is too long")]  # fmt: skip
VERSIONS = ["2.1.100", "2.1.140", "2.1.188", "2.1.230", "2.1.281", "2.1.332"]
COMMANDS = ["review", "commit", "test", "fix-issue"]  # slash commands: WorkflowStep
TERMINALS = [("vscode", 0.4), ("iTerm.app", 0.3), ("tmux", 0.2), ("dumb", 0.1)]


def _pick(rng: random.Random, weighted: list[tuple]) -> tuple:
    r = rng.random() * sum(w[-1] for w in weighted)
    for item in weighted:
        r -= item[-1]
        if r <= 0:
            return item
    return weighted[-1]


def _iso(t_ns: int) -> str:
    s, ns = divmod(t_ns, 10**9)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)) + f".{ns // 10**6:03d}Z"


def _kv(attrs: list[KeyValue], key: str, value: object) -> None:
    kv = attrs.add()  # type: ignore[attr-defined]
    kv.key = key
    if isinstance(value, bool):
        kv.value.bool_value = value
    elif isinstance(value, int):
        kv.value.int_value = value
    elif isinstance(value, float):
        kv.value.double_value = value
    else:
        kv.value.string_value = str(value)


@dataclass
class Process:
    """One Claude Code process: its events, and the metric sums it has counted so far."""

    session: str
    version: str
    terminal: str
    temporality: int
    start_ns: int
    seq: int = 0
    last_t: int = 0
    logs: ExportLogsServiceRequest = field(default_factory=ExportLogsServiceRequest)
    counters: dict[tuple, float] = field(default_factory=dict)  # (metric, attrs) → total
    reported: dict[tuple, float] = field(default_factory=dict)  # what delta export sent

    def __post_init__(self) -> None:
        rl = self.logs.resource_logs.add()
        for k, v in (("service.name", "claude-code"), ("service.version", self.version),
                     ("os.type", "linux"), ("host.arch", "amd64")):  # fmt: skip
            _kv(rl.resource.attributes, k, v)
        self.scope = rl.scope_logs.add()
        self.scope.scope.name = "com.anthropic.claude_code.events"
        self.scope.scope.version = self.version

    def event(self, t: int, name: str, prompt_id: str, **attrs: object) -> None:
        rec = self.scope.log_records.add()
        rec.time_unix_nano = rec.observed_time_unix_nano = t
        rec.body.string_value = f"claude_code.{name}"
        a = rec.attributes
        _kv(a, "session.id", self.session)
        _kv(a, "terminal.type", self.terminal)
        _kv(a, "event.name", name)
        _kv(a, "event.timestamp", _iso(t))
        _kv(a, "event.sequence", self.seq)
        if prompt_id:
            _kv(a, "prompt.id", prompt_id)
        for k, v in attrs.items():
            _kv(a, k, v)
        self.seq += 1

    def count(self, metric: str, value: float, **attrs: str) -> None:
        key = (metric, tuple(sorted({"session.id": self.session, **attrs}.items())))
        self.counters[key] = self.counters.get(key, 0.0) + value

    def export_metrics(self, t: int) -> ExportMetricsServiceRequest:
        """One metrics export: the running totals (cumulative) or what grew since (delta)."""
        req = ExportMetricsServiceRequest()
        rm = req.resource_metrics.add()
        _kv(rm.resource.attributes, "service.name", "claude-code")
        _kv(rm.resource.attributes, "service.version", self.version)
        sm = rm.scope_metrics.add()
        sm.scope.name = "com.anthropic.claude_code"
        by_metric: dict[str, list[tuple[tuple, float]]] = {}
        for (metric, attrs), total in sorted(self.counters.items()):
            by_metric.setdefault(metric, []).append((attrs, total))
        for metric, series in by_metric.items():
            m = sm.metrics.add()
            m.name = metric
            m.sum.aggregation_temporality = self.temporality
            m.sum.is_monotonic = True
            for attrs, total in series:
                value = total
                if self.temporality == DELTA:
                    value = total - self.reported.get((metric, attrs), 0.0)
                    if value == 0:
                        continue
                    self.reported[(metric, attrs)] = total
                p = m.sum.data_points.add()
                p.start_time_unix_nano = self.start_ns
                p.time_unix_nano = t
                p.as_double = value
                for k, v in attrs:
                    _kv(p.attributes, k, v)
        return req


def _session(rng: random.Random, t: int, version: str, resumed_from: Process | None,
             turns: int) -> tuple[list[ExportMetricsServiceRequest], Process]:  # fmt: skip
    """One process of one session: its metric exports, and the process (its events, and
    what a `--continue` process takes over)."""
    temporality = (
        resumed_from.temporality if resumed_from else (CUMULATIVE if rng.random() < 0.5 else DELTA)
    )
    p = Process(
        session=resumed_from.session if resumed_from else str(uuid.UUID(int=rng.getrandbits(128))),
        version=version,
        terminal=resumed_from.terminal if resumed_from else _pick(rng, TERMINALS)[0],
        temporality=temporality,
        start_ns=t,
    )
    out: list[ExportMetricsServiceRequest] = []
    model, price, _w = _pick(rng, MODELS)
    p.event(t, "managed_settings_resolved", "")
    for name in ("git", "lsp", "review")[: rng.randint(0, 3)]:
        p.event(t + 1000, "plugin_loaded", "", **{"plugin.name": name})
    if rng.random() < 0.03:
        p.event(t + 2000, "mcp_server_connection", "", status="failed", server_name="github")
    p.count("claude_code.session.count", 1.0)
    hooks = rng.random() < 0.2
    for _turn in range(turns):
        t += rng.randint(20, 600) * 10**9
        prompt = str(uuid.UUID(int=rng.getrandbits(128)))
        command = {"command_name": rng.choice(COMMANDS)} if rng.random() < 0.15 else {}
        p.event(t, "user_prompt", prompt, prompt_length=str(rng.randint(5, 2000)),
                prompt="<REDACTED>", **command)  # fmt: skip
        if rng.random() < 0.02:
            p.event(t, "compaction", prompt, success=str(rng.random() > 0.1).lower())
        steps = rng.randint(1, 8)
        for step in range(steps):
            t += rng.randint(200, 3000) * 10**6
            if rng.random() < 0.015:  # a request that finally failed after its retries
                status, text = rng.choice(API_ERRORS)
                p.event(t, "api_error", prompt, model=model, status_code=str(status),
                        error=text, attempt=str(rng.randint(1, 10)),
                        duration_ms=str(rng.randint(5, 30000)))  # fmt: skip
                if rng.random() < 0.5:
                    p.event(t, "api_retries_exhausted", prompt, model=model,
                            status_code=str(status), error=text)  # fmt: skip
                    break  # the turn stalls
                continue
            m_model, m_price = (model, price)
            agent = rng.random() < 0.08
            if agent:
                m_model, m_price, _w = MODELS[2]  # subagents run on haiku
            tokens = {
                "input_tokens": rng.randint(1, 400),
                "output_tokens": rng.randint(20, 3000),
                "cache_read_tokens": rng.randint(0, 150_000),
                "cache_creation_tokens": rng.randint(0, 40_000),
            }
            cost = sum(n * r for n, r in zip(tokens.values(), m_price, strict=True)) / 1e6
            duration = rng.lognormvariate(7.5, 0.7)
            ttft = duration * rng.uniform(0.2, 0.9)
            p.event(t, "api_request", prompt, model=m_model, cost_usd=cost,
                    duration_ms=str(int(duration)), ttft_ms=str(int(ttft)),
                    query_source="agent:builtin" if agent else "repl_main_thread",
                    **tokens)  # fmt: skip
            p.count("claude_code.cost.usage", cost, model=m_model)
            for kind, key in (("input", "input_tokens"), ("output", "output_tokens"),
                              ("cacheRead", "cache_read_tokens"),
                              ("cacheCreation", "cache_creation_tokens")):  # fmt: skip
                p.count("claude_code.token.usage", float(tokens[key]), model=m_model, type=kind)
            if step == steps - 1:
                p.event(t, "assistant_response", prompt, model=m_model)
                break
            tool = _pick(rng, TOOLS)[0]
            t += rng.randint(5, 200) * 10**6
            if rng.random() < 0.04:
                source = _pick(rng, REJECT_SOURCES)[0]
                p.event(t, "tool_decision", prompt, tool_name=tool, decision="reject",
                        source=source)  # fmt: skip
                continue
            p.event(t, "tool_decision", prompt, tool_name=tool, decision="accept",
                    source=rng.choice(["config", "user_temporary", "user_permanent"]))  # fmt: skip
            if hooks:
                blocking = rng.random() < 0.03
                p.event(t, "hook_execution_complete", prompt, hook_event="PreToolUse",
                        num_hooks="1", num_success="0" if blocking else "1",
                        num_blocking="1" if blocking else "0",
                        num_non_blocking_error="1" if rng.random() < 0.02 else "0",
                        num_cancelled="0")  # fmt: skip
            t += int(rng.lognormvariate(5.5, 1.2)) * 10**6
            ok = rng.random() > 0.09
            attrs: dict[str, object] = {
                "tool_name": tool,
                "success": "true" if ok else "false",
                "duration_ms": str(int(rng.lognormvariate(5.0, 1.4))),
            }
            if not ok:
                etype, text, _w2 = _pick(rng, TOOL_FAILURES)
                attrs["error_type"] = etype
                if text:
                    attrs["error"] = text
            p.event(t, "tool_result", prompt, **attrs)
            if ok and tool in ("Edit", "Write"):
                p.count("claude_code.lines_of_code.count", float(rng.randint(1, 60)),
                        type="added")  # fmt: skip
                p.count("claude_code.lines_of_code.count", float(rng.randint(0, 20)),
                        type="removed")  # fmt: skip
            if ok and tool == "Bash" and rng.random() < 0.05:
                p.count("claude_code.commit.count", 1.0)
            if ok and tool.startswith("mcp__github") and rng.random() < 0.5:
                p.count("claude_code.pull_request.count", 1.0)
        p.count("claude_code.active_time.total", rng.uniform(2, 120), type="cli")
        p.count("claude_code.active_time.total", rng.uniform(1, 60), type="user")
        if rng.random() < 0.3:  # the SDK exports metrics every so often
            out.append(p.export_metrics(t))
    out.append(p.export_metrics(t + 10**9))
    p.last_t = t
    return out, p


def generate(events: int, seed: int = 7, days: int = 365) -> Iterator[tuple[str, bytes]]:
    """OTLP requests (signal, bytes) holding about `events` log records over `days` days:
    sessions of 1-30 turns, each turn 1-8 model calls with tool use between them, the
    failures error-analysis looks for, and 6% of sessions resumed by a second process.
    Processes are batched into requests of ~2,000 records, as a collector in front would."""
    rng = random.Random(seed)
    made = 0
    logs, metrics = ExportLogsServiceRequest(), ExportMetricsServiceRequest()
    in_logs = 0

    def add(exports: list[ExportMetricsServiceRequest], p: Process) -> None:
        nonlocal in_logs
        logs.resource_logs.extend(p.logs.resource_logs)
        in_logs += p.seq
        for req in exports:
            metrics.resource_metrics.extend(req.resource_metrics)

    while made < events:
        t = START_NS + int(rng.random() * (days * DAY_NS - DAY_NS))
        era = int((t - START_NS) / (days * DAY_NS) * len(VERSIONS))
        version = VERSIONS[min(len(VERSIONS) - 1, era)]
        exports, first = _session(rng, t, version, None, rng.randint(1, 30))
        made += first.seq
        add(exports, first)
        if rng.random() < 0.06 and made < events:  # `claude --continue`: a second process
            t2 = first.last_t + rng.randint(60, 3600) * 10**9
            exports, second = _session(rng, t2, version, first, rng.randint(1, 5))
            made += second.seq
            add(exports, second)
        if in_logs >= 2000 or made >= events:
            yield "logs", logs.SerializeToString()
            yield "metrics", metrics.SerializeToString()
            logs, metrics = ExportLogsServiceRequest(), ExportMetricsServiceRequest()
            in_logs = 0


def _chunk(args: tuple[int, int]) -> list[tuple[str, bytes]]:
    events, seed = args
    return list(generate(events, seed))


def load(store: object, events: int, seed: int = 7, workers: int | None = None) -> int:
    """Generate and ingest through model → sanitizer → store, in 20k-row flushes."""
    import pyarrow as pa

    from otelcap.model import PromptSteps, to_batches
    from otelcap.sanitize import Sanitizer

    sanitizer = Sanitizer()
    steps = PromptSteps()  # as a server keeps one: a turn's events span several requests
    workers = workers or min(4, os.cpu_count() or 1)
    per = 50_000
    jobs = [(min(per, events - i), seed + i) for i in range(0, events, per)]
    pending: dict[str, list[pa.RecordBatch]] = {}
    rows = total = 0

    def flush() -> None:
        nonlocal rows
        if pending:
            store.append(pending)  # type: ignore[attr-defined]
        pending.clear()
        rows = 0

    ctx = mp.get_context("fork") if workers > 1 else None
    pool = ctx.Pool(workers) if ctx else None
    chunks = pool.imap(_chunk, jobs) if pool else map(_chunk, jobs)
    try:
        for chunk in chunks:
            for signal, data in chunk:
                conv = to_batches(signal, data, steps)
                for table, batch in sanitizer.sanitize(conv.batches).items():
                    pending.setdefault(table, []).append(batch)
                    rows += batch.num_rows
                    if table == "otel_logs":
                        total += batch.num_rows
                if rows >= 20_000:
                    flush()
        flush()
    finally:
        if pool:
            pool.close()
            pool.join()
    return total


# Queries that draw one session's page (report/data.py runs them once per session shown): the
# bench passes one session id, as the page does; over every session session-events returns
# every event (1M rows at 1M events), which is not what anyone waits for.
PER_SESSION = {"session-events", "session-spans"}


def busiest_session(store: object) -> str:
    """The session with the most events: the largest page the report draws."""
    row = store.query(  # type: ignore[attr-defined]
        "SELECT SessionId FROM otel_logs WHERE SessionId <> '' "
        "GROUP BY SessionId ORDER BY count(*) DESC, SessionId LIMIT 1"
    ).to_pylist()
    return row[0]["SessionId"] if row else ""


def time_queries(store: object, runs: int, names: list[str] | None = None) -> list[tuple]:
    """(name, median ms, min, max, median CPU ms, rows) per query. CPU time is the process's
    (every DuckDB thread's) and moves less than wall time when others load the machine."""
    from otelcap import querypack

    session = busiest_session(store)
    out = []
    for q in querypack.load_all():
        if names and q.name not in names:
            continue
        values = {"session": session} if q.name in PER_SESSION else None
        querypack.run(store, q, values)  # warm: plan and cache
        ms, cpu = [], []
        for _ in range(runs):
            c0, t0 = time.process_time(), time.perf_counter()
            table = querypack.run(store, q, values)
            ms.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
        med = statistics.median
        out.append((q.name, med(ms), min(ms), max(ms), med(cpu), table.num_rows))
    return out


def print_times(title: str, rows: list[tuple]) -> None:
    print(f"\n{title:<16}{'median ms':>10}{'min':>8}{'max':>8}{'cpu ms':>8}{'rows':>8}")
    for name, med, lo, hi, cpu, n in rows:
        print(f"{name:<16}{med:>10.1f}{lo:>8.1f}{hi:>8.1f}{cpu:>8.1f}{n:>8}")


def callgrind_child(db: Path, name: str, session: str, memory_limit: str) -> None:
    """Under callgrind: one run of one query inside a qsort comparator, so that
    --toggle-collect=*qsort* counts exactly it (opening the file and planning a first time
    are left out)."""
    from otelcap import querypack
    from otelcap.storage.duckdb import DuckDBStore

    store = DuckDBStore(db, memory_limit=memory_limit)
    # One DuckDB thread: callgrind's toggle counts only the thread that turned it on.
    store._con.execute("SET threads = 1")
    values = {"session": session} if name in PER_SESSION else None
    querypack.run(store, name, values)  # warm: plan and cache

    def compare(_a: int, _b: int) -> int:
        querypack.run(store, name, values)
        return 0

    cmp_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
    pair = (ctypes.c_int * 2)(1, 2)
    ctypes.CDLL("libc.so.6").qsort(pair, 2, ctypes.sizeof(ctypes.c_int), cmp_type(compare))
    store.close()


def instructions(db: Path, name: str, session: str, memory_limit: str) -> int:
    """The instructions one run of the query executes on one DuckDB thread (callgrind): a
    count that others' load on the machine does not move."""
    with tempfile.TemporaryDirectory(prefix="otelcap-callgrind-") as tmp:
        out = Path(tmp) / "callgrind.out"
        cmd = [
            "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
            "--collect-atstart=no", "--toggle-collect=*qsort*",
            sys.executable, __file__, "--db", str(db), "--callgrind-child", name,
            "--session", session, "--memory-limit", memory_limit,
        ]  # fmt: skip
        subprocess.run(cmd, check=True, capture_output=True)
        m = re.search(r"^(?:summary|totals): (\d+)", out.read_text(), re.M)
        if not m:
            raise SystemExit(f"callgrind wrote no totals for {name}")
        return int(m.group(1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000, help="log records to generate")
    ap.add_argument("--db", type=Path, help="DuckDB file (default: a temporary one)")
    ap.add_argument("--reuse", action="store_true", help="time an existing --db, no generation")
    ap.add_argument("--runs", type=int, default=9, help="timed runs per query (median shown)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--chdb", action="store_true", help="also time ClickHouse's engine (chdb)")
    ap.add_argument("--query", action="append", help="time only this query (repeatable)")
    ap.add_argument(
        "--memory-limit",
        default=Config.duckdb_memory_limit,
        help="DuckDB memory_limit, as otelcap sets it (default %(default)s; '' for DuckDB's own)",
    )
    ap.add_argument(
        "--row-group-size",
        type=int,
        default=Config.duckdb_row_group_size,
        help="rows per DuckDB row group written (default %(default)s, otelcap's; 0: DuckDB's)",
    )
    ap.add_argument(
        "--callgrind",
        action="store_true",
        help="count each query's instructions on one thread under valgrind (with --reuse)",
    )
    ap.add_argument("--callgrind-child", help=argparse.SUPPRESS)
    ap.add_argument("--session", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.callgrind_child:
        callgrind_child(args.db, args.callgrind_child, args.session, args.memory_limit)
        return

    from otelcap.storage.duckdb import DuckDBStore

    def open_store() -> DuckDBStore:
        return DuckDBStore(
            args.db, memory_limit=args.memory_limit, row_group_size=args.row_group_size
        )

    tmp = None
    if args.db is None:
        tmp = tempfile.TemporaryDirectory(prefix="otelcap-bench-")
        args.db = Path(tmp.name) / "bench.duckdb"
    store = open_store()
    store.create_schema()
    if not args.reuse:
        t0 = time.perf_counter()
        n = load(store, args.events, args.seed)
        print(f"generated and ingested {n:,} events in {time.perf_counter() - t0:.0f} s")
        store.close()
        # a fresh process-like start: checkpointed file, cold caches
        store = open_store()
    counts = store.query(
        "SELECT (SELECT count(*) FROM otel_logs) AS logs, "
        "(SELECT count(*) FROM otel_metrics_sum) AS points, "
        "(SELECT count(DISTINCT SessionId) FROM otel_logs) AS sessions"
    ).to_pylist()[0]
    size = os.path.getsize(args.db) / 2**20
    print(
        f"{counts['logs']:,} events, {counts['points']:,} metric points, "
        f"{counts['sessions']:,} sessions; {size:.0f} MiB; DuckDB, {os.cpu_count()} cores, "
        f"memory_limit {args.memory_limit or 'DuckDB default'}, "
        f"row groups of {args.row_group_size or 122_880} rows written"
    )
    print(f"session-events and session-spans: session {busiest_session(store)} (the busiest)")
    if args.callgrind:
        from otelcap import querypack

        session = busiest_session(store)
        store.close()
        print(f"\n{'query':<16}{'M instructions':>15}")
        for q in querypack.load_all():
            if not args.query or q.name in args.query:
                n = instructions(args.db, q.name, session, args.memory_limit)
                print(f"{q.name:<16}{n / 1e6:>15,.0f}")
        return
    print_times("query", time_queries(store, args.runs, args.query))
    if args.chdb:
        from otelcap.model import schema
        from otelcap.storage.clickhouse import ClickHouseStore, ClickHouseTarget

        # ClickHouseStore on the in-process engine: the code a ClickHouse server gets.
        ch = ClickHouseStore(ClickHouseTarget(chdb="", database="bench_queries"), ttl_days=0)
        ch.create_schema()
        for table in schema.TABLES:
            ch.append({table: store.query(f'SELECT * FROM "{table}"').to_batches()})
        print_times("chdb query", time_queries(ch, args.runs, args.query))
        ch.close()
    store.close()
    if tmp:
        tmp.cleanup()


if __name__ == "__main__":
    main()

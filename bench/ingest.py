"""Ingest benchmark for `otelcap serve` (run by hand, not in CI).

Drives a real `otelcap serve` process with Claude-shaped OTLP log requests from clients in
separate processes, over gRPC and over HTTP/protobuf, then does the same against a
decode-only gRPC receiver (the ceiling) with the same clients. Prints acknowledged
requests/s and records/s, server CPU per request and per record, RSS (idle, median, peak),
request latency and the rows found in the database afterwards (the run fails when an
acknowledged record is missing), plus an in-process breakdown (no sockets) of parse →
convert → sanitize → DuckDB append (per round for small requests: bench/rounds.py).

Two shapes. The default is Claude Code's own: 64 clients sending 5-record requests (it
exports 1-9 records every 5 s per process). The clients are spread over `--client-procs`
processes, a thread and a connection of its own each. The other is the bulk shape:

    .venv/bin/python bench/ingest.py --seconds 15                      # 64 clients x 5 records
    .venv/bin/python bench/ingest.py --seconds 15 --clients 4 --records-per-request 1000
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing as mp
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent import futures
from pathlib import Path

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "claude-code"
OTELCAP = Path(sys.executable).parent / "otelcap"
EXPORT = "/opentelemetry.proto.collector.logs.v1.LogsService/Export"
CLK_TCK = os.sysconf("SC_CLK_TCK")
MiB = 1024 * 1024


def build_payloads(n_requests: int, per_request: int, raw_bodies: bool) -> list[bytes]:
    """Tile the recorded log records into requests shaped like Claude Code's (one resource,
    one scope, many records), giving each copy fresh session/prompt ids, sequence and time.
    Raw API body events (~10 KiB each, only sent with OTEL_LOG_RAW_API_BODIES) are left out
    unless raw_bodies is set."""
    records, template = [], None
    for path in sorted(FIXTURES.glob("*/otlp/*_logs.pb")):
        req = ExportLogsServiceRequest.FromString(path.read_bytes())
        template = template or req
        records += [r for rl in req.resource_logs for sl in rl.scope_logs for r in sl.log_records]
    if not raw_bodies:
        records = [r for r in records if not r.body.string_value.endswith("_body")]
    t0 = time.time_ns()
    payloads, k = [], 0
    for i in range(n_requests):
        req = ExportLogsServiceRequest()
        rl = req.resource_logs.add()
        rl.resource.CopyFrom(template.resource_logs[0].resource)
        sl = rl.scope_logs.add()
        sl.scope.CopyFrom(template.resource_logs[0].scope_logs[0].scope)
        session = str(uuid.uuid4())
        for j in range(per_request):
            rec = sl.log_records.add()
            rec.CopyFrom(records[k % len(records)])
            k += 1
            if j % 10 == 0:
                prompt = str(uuid.uuid4())
            ts = t0 + (i * per_request + j) * 1_000_000
            rec.time_unix_nano = rec.observed_time_unix_nano = ts
            for kv in rec.attributes:
                if kv.key == "session.id":
                    kv.value.string_value = session
                elif kv.key == "prompt.id":
                    kv.value.string_value = prompt
                elif kv.key == "event.sequence":
                    kv.value.int_value = j
                elif kv.key == "event.timestamp":
                    kv.value.string_value = (
                        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts / 1e9))
                        + f".{ts // 1_000_000 % 1000:03d}Z"
                    )
        payloads.append(req.SerializeToString())
    return payloads


def cpu_seconds(pid: int) -> float:
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def machine_busy_seconds() -> float:
    """CPU seconds all processes have used (the machine may be shared: see `other cores`)."""
    v = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(v) - v[3] - v[4]) / CLK_TCK  # everything but idle and iowait


def rss_mb(pid: int, field: str = "VmHWM") -> float:
    """VmHWM: the peak resident set so far; VmRSS: the resident set now."""
    m = re.search(field + r":\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    return int(m.group(1)) / 1024 if m else float("nan")


def sample_rss(pid: int, stop: threading.Event, out: list[float]) -> None:
    while not stop.wait(0.25):
        out.append(rss_mb(pid, "VmRSS"))


def client_process(
    protocol, target, payloads, records, offsets, start, deadline, out, ready
) -> None:
    """One process running one client per offset, each in its own thread: a client sends
    one request at a time and waits for its answer, as an OTLP exporter does."""
    threads = [
        threading.Thread(
            target=client,
            args=(protocol, target, payloads, records, off, start, deadline, out, ready),
        )
        for off in offsets
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def client(protocol, target, payloads, records, offset, start, deadline, out, ready) -> None:
    if protocol == "grpc":
        import grpc

        options = [
            ("grpc.max_send_message_length", -1),
            # A connection per client, as 64 Claude Code processes would have, not one TCP
            # connection shared by every channel of the process (grpc's default).
            ("grpc.use_local_subchannel_pool", 1),
        ]
        channel = grpc.insecure_channel(target, options=options)
        call = channel.unary_unary(EXPORT)  # no serializers: bytes in, bytes out

        def send(body: bytes) -> bool:
            try:
                call(body, timeout=60)
                return True
            except grpc.RpcError:
                return False
    else:
        host, port = target.rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=60)
        headers = {"Content-Type": "application/x-protobuf"}

        def send(body: bytes) -> bool:
            conn.request("POST", "/v1/logs", body, headers)
            resp = conn.getresponse()
            resp.read()
            return resp.status == 200

    acked_total = acked = errors = 0
    lat: list[float] = []
    acked_total += records * send(payloads[offset % len(payloads)])  # warm-up, connects
    ready.put(offset)
    start.wait()
    i = offset
    while (t := time.monotonic()) < deadline.value:
        ok = send(payloads[i % len(payloads)])
        done = time.monotonic()
        i += 1
        if not ok:
            errors += 1
            continue
        acked_total += records
        if done <= deadline.value:
            acked += records
            lat.append(done - t)
    out.put((acked, acked_total, errors, lat))


def drive(pid, protocol, target, payloads, records, args, profile: str = "") -> dict:
    """Run the clients against a server process for args.seconds; measure the server."""
    ctx = mp.get_context("spawn")
    start, deadline, out, ready = ctx.Event(), ctx.Value("d", 0.0), ctx.Queue(), ctx.Queue()
    common = (protocol, target, payloads, records)
    n_procs = max(1, min(args.client_procs, args.clients))
    offsets = [[n * 3 for n in range(args.clients)][p::n_procs] for p in range(n_procs)]
    procs = [
        ctx.Process(target=client_process, args=(*common, offs, start, deadline, out, ready))
        for offs in offsets
    ]
    idle_rss = rss_mb(pid, "VmRSS")  # started, nothing received yet
    for p in procs:
        p.start()
    for _ in range(args.clients):  # each client imports, connects and sends a warm-up
        ready.get(timeout=300)
    time.sleep(0.5)
    samples: list[float] = []
    stop_sampling = threading.Event()
    sampler = threading.Thread(target=sample_rss, args=(pid, stop_sampling, samples))
    client_cpu0 = sum(cpu_seconds(p.pid) for p in procs)
    cpu0, busy0, t0 = cpu_seconds(pid), machine_busy_seconds(), time.monotonic()
    deadline.value = t0 + args.seconds
    start.set()
    sampler.start()
    spy = None
    if profile:  # --nonblocking never pauses the server; py-spy's own CPU shows in `other`
        spy = subprocess.Popen(
            [shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy"), "record",
             "--pid", str(pid), "--duration", str(int(args.seconds)), "--rate", "200",
             "--threads", "--format", "raw", "--output", profile, "--nonblocking",
             *(["--gil"] if args.py_spy_gil else [])],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
    time.sleep(max(0.0, deadline.value - time.monotonic()))
    cpu, busy = cpu_seconds(pid) - cpu0, machine_busy_seconds() - busy0
    client_cpu = sum(cpu_seconds(p.pid) for p in procs) - client_cpu0
    stop_sampling.set()
    sampler.join()
    if spy is not None:
        spy.wait(timeout=60)
    results = [out.get(timeout=120) for _ in range(args.clients)]
    for p in procs:
        p.join()
    lat = sorted(x for r in results for x in r[3])
    acked = sum(r[0] for r in results)
    requests = len(lat)

    def pct(q: float) -> float:
        return lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else float("nan")

    return {
        "req_rate": requests / args.seconds,
        "rate": acked / args.seconds,
        "cpu_us_req": cpu / requests * 1e6 if requests else float("nan"),
        "cpu_us": cpu / acked * 1e6 if acked else float("nan"),
        "server_cores": cpu / args.seconds,
        "client_cores": client_cpu / args.seconds,
        "other_cores": (busy - cpu - client_cpu) / args.seconds,
        "rss_idle": idle_rss,
        "rss_p50": statistics.median(samples) if samples else float("nan"),
        "rss": rss_mb(pid),
        "p50": pct(0.50),
        "p99": pct(0.99),
        "load": os.getloadavg()[0],  # the machine's 1-minute load as the run ends
        "acked_total": sum(r[1] for r in results),
        "errors": sum(r[2] for r in results),
    }


def bench_otelcap(protocol: str, payloads, records: int, args) -> dict:
    with tempfile.TemporaryDirectory(prefix="otelcap-bench-") as tmp:
        db = Path(tmp) / "bench.duckdb"
        env = {**os.environ, "OTELCAP_DATA_DIR": tmp, "OTELCAP_CONFIG": f"{tmp}/none.toml"}
        cmd = [str(OTELCAP), "serve", "--db", str(db), "--grpc-port", "0", "--http-port", "0"]
        stderr = Path(tmp, "stderr").open("w")  # noqa: SIM115 - lives as long as the server
        server = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True)
        ports = {}
        for line in server.stdout:
            if m := re.match(r"\s+(gRPC|HTTP)\s+(?:http://)?([\d.]+:\d+)", line):
                ports[m.group(1)] = m.group(2)
            if len(ports) == 2:
                break
        else:
            raise SystemExit(f"otelcap serve did not start:\n{Path(tmp, 'stderr').read_text()}")
        threading.Thread(target=server.stdout.read, daemon=True).start()  # keep draining
        target = ports["gRPC" if protocol == "grpc" else "HTTP"]
        before = self_metrics(ports["HTTP"])
        res = drive(server.pid, protocol, target, payloads, records, args, profile=args.py_spy)
        after = self_metrics(ports["HTTP"])
        res["stages"] = {k: after.get(k, 0) - before.get(k, 0) for k in after}
        server.send_signal(signal.SIGTERM)
        res["exit"] = server.wait(timeout=120)
        import duckdb

        with duckdb.connect(str(db), read_only=True) as con:
            res["rows"] = con.execute("SELECT count(*) FROM otel_logs").fetchone()[0]
        return res


def self_metrics(http_target: str) -> dict[str, float]:
    """The server's own counters (GET /metrics) that say how requests were grouped."""
    host, port = http_target.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    conn.close()
    out = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name in (
            "otelcap_conversion_groups", "otelcap_conversion_grouped_requests",
            "otelcap_flush_seconds_count", "otelcap_flush_seconds_sum",
        ):  # fmt: skip
            out[name] = float(value)
    return out


def ceiling_server(port_q, stop, workers: int) -> None:
    """Decode-only gRPC receiver: parse the request, answer an empty response."""
    import grpc

    def export(data: bytes, _ctx) -> bytes:
        ExportLogsServiceRequest.FromString(data)
        return b""

    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=workers),
        options=[("grpc.max_receive_message_length", 64 * MiB)],
    )
    handler = grpc.unary_unary_rpc_method_handler(export)
    service = EXPORT.split("/")[1]
    server.add_generic_rpc_handlers(
        [grpc.method_handlers_generic_handler(service, {"Export": handler})]
    )
    port_q.put(server.add_insecure_port("127.0.0.1:0"))
    server.start()
    stop.wait()
    server.stop(5).wait()


def bench_ceiling(payloads, records: int, args) -> dict:
    ctx = mp.get_context("spawn")
    port_q, stop = ctx.Queue(), ctx.Event()
    proc = ctx.Process(target=ceiling_server, args=(port_q, stop, 32))
    proc.start()
    port = port_q.get(timeout=30)
    res = drive(proc.pid, "grpc", f"127.0.0.1:{port}", payloads, records, args)
    stop.set()
    proc.join(30)
    res["rows"], res["exit"] = "-", proc.exitcode
    return res


def rate(fn, items, records: int, min_s: float = 2.0) -> float:
    n, t0 = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - t0) < min_s or n == 0:
        for item in items:
            fn(item)
            n += records
    return n / elapsed


def breakdown(payloads, records: int) -> None:
    from otelcap.config import Config
    from otelcap.model import to_batches
    from otelcap.sanitize import Sanitizer
    from otelcap.storage.duckdb import DuckDBStore

    inputs = [ExportLogsServiceRequest.FromString(p) for p in payloads]
    try:  # the model takes a decoded request or, since it decodes with ptars, the bytes
        to_batches("logs", inputs[0])
    except (TypeError, AttributeError):
        inputs = payloads
    convs = [to_batches("logs", x) for x in inputs]
    figures = {
        "(a) protobuf parse (upb)": rate(ExportLogsServiceRequest.FromString, payloads, records),
        "(b) model.to_batches": rate(lambda x: to_batches("logs", x), inputs, records),
    }
    with tempfile.TemporaryDirectory(prefix="otelcap-bench-") as tmp:
        try:
            sanitizer = Sanitizer(Config(data_dir=Path(tmp), db_path=Path(tmp) / "x.duckdb"))
            figures["(c) Sanitizer.sanitize"] = rate(
                lambda c: sanitizer.sanitize(c.batches), convs, records
            )
        except Exception as exc:  # it is being rewritten: report, do not stop the bench
            print(f"  sanitizer failed: {exc!r}")
        store = DuckDBStore(Path(tmp) / "breakdown.duckdb")
        store.create_schema()
        per_group = max(1, 20_000 // records)
        batches = [c.batches["otel_logs"] for c in convs]
        group = [batches[i % len(batches)] for i in range(per_group)]
        figures[f"(d) DuckDBStore.append ({per_group * records} rows)"] = rate(
            lambda grp: store.append({"otel_logs": grp}), [group], per_group * records, 4.0
        )
        store.close()
    print("\nIn-process breakdown (one thread, no sockets), records/s:")
    for name, value in figures.items():
        print(f"  {name:<40} {value:>10,.0f}")
    serial = 1 / sum(1 / v for v in figures.values())
    print(f"  {'serial sum of the stages':<40} {serial:>10,.0f}")


COLUMNS = {  # header: (result key, format)
    "req/s": ("req_rate", ",.0f"),  # acknowledged requests per second
    "records/s": ("rate", ",.0f"),
    "CPU µs/req": ("cpu_us_req", ",.0f"),  # server CPU per acknowledged request
    "CPU µs/rec": ("cpu_us", ".1f"),
    "server": ("server_cores", ".2f"),  # CPU cores used during the timed run
    "clients": ("client_cores", ".2f"),
    "other": ("other_cores", ".2f"),  # the rest of the machine (it may be shared)
    "load": ("load", ".1f"),  # 1-minute load average: compare runs made under the same load
    "idle MB": ("rss_idle", ".0f"),  # resident set before the first request
    "RSS p50": ("rss_p50", ".0f"),  # median resident set during the timed run, MB
    "peak MB": ("rss", ".0f"),  # VmHWM: the highest it ever was
    "p50 ms": ("p50", ".1f"),
    "p99 ms": ("p99", ".1f"),
    "acked": ("acked_total", ""),
    "rows": ("rows", ""),
    "errors": ("errors", ""),
    "exit": ("exit", ""),
}


def check_rows(name: str, r: dict, records: int) -> bool:
    """Every acknowledged record must be stored. A request answered with an error may have
    been stored all the same (e.g. a commit that outlived its wait), so at most that many
    more rows are allowed; fewer than acknowledged is a lost acknowledged record."""
    lo, hi = r["acked_total"], r["acked_total"] + r["errors"] * records
    ok = lo <= r["rows"] <= hi
    verdict = "ok" if ok else "MISMATCH"
    extra = f" (+ up to {hi - lo} from requests answered with an error)" if hi > lo else ""
    print(f"{name}: rows in otel_logs {r['rows']}, acknowledged {lo}{extra}: {verdict}")
    return ok


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--clients", type=int, default=64, help="concurrent clients")
    ap.add_argument(
        "--client-procs", type=int, default=8,
        help="processes the clients are spread over, a thread each (at most --clients)",
    )  # fmt: skip
    ap.add_argument("--protocol", choices=["grpc", "http", "both"], default="grpc")
    ap.add_argument("--records-per-request", type=int, default=5)
    ap.add_argument("--requests", type=int, default=0, help="distinct pre-built payloads")
    ap.add_argument("--raw-bodies", action="store_true", help="include raw API body events")
    ap.add_argument("--skip-breakdown", action="store_true")
    ap.add_argument("--skip-ceiling", action="store_true")
    ap.add_argument(
        "--py-spy", metavar="FILE", default="",
        help="record the otelcap server with py-spy during the timed run (collapsed stacks)",
    )  # fmt: skip
    ap.add_argument(
        "--py-spy-gil", action="store_true", help="with --py-spy: only the thread holding the GIL"
    )
    args = ap.parse_args()
    records = args.records_per_request
    # Distinct payloads: a fresh session per request, enough that 64 clients do not all
    # send the same bytes (16 of the 1,000-record ones are already 12 MB).
    n_payloads = args.requests or (16 if records >= 100 else 256)

    payloads = build_payloads(n_payloads, records, args.raw_bodies)
    size = sum(map(len, payloads)) / len(payloads)
    print(f"{len(payloads)} payloads of {records} log records, {size / 1024:,.1f} KiB each")
    n_procs = max(1, min(args.client_procs, args.clients))
    print(
        f"{args.clients} clients in {n_procs} processes, {args.seconds:g} s per run, "
        f"{os.cpu_count()} CPUs"
    )

    runs = []
    protocols = ["grpc", "http"] if args.protocol == "both" else [args.protocol]
    for proto in protocols:
        runs.append((f"otelcap {proto}", bench_otelcap(proto, payloads, records, args)))
    if "grpc" in protocols and not args.skip_ceiling:
        runs.append(("ceiling grpc", bench_ceiling(payloads, records, args)))

    print("\n" + f"{'run':<14}" + "".join(f"{h:>11}" for h in COLUMNS))
    for name, r in runs:
        print(f"{name:<14}" + "".join(f"{r[k]:>11{f}}" for k, f in COLUMNS.values()))
    print("server/clients/other: CPU cores used during the timed run (other: rest of the machine)")
    for name, r in runs:
        if st := r.get("stages"):  # during the timed run and its warm-up
            rounds = st.get("otelcap_conversion_groups", 0)
            flushes = st.get("otelcap_flush_seconds_count", 0)
            grouped = st.get("otelcap_conversion_grouped_requests", 0)
            flush_s = st.get("otelcap_flush_seconds_sum", 0)
            print(
                f"{name}: {rounds:.0f} conversion rounds ({grouped / max(rounds, 1):.1f} "
                f"requests each), {flushes:.0f} flushes ({grouped / max(flushes, 1):.1f} requests, "
                f"{flush_s / max(flushes, 1) * 1000:.1f} ms each; the writer busy "
                f"{flush_s / args.seconds:.0%} of the run)"
            )
    stored = [check_rows(name, r, records) for name, r in runs if r["rows"] != "-"]
    if runs[-1][0] == "ceiling grpc":
        for name, r in runs[:-1]:
            ratio = r["req_rate"] / runs[-1][1]["req_rate"]
            print(f"{name} / decode-only ceiling (requests/s): {ratio:.2f}")
    if not all(stored):
        raise SystemExit("FAILED: acknowledged records are missing from the database (above)")
    if not args.skip_breakdown:
        if records < 100:
            from rounds import table  # imports this module: not at the top

            print("\nIn-process, per round of n requests (bench/rounds.py):")
            table(["convert", "sanitize", "append"], ["1x5", "16x5", "64x5"], reps=31)
        else:
            breakdown(payloads, records)


if __name__ == "__main__":
    main()

"""Ingest benchmark for `otelcap serve` (run by hand, not in CI).

Drives a real `otelcap serve` process with 1,000-record Claude-shaped OTLP log requests from
separate client processes, over gRPC and over HTTP/protobuf, then does the same against a
decode-only gRPC receiver (the ceiling). Prints acknowledged records/s, server CPU per record,
peak RSS, request latency and the rows found in the database afterwards, plus an in-process
breakdown (no sockets) of parse → convert → sanitize → DuckDB append.

    .venv/bin/python bench/ingest.py --seconds 20 --clients 4 --protocol both
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing as mp
import os
import re
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


def client(protocol, target, payloads, records, offset, start, deadline, out) -> None:
    if protocol == "grpc":
        import grpc

        channel = grpc.insecure_channel(target, options=[("grpc.max_send_message_length", -1)])
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
    start.wait()
    cpu0 = sum(os.times()[:2])
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
    out.put((acked, acked_total, errors, lat, sum(os.times()[:2]) - cpu0))


def drive(pid, protocol, target, payloads, records, args) -> dict:
    """Run the clients against a server process for args.seconds; measure the server."""
    ctx = mp.get_context("spawn")
    start, deadline, out = ctx.Event(), ctx.Value("d", 0.0), ctx.Queue()
    common = (protocol, target, payloads, records)
    procs = [
        ctx.Process(target=client, args=(*common, n * 3, start, deadline, out))
        for n in range(args.clients)
    ]
    idle_rss = rss_mb(pid, "VmRSS")  # started, nothing received yet
    for p in procs:
        p.start()
    time.sleep(2.0 + 0.5 * args.clients)  # clients import, connect and send a warm-up each
    samples: list[float] = []
    stop_sampling = threading.Event()
    sampler = threading.Thread(target=sample_rss, args=(pid, stop_sampling, samples))
    cpu0, busy0, t0 = cpu_seconds(pid), machine_busy_seconds(), time.monotonic()
    deadline.value = t0 + args.seconds
    start.set()
    sampler.start()
    time.sleep(max(0.0, deadline.value - time.monotonic()))
    cpu, busy = cpu_seconds(pid) - cpu0, machine_busy_seconds() - busy0
    stop_sampling.set()
    sampler.join()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join()
    lat = sorted(x for r in results for x in r[3])
    acked = sum(r[0] for r in results)
    client_cpu = sum(r[4] for r in results)

    def pct(q: float) -> float:
        return lat[min(len(lat) - 1, int(q * len(lat)))] * 1000 if lat else float("nan")

    return {
        "rate": acked / args.seconds,
        "cpu_us": cpu / acked * 1e6 if acked else float("nan"),
        "server_cores": cpu / args.seconds,
        "client_cores": client_cpu / args.seconds,
        "other_cores": (busy - cpu - client_cpu) / args.seconds,
        "rss_idle": idle_rss,
        "rss_p50": statistics.median(samples) if samples else float("nan"),
        "rss": rss_mb(pid),
        "p50": pct(0.50),
        "p99": pct(0.99),
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
        res = drive(server.pid, protocol, target, payloads, records, args)
        server.send_signal(signal.SIGTERM)
        res["exit"] = server.wait(timeout=120)
        import duckdb

        with duckdb.connect(str(db), read_only=True) as con:
            res["rows"] = con.execute("SELECT count(*) FROM otel_logs").fetchone()[0]
        return res


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
    "records/s": ("rate", ",.0f"),
    "CPU µs/rec": ("cpu_us", ".1f"),
    "server": ("server_cores", ".2f"),  # CPU cores used during the timed run
    "clients": ("client_cores", ".2f"),
    "other": ("other_cores", ".2f"),  # the rest of the machine (it may be shared)
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--protocol", choices=["grpc", "http", "both"], default="both")
    ap.add_argument("--records-per-request", type=int, default=1000)
    ap.add_argument("--requests", type=int, default=16, help="distinct pre-built payloads")
    ap.add_argument("--raw-bodies", action="store_true", help="include raw API body events")
    ap.add_argument("--skip-breakdown", action="store_true")
    args = ap.parse_args()
    records = args.records_per_request

    payloads = build_payloads(args.requests, records, args.raw_bodies)
    size = sum(map(len, payloads)) / len(payloads)
    print(f"{len(payloads)} payloads of {records} log records, {size / 1024:,.0f} KiB each")
    print(f"{args.clients} client processes, {args.seconds:g} s per run, {os.cpu_count()} CPUs")

    runs = []
    protocols = ["grpc", "http"] if args.protocol == "both" else [args.protocol]
    for proto in protocols:
        runs.append((f"otelcap {proto}", bench_otelcap(proto, payloads, records, args)))
    if "grpc" in protocols:
        runs.append(("ceiling grpc", bench_ceiling(payloads, records, args)))

    print("\n" + f"{'run':<14}" + "".join(f"{h:>11}" for h in COLUMNS))
    for name, r in runs:
        print(f"{name:<14}" + "".join(f"{r[k]:>11{f}}" for k, f in COLUMNS.values()))
    print("server/clients/other: CPU cores used during the timed run (other: rest of the machine)")
    for name, r in runs:
        if r["rows"] != "-":
            same = "==" if r["rows"] == r["acked_total"] else "!= (MISMATCH)"
            print(f"{name}: rows in otel_logs {r['rows']} {same} acknowledged {r['acked_total']}")
    if len(runs) > 1 and runs[-1][0] == "ceiling grpc":
        print(f"otelcap grpc / decode-only ceiling: {runs[0][1]['rate'] / runs[-1][1]['rate']:.2f}")
    if not args.skip_breakdown:
        breakdown(payloads, records)


if __name__ == "__main__":
    main()

"""What one ingest round costs in-process, whatever its size: convert, sanitize, append.

A round is what Ingest converts together (the requests that waited) and what one flush
appends. For rounds of 1, 16 and 64 five-record requests and one 1,000-record request it
prints each stage's wall time (min and median of --reps: the machine may be shared, and the
minimum is the least disturbed), or with --callgrind the instructions each stage executes
per round, counted by valgrind: a figure other processes on the machine cannot change.

    .venv/bin/python bench/rounds.py
    .venv/bin/python bench/rounds.py --callgrind --stages convert,sanitize
"""

from __future__ import annotations

import argparse
import ctypes
import os
import pickle
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ingest import build_payloads

SIZES = ("1x5", "16x5", "64x5", "1x1000")
STAGES = ("convert", "sanitize", "append")


def workload(stage: str, size: str, payloads: dict[str, list[bytes]], tmp: Path, threads: int = 0):
    """The function one round of `stage` runs, ready (warmed up) to be called again."""
    from otelcap.config import Config
    from otelcap.model import to_batches
    from otelcap.sanitize import Sanitizer
    from otelcap.storage.duckdb import DuckDBStore

    count, records = (int(x) for x in size.split("x"))
    group = payloads[str(records)][:count]
    sanitizer = Sanitizer(Config(data_dir=tmp, db_path=tmp / "x.duckdb"))
    conv = to_batches("logs", group)
    clean = sanitizer.sanitize(conv.batches)
    if stage == "convert":
        fn = lambda: to_batches("logs", group)  # noqa: E731
    elif stage == "sanitize":
        fn = lambda: sanitizer.sanitize(conv.batches)  # noqa: E731
    else:
        store = DuckDBStore(tmp / f"{size}.duckdb", memory_limit="512MB", row_group_size=32768)
        store.create_schema()
        if threads:
            store._con.execute(f"SET threads = {threads}")
        fn = lambda: store.append({t: [b] for t, b in clean.items()})  # noqa: E731
    for _ in range(3):  # lazy imports, ptars' handler, caches
        fn()
    return fn


def child(stage: str, size: str, reps: int, data: Path) -> None:
    """Under callgrind: run the rounds inside a qsort comparator, so that
    --toggle-collect=*qsort* counts exactly them."""
    with tempfile.TemporaryDirectory(prefix="otelcap-rounds-") as tmp:
        # One DuckDB thread: callgrind's toggle counts only the thread that turned it on, and
        # with two, a large append does part of its work on the other.
        fn = workload(stage, size, pickle.loads(data.read_bytes()), Path(tmp), threads=1)

        def compare(_a: int, _b: int) -> int:
            for _ in range(reps):
                fn()
            return 0

        cmp_type = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
        pair = (ctypes.c_int * 2)(1, 2)
        ctypes.CDLL("libc.so.6").qsort(pair, 2, ctypes.sizeof(ctypes.c_int), cmp_type(compare))


def instructions(stage: str, size: str, reps: int, data: Path) -> float:
    with tempfile.TemporaryDirectory(prefix="otelcap-callgrind-") as tmp:
        out = Path(tmp) / "callgrind.out"
        cmd = [
            "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
            "--collect-atstart=no", "--toggle-collect=*qsort*",
            sys.executable, __file__, "--child", stage, size, str(reps), str(data),
        ]  # fmt: skip
        env = {**os.environ, "PYTHONHASHSEED": "0"}  # the same dict layouts every run
        subprocess.run(cmd, check=True, capture_output=True, env=env)
        m = re.search(r"^(?:summary|totals): (\d+)", out.read_text(), re.M)
        if not m:
            raise SystemExit(f"callgrind wrote no totals for {stage} {size}")
        return int(m.group(1)) / reps


def table(stages: list[str], sizes: list[str], reps: int = 101, callgrind: bool = False) -> None:
    with tempfile.TemporaryDirectory(prefix="otelcap-rounds-") as tmp:
        data = Path(tmp) / "payloads.pkl"
        payloads = {"5": build_payloads(64, 5, False), "1000": build_payloads(1, 1000, False)}
        data.write_bytes(pickle.dumps(payloads))
        if callgrind:
            print("million instructions per round (callgrind)")
        else:
            print(f"ms per round, min / median of {reps} (wall clock, one thread)")
        print(f"{'round':>8}" + "".join(f"{s:>18}" for s in stages))
        for size in sizes:
            cells = []
            for stage in stages:
                if callgrind:
                    n = 2 if size.endswith("1000") else 5
                    cells.append(f"{instructions(stage, size, n, data) / 1e6:>18.2f}")
                    continue
                fn = workload(stage, size, payloads, Path(tmp))
                n = max(5, reps // 5) if size.endswith("1000") else reps
                times = []
                for _ in range(n):
                    t0 = time.perf_counter()
                    fn()
                    times.append((time.perf_counter() - t0) * 1000)
                cells.append(f"{min(times):>9.2f} /{statistics.median(times):>6.2f}")
            print(f"{size:>8}" + "".join(cells), flush=True)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        stage, size, reps, data = sys.argv[2:6]
        child(stage, size, int(reps), Path(data))
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stages", default=",".join(STAGES))
    ap.add_argument("--sizes", default=",".join(SIZES))
    ap.add_argument("--reps", type=int, default=101, help="rounds timed per figure")
    ap.add_argument("--callgrind", action="store_true", help="count instructions instead")
    args = ap.parse_args()
    table(args.stages.split(","), args.sizes.split(","), args.reps, args.callgrind)


if __name__ == "__main__":
    main()

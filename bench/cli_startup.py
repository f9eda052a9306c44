"""How long `otelcap --help` and `otelcap query --list` take, start to exit (run by hand).

Each command runs --runs times as a fresh process (the installed `otelcap` script next to
this Python, else `python -m otelcap.cli`), alternating them so a busy moment hits all; the
median wall time of each is printed with the ratios. The target is `query --list` within
1.5× of `--help`. `query --list` reads the pack's SQL files and imports no engine (no pyarrow,
duckdb or sqlglot; tests/test_cli.py checks that); `otelcap query --help` is printed too,
because Typer (0.29) imports pydantic to coerce options whenever it invokes a command, which
no otelcap code can skip: the second ratio is what the pack itself adds on top of that. Find
an import that crept onto the path with `python -X importtime -m otelcap.cli query --list`.

    .venv/bin/python bench/cli_startup.py --runs 30
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET_RATIO = 1.5


def _command() -> list[str]:
    script = Path(sys.executable).with_name("otelcap")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "otelcap.cli"]


def _time(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20, help="processes per command")
    args = ap.parse_args()
    base = _command()
    cases = {
        "otelcap --help": ["--help"],
        "otelcap query --list": ["query", "--list"],
        # Any command Typer invokes, even for its help: Typer (0.29) coerces every option
        # through pydantic, which it imports then. The floor under `query --list`.
        "otelcap query --help": ["query", "--help"],
    }
    for extra in cases.values():  # warm the OS file cache and the .pyc files once
        _time(base + extra)
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.runs):
        for name, extra in cases.items():
            times[name].append(_time(base + extra))
    medians = {name: statistics.median(t) for name, t in times.items()}
    print(f"{args.runs} runs each of {' '.join(base)} on {os.cpu_count()} CPUs")
    for name, t in times.items():
        print(f"  {name:<22} median {medians[name] * 1000:6.1f} ms  "
              f"(min {min(t) * 1000:.1f}, max {max(t) * 1000:.1f})")  # fmt: skip
    ratio = medians["otelcap query --list"] / medians["otelcap --help"]
    verdict = "within" if ratio <= TARGET_RATIO else "OVER"
    print(f"  query --list / --help: {ratio:.2f}× ({verdict} the {TARGET_RATIO}× target)")
    floor = medians["otelcap query --list"] / medians["otelcap query --help"]
    print(f"  query --list / query --help: {floor:.2f}× (what the pack itself adds)")


if __name__ == "__main__":
    main()

"""Help is part of the product; --help stays light; serve's contract holds."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from otelcap.cli import app


def _commands(group: Any) -> list[tuple[str, Any]]:
    # Typer vendors its own click: walk by attributes, not isinstance.
    out = []
    for name, cmd in group.commands.items():
        out.append((name, cmd))
        if hasattr(cmd, "commands"):
            out.extend((f"{name} {n}", c) for n, c in _commands(cmd))
    return out


def test_every_command_has_help_with_an_example() -> None:
    root = typer.main.get_command(app)
    assert hasattr(root, "commands")
    commands = _commands(root)
    assert commands
    for name, cmd in commands:
        assert cmd.help, f"`otelcap {name}` has no help text"
        assert "Example" in cmd.help, f"`otelcap {name}` help has no example"
        for param in cmd.params:
            if param.param_type_name == "option" and not getattr(param, "hidden", False):
                assert param.help, f"`otelcap {name}` option {param.name} has no help"


@pytest.mark.parametrize(
    "argv",
    [None, ["--help"], ["query", "--list"], ["query", "cost", "--explain"]],
    ids=["import", "--help", "query --list", "query --explain"],
)
def test_help_does_not_import_heavy_modules(argv: list[str] | None) -> None:
    """Nor does listing or explaining the query pack: it reads SQL files, and pyarrow alone
    costs ~130 ms to import (`python -X importtime`), more than `otelcap --help` takes."""
    code = (
        "import sys; from otelcap.cli import app\n"
        f"argv = {argv!r}\n"
        "if argv is not None:\n"
        "    try:\n"
        "        app(argv, prog_name='otelcap')\n"
        "    except SystemExit as exc:\n"
        "        assert not exc.code, exc.code\n"
        "heavy = [m for m in ('grpc', 'duckdb', 'pyarrow', 'chdb', 'sqlglot')\n"
        "         if m in sys.modules]\n"
        "print('heavy:' + ','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "heavy:"
    if argv and argv[0] == "query":
        assert "cost" in out.stdout  # the command ran and printed the pack


def test_version_flag() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.startswith("otelcap ")


def test_port_in_use_is_a_clear_error_with_exit_code_2(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "OTELCAP_DATA_DIR": str(tmp_path)}
        proc = subprocess.run(
            [sys.executable, "-m", "otelcap.cli", "serve", "--db", str(tmp_path / "x.duckdb"),
             "--grpc-port", "0", "--http-port", str(port)],
            capture_output=True, text=True, env=env, timeout=60,
        )  # fmt: skip
    assert proc.returncode == 2
    assert f"127.0.0.1:{port}" in proc.stderr and "--http-port" in proc.stderr


def test_a_taken_grpc_port_is_one_clear_line_without_grpcs_own_log(tmp_path: Path) -> None:
    """grpc's C core writes its own log line to stderr (absl's `E1202 12:00:00.000 123
    add_port.cc:83] Failed to add port ...`); only otelcap's message may reach the user."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "OTELCAP_DATA_DIR": str(tmp_path)}
        env.pop("GRPC_VERBOSITY", None)
        proc = subprocess.run(
            [sys.executable, "-m", "otelcap.cli", "serve", "--db", str(tmp_path / "x.duckdb"),
             "--grpc-port", str(port), "--http-port", "0"],
            capture_output=True, text=True, env=env, timeout=60,
        )  # fmt: skip
    assert proc.returncode == 2
    assert f"127.0.0.1:{port}" in proc.stderr and "--grpc-port" in proc.stderr
    absl = re.compile(r"^[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ \S+:\d+\]", re.MULTILINE)
    assert absl.search(proc.stderr) is None, proc.stderr
    assert "absl" not in proc.stderr and "add_port" not in proc.stderr, proc.stderr


def test_a_memory_limit_duckdb_cannot_read_is_a_clear_error_with_exit_code_2(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "OTELCAP_DATA_DIR": str(tmp_path), "OTELCAP_DUCKDB_MEMORY_LIMIT": "lots"}
    proc = subprocess.run(
        [sys.executable, "-m", "otelcap.cli", "serve", "--grpc-port", "0", "--http-port", "0"],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert "duckdb_memory_limit 'lots'" in proc.stderr and "512MB" in proc.stderr


def test_serve_prints_endpoints_and_env_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "xdg"), "HOME": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "otelcap.cli", "serve", "--grpc-port", "0", "--http-port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if "Ctrl-C" in line:
            break
    text = "".join(lines)
    grpc_port = int(re.search(r"gRPC\s+127\.0\.0\.1:(\d+)", text).group(1))  # type: ignore[union-attr]
    assert grpc_port != 0
    assert f"OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:{grpc_port}" in text
    # Default database in the XDG data directory, created on start.
    default_db = tmp_path / "xdg" / "otelcap" / "otelcap.duckdb"
    assert str(default_db) in text
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    assert default_db.exists()


# --- usage errors: the same mistake, the same message and exit code in every command --------

_SINCE = "--since: expected 7d, 12h, 30m, 2w, now, 2026-11-01 or an ISO time, got 'yesterday'"
_UNTIL = "--until: expected 7d, 12h, 30m, 2w, now, 2026-11-01 or an ISO time, got 'soon'"
_ORDER = "--since (2026-11-02 00:00:00 UTC) is not before --until (2026-11-01 00:00:00 UTC)"
_TABLE_FORMATS = "--format must be one of table, csv, json, markdown, got 'yaml'"
_TEXT_FORMATS = "--format must be one of text, json, got 'yaml'"
_WINDOW = ["--since", "2026-11-02", "--until", "2026-11-01"]
USAGE_ERRORS = [
    # (what is wrong, the command line, what the message says)
    ("bad --since", ["query", "cost", "--since", "yesterday"], _SINCE),
    ("bad --since", ["export", "{tmp}/out", "--since", "yesterday"], _SINCE),
    ("bad --until", ["query", "cost", "--until", "soon"], _UNTIL),
    ("bad --until", ["export", "{tmp}/out", "--until", "soon"], _UNTIL),
    ("--since after --until", ["query", "cost", *_WINDOW], _ORDER),
    ("--since after --until", ["export", "{tmp}/out", *_WINDOW], _ORDER),
    ("unknown query", ["query", "cots"], "no query named 'cots' (did you mean 'cost'?)"),
    ("unknown query", ["query", "cots", "--explain"], "no query named 'cots' (did you mean"),
    ("unknown query", ["query", "nothing-like-it"], "no query named 'nothing-like-it'; the"),
    ("unknown --format", ["query", "cost", "--format", "yaml"], _TABLE_FORMATS),
    ("unknown --format", ["sql", "SELECT 1", "--format", "yaml"], _TABLE_FORMATS),
    ("unknown --format", ["status", "--format", "yaml"], _TEXT_FORMATS),
    ("unknown --format", ["doctor", "--format", "yaml"], _TEXT_FORMATS),
    ("unknown --format", ["privacy", "--format", "yaml"], _TEXT_FORMATS),
    ("unknown --format", ["prune", "--older-than", "30d", "--format", "yaml"], _TEXT_FORMATS),
    ("unknown --format", ["export", "{tmp}/out", "--format", "yaml"], _TEXT_FORMATS),
    ("unknown --format", ["import", "{tmp}/in", "--format", "yaml"], _TEXT_FORMATS),
    ("unknown --format", ["setup", "claude", "--format", "yaml"],
     "--format must be one of shell, dotenv, got 'yaml'"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("what", "args", "message"),
    USAGE_ERRORS,
    ids=[f"{w}: {' '.join(a[:2])}" for w, a, _m in USAGE_ERRORS],
)
def test_usage_errors_exit_2_with_one_message(
    what: str, args: list[str], message: str, tmp_path: Path
) -> None:
    env = {"OTELCAP_DATA_DIR": str(tmp_path / "data"), "OTELCAP_CONFIG": str(tmp_path / "x")}
    argv = [a.replace("{tmp}", str(tmp_path)) for a in args]
    result = CliRunner().invoke(app, argv, env=env)
    assert isinstance(result.exception, SystemExit), result.exception  # no traceback
    assert result.exit_code == 2, (what, result.output)
    assert result.output.startswith(f"otelcap: {message}"), result.output
    assert not (tmp_path / "out").exists()  # refused before anything was done


def test_h_is_help_for_every_command() -> None:
    root = typer.main.get_command(app)
    runner = CliRunner()
    for name, _cmd in [("", root), *_commands(root)]:
        argv = name.split()
        short = runner.invoke(app, [*argv, "-h"])
        assert short.exit_code == 0, (name, short.output)
        assert short.output == runner.invoke(app, [*argv, "--help"]).output, name


def test_a_taken_port_names_the_process_that_holds_it(tmp_path: Path) -> None:
    """The facts otelcap has go into the message: /proc names the holder (as doctor shows)."""
    if not Path("/proc/net/tcp").exists():
        pytest.skip("only Linux's /proc names the process that holds a port")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "OTELCAP_DATA_DIR": str(tmp_path)}
        proc = subprocess.run(
            [sys.executable, "-m", "otelcap.cli", "serve", "--db", str(tmp_path / "x.duckdb"),
             "--grpc-port", str(port), "--http-port", "0"],
            capture_output=True, text=True, env=env, timeout=60,
        )  # fmt: skip
    assert proc.returncode == 2
    assert f"gRPC on 127.0.0.1:{port}" in proc.stderr
    assert f"The port is held by pid {os.getpid()} (" in proc.stderr


def test_query_list_answers_before_typer_loads_and_says_the_same() -> None:
    """`otelcap query --list` is answered in __main__ without Typer (it imports pydantic to run
    any command); its text is the pack's own listing, as Typer's command prints it."""
    code = (
        "import sys, runpy; sys.argv = ['otelcap', 'query', '--list']; "
        "runpy.run_module('otelcap', run_name='__main__'); "
        "print('LOADED', ','.join(m for m in ('typer', 'pydantic', 'pyarrow') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    listing, _, loaded = out.stdout.rpartition("LOADED")
    assert loaded.strip() == ""
    typer_out = CliRunner().invoke(app, ["query", "--list"])
    assert listing.strip() == typer_out.output.strip()


def test_serve_keeps_pandas_out_of_its_process() -> None:
    """pyarrow would import pandas (~42 MB resident) at the server's first array; `serve`
    refuses it, and everything the server imports and builds works without it."""
    script = (
        "import sys\n"
        "from otelcap import cli\n"
        "cli._without_pandas()\n"
        "import pyarrow as pa\n"
        "import otelcap.service\n"
        "from otelcap.model import to_batches\n"
        "assert pa.array(['x']).to_pylist() == ['x']\n"
        "assert to_batches('logs', b'').batches == {}\n"
        "assert 'pandas' not in sys.modules, 'pandas was imported'\n"
        "try:\n"
        "    import pandas\n"
        "except ImportError:\n"
        "    print('refused')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == "refused", out.stderr


def test_a_process_that_has_pandas_keeps_it() -> None:
    script = (
        "import sys, pandas\n"
        "from otelcap import cli\n"
        "cli._without_pandas()\n"
        "import importlib; importlib.reload(pandas)\n"
        "print(len(sys.meta_path) and cli._NoPandas not in sys.meta_path)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert out.stdout.strip() == "True", out.stderr

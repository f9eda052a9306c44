"""`otelcap statusline`: a real server fed recorded Claude Code sessions, the command run as
Claude Code runs it (a fresh `python -m otelcap statusline` with the session's JSON on stdin),
its numbers checked against the pack's own answers (`otelcap query cost` and `query blocks`
through the same server); no server, stale records and bad stdin still give one line and exit
0; the client imports nothing heavy; `setup claude --statusline` writes settings.json once."""

from __future__ import annotations

import datetime as dt
import json
import os
import shlex
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import recordings
import stores
from otelcap import config as config_mod
from otelcap import queryapi, querypack, registry, statusline
from otelcap.cli import app
from otelcap.model import to_batches
from otelcap.sanitize import Sanitizer
from otelcap.service import Service
from otelcap.storage.duckdb import DuckDBStore
from test_budget import logs_request

LA = "America/Los_Angeles"
TOKYO = "Asia/Tokyo"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment Claude Code gives the command: the user's, without otelcap settings
    of the machine running the tests, pointed at this test's data directory."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("OTELCAP_")}
    return {
        **base,
        "OTELCAP_DATA_DIR": str(tmp_path / "data"),
        "OTELCAP_CONFIG": str(tmp_path / "absent.toml"),
        **extra,
    }


def _line(tmp_path: Path, stdin: bytes, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "otelcap", "statusline", *args],
        input=stdin, capture_output=True, env=_env(tmp_path, **env), timeout=60,
    )  # fmt: skip
    return subprocess.CompletedProcess(
        done.args, done.returncode, done.stdout.decode(), done.stderr.decode()
    )


def _query(tmp_path: Path, *args: str) -> Any:
    """`otelcap query … --format json` through the same running server."""
    env = {k: v for k, v in _env(tmp_path).items() if k.startswith(("OTELCAP_", "TZ"))}
    result = CliRunner().invoke(app, ["query", *args, "--format", "json"], env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def fed(server_factory: Any) -> Service:
    """A server holding two recorded scenarios: three sessions, one 5-hour block."""
    svc: Service = server_factory()
    for scenario in ("baseline-grpc", "tools-http-json"):
        for _ in recordings.replay(
            scenario, f"127.0.0.1:{svc.endpoints.grpc_port}", svc.endpoints.http_url
        ):
            pass
    return svc


def _last_request(tmp_path: Path) -> dt.datetime:
    ends = [dt.datetime.fromisoformat(s["ended"]) for s in _query(tmp_path, "sessions", "--utc")]
    return max(ends).astimezone(dt.timezone.utc)


def test_the_line_shows_the_packs_cost_for_the_session_and_the_local_day(
    fed: Service, tmp_path: Path
) -> None:
    sessions = _query(tmp_path, "sessions", "--utc")
    assert len(sessions) >= 2
    session = max(sessions, key=lambda s: s["cost_usd"])["session_id"]
    # A minute after the last request: inside its 5-hour block, and in Tokyo the same local
    # day, which is the day after the UTC one for these recordings' evening.
    at = _last_request(tmp_path) + dt.timedelta(minutes=1)
    day = at.astimezone(_zone(TOKYO)).date()
    assert day != at.date()
    stdin = json.dumps(
        {
            "session_id": session,
            "model": {"id": "claude-sonnet-4-5", "display_name": "Sonnet"},
            "workspace": {"current_dir": str(tmp_path)},
            "cost": {"total_cost_usd": 0.2},
        }
    ).encode()

    done = _line(tmp_path, stdin, "--format", "json", "--at", at.isoformat(), TZ=TOKYO)
    assert done.returncode == 0 and done.stderr == "", done.stderr
    got = json.loads(done.stdout)

    session_cost = _query(tmp_path, "cost", "--session", session)[-1]
    assert session_cost["model"] == "total"
    assert got["session_cost_usd"] == pytest.approx(session_cost["cost_usd"], abs=1e-9)
    assert got["session_cost_usd"] > 0
    today = _query(
        tmp_path, "cost", "--since", day.isoformat(),
        "--until", (day + dt.timedelta(days=1)).isoformat(), "--timezone", TOKYO,
    )[-1]  # fmt: skip
    assert got["day"] == day.isoformat() and got["tz"] == TOKYO
    assert got["today_cost_usd"] == pytest.approx(today["cost_usd"], abs=1e-9)
    # Both sessions of the day count today, so the day holds more than the one session.
    assert got["today_cost_usd"] > got["session_cost_usd"]

    blocks = _query(tmp_path, "blocks", "--param", f"at={at.isoformat()}", "--utc")
    active = [b for b in blocks if b["state"] == "active"]
    assert len(active) == 1
    assert got["block"]["burn_usd_per_hour"] == pytest.approx(active[0]["burn_usd_per_hour"])
    assert got["block"]["cost_usd"] == pytest.approx(active[0]["cost_usd"])
    end = dt.datetime.fromisoformat(active[0]["block_end"]).astimezone(_zone(TOKYO))

    line = _line(tmp_path, stdin, "--at", at.isoformat(), TZ=TOKYO)
    assert line.returncode == 0 and line.stderr == ""
    assert line.stdout == (
        f"session ${session_cost['cost_usd']:.2f} · today ${today['cost_usd']:.2f} · "
        f"${active[0]['burn_usd_per_hour']:.2f}/h, block ends {end:%H:%M}\n"
    )


def test_today_is_the_local_day_and_an_idle_hour_has_no_block(fed: Service, tmp_path: Path) -> None:
    """Ten hours after the last request, one instant: in Los Angeles a new day that holds
    nothing yet, in Tokyo the day of the requests; and no 5-hour block is active."""
    at = _last_request(tmp_path) + dt.timedelta(hours=10)
    for tz in (LA, TOKYO):
        done = _line(tmp_path, b"{}", "--format", "json", "--at", at.isoformat(), TZ=tz)
        got = json.loads(done.stdout)
        day = at.astimezone(_zone(tz)).date()
        pack = _query(
            tmp_path, "cost", "--since", day.isoformat(),
            "--until", (day + dt.timedelta(days=1)).isoformat(), "--timezone", tz,
        )[-1]  # fmt: skip
        assert got["day"] == day.isoformat()
        assert got["today_cost_usd"] == pytest.approx(pack["cost_usd"], abs=1e-9)
        assert got["session_cost_usd"] is None and got["block"] is None
        assert (got["today_cost_usd"] > 0) == (tz == TOKYO)

    line = _line(tmp_path, b'{"session_id": "not-a-session"}', "--at", at.isoformat(), TZ=LA)
    assert line.stdout == "session $0.00 · today $0.00 · no active block\n"


@pytest.mark.parametrize(
    "stdin",
    [b"", b"{not json", b"\xff\xfe\x00garbage", b"[1, 2]", b'{"session_id": 42}', b"null"],
    ids=["empty", "truncated", "binary", "array", "id-not-text", "null"],
)
def test_malformed_stdin_still_gives_one_line(fed: Service, tmp_path: Path, stdin: bytes) -> None:
    done = _line(tmp_path, stdin)
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.count("\n") == 1 and done.stdout.startswith("today $"), done.stdout


def test_no_server_is_one_honest_line(tmp_path: Path) -> None:
    done = _line(tmp_path, b'{"session_id": "abc"}')
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("otelcap: not running") and done.stdout.count("\n") == 1


def test_stale_records_are_skipped(tmp_path: Path) -> None:
    """A killed server's record (its process gone), and one whose port nothing answers on
    (a live pid: this process), still give the short line, and the client removes nothing."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    for pid in (os.getpid(), 2**22 + 12345):
        registry.write(
            tmp_path / "data",
            registry.ServerRecord(
                pid=pid, host="127.0.0.1", port=closed_port, token="t", backend="duckdb",
                dialect="duckdb", target="x", key="duckdb:/x",
            ),
        )  # fmt: skip
    done = _line(tmp_path, b"{}")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("otelcap: not running")
    assert len(list(registry.directory(tmp_path / "data").glob("*.json"))) == 2


def test_otelcap_db_chooses_the_server_of_that_file(fed: Service, tmp_path: Path) -> None:
    """OTELCAP_DB takes the slow way (config.load): the server of that file, or none."""
    db = str(fed.config.database)
    served = _line(tmp_path, b"{}", OTELCAP_DB=db)
    assert served.stdout.startswith("today $"), served.stdout + served.stderr
    other = _line(tmp_path, b"{}", OTELCAP_DB=str(tmp_path / "other.duckdb"))
    assert other.stdout.startswith("otelcap: not running"), other.stdout


def test_a_refused_token_is_one_line(fed: Service, tmp_path: Path) -> None:
    assert fed.record is not None and fed.record.path is not None
    record = json.loads(fed.record.path.read_text())
    fed.record.path.write_text(json.dumps({**record, "token": "wrong"}))
    done = _line(tmp_path, b"{}")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("otelcap: the server refused its record's token")


def test_the_client_imports_nothing_heavy(fed: Service, tmp_path: Path) -> None:
    """Typer, pyarrow, duckdb, grpc, http.client (ssl, email) and config.py stay unloaded on
    the way Claude Code runs it: the 100 ms budget (bench/statusline.py measures it)."""
    code = (
        "import io, sys; sys.argv = ['otelcap', 'statusline']; sys.stdin = io.StringIO('{}')\n"
        "from otelcap.__main__ import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(sys.modules), file=sys.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=_env(tmp_path)
    )
    assert done.stdout.startswith("today $"), done.stdout + done.stderr
    loaded = set(eval(done.stderr))  # the list printed above
    heavy = {"typer", "click", "pydantic", "pyarrow", "duckdb", "grpc", "http.client", "ssl"}
    heavy |= {"otelcap.cli", "otelcap.config", "otelcap.registry", "otelcap.queryapi"}
    assert loaded & heavy == set()


def test_the_client_spells_the_servers_path_and_header() -> None:
    assert statusline.PATH == queryapi.STATUSLINE_PATH
    assert statusline.SERVER_HEADER == queryapi.SERVER_HEADER


@pytest.mark.parametrize("xdg", ["", "/elsewhere/share"])
def test_the_fast_data_dir_is_platformdirs_rule(xdg: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", xdg)
    monkeypatch.setenv("XDG_CONFIG_HOME", xdg.replace("share", "config"))
    assert Path(statusline.data_dir(os.environ)) == config_mod.default_data_dir()
    assert Path(statusline._config_home(os.environ)) == config_mod.default_config_file().parent


def test_setup_claude_statusline_writes_once_and_keeps_the_rest(tmp_path: Path) -> None:
    settings = tmp_path / "settings.json"
    original = {"model": "opus", "env": {"MY_VAR": "kept"}, "hooks": {}}
    settings.write_text(json.dumps(original, indent=2) + "\n")
    env = {"OTELCAP_CONFIG": str(tmp_path / "absent.toml"), "CLAUDE_CONFIG_DIR": ""}
    argv = ["setup", "claude", "--statusline", "--settings", str(settings)]

    first = CliRunner().invoke(app, argv, env=env)
    assert first.exit_code == 0, first.output
    written = json.loads(settings.read_text())
    command = f"{shlex.quote(sys.executable)} -m otelcap statusline"
    assert written == {**original, "statusLine": {"type": "command", "command": command}}
    assert "set statusLine=" in first.stdout
    assert len(list(tmp_path.glob("settings.json.*.bak"))) == 1

    again = CliRunner().invoke(app, argv, env=env)
    assert again.exit_code == 0 and "nothing written" in again.stdout
    assert json.loads(settings.read_text()) == written
    assert len(list(tmp_path.glob("settings.json.*.bak"))) == 1

    # What Claude Code will run, run as it runs it (a shell, JSON on stdin): one line.
    done = subprocess.run(
        command, shell=True, input="{}", capture_output=True, text=True,
        env=_env(tmp_path), timeout=60,
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("otelcap: not running")


def test_setup_claude_write_and_statusline_together(tmp_path: Path) -> None:
    settings = tmp_path / "settings.json"
    env = {"OTELCAP_CONFIG": str(tmp_path / "absent.toml"), "CLAUDE_CONFIG_DIR": ""}
    argv = ["setup", "claude", "--write", "--statusline", "--settings", str(settings)]
    result = CliRunner().invoke(app, argv, env=env)
    assert result.exit_code == 0, result.output
    written = json.loads(settings.read_text())
    assert written["env"]["CLAUDE_CODE_ENABLE_TELEMETRY"] == "1"
    assert written["statusLine"]["command"].endswith(" -m otelcap statusline")
    again = CliRunner().invoke(app, argv, env=env)
    assert "nothing written" in again.stdout


def _zone(name: str) -> dt.tzinfo:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


# --- the server's side on both engines ------------------------------------------------------

T0 = dt.datetime(2026, 11, 20, 0, 0, tzinfo=dt.timezone.utc)
EVERY_2H = [(T0 + dt.timedelta(hours=h), 1.0 + h / 100) for h in range(0, 31, 2)]  # 0h … 30h
# The same, then 7 idle hours, then three more requests: the gap restarts the chain.
WITH_GAP = EVERY_2H + [(T0 + dt.timedelta(hours=h), 2.0) for h in (37, 38, 39)]


@pytest.fixture(params=["duckdb", "chdb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "duckdb":
        s: Any = DuckDBStore(tmp_path / "blocks.duckdb")
        s.create_schema()
        yield s
        s.close()
    else:
        s = stores.chdb_store()
        yield s
        stores.close_chdb_store(s)


@pytest.mark.parametrize(
    ("costs", "minutes_after"),
    [(EVERY_2H, 30), (WITH_GAP, 30)],
    ids=["no-5h-pause-in-24h", "a-5h-pause"],
)
def test_figures_equal_the_packs_blocks_and_cost_on_both_engines(
    store: Any, costs: list[tuple[dt.datetime, float]], minutes_after: int
) -> None:
    """The active block comes from the last 24 h of the `blocks` query when a 5-hour pause
    proves that window's chain exact, and from the whole history when not: the answer is the
    whole history's either way."""
    conv = to_batches("logs", logs_request(costs))
    store.append({t: [b] for t, b in Sanitizer().sanitize(conv.batches).items()})
    at = (costs[-1][0] + dt.timedelta(minutes=minutes_after)).replace(tzinfo=None)
    got = statusline.figures(store, {"at": at.isoformat(), "tz": "UTC"})

    full = querypack.run(store, "blocks", {"at": at.isoformat()}).to_pylist()
    active = [b for b in full if b["state"] == "active"]
    assert len(active) == 1 and got["block"] is not None
    assert got["block"]["start"] == active[0]["block_start"].isoformat() + "Z"
    assert got["block"]["cost_usd"] == pytest.approx(float(active[0]["cost_usd"]))
    assert got["block"]["burn_usd_per_hour"] == pytest.approx(float(active[0]["burn_usd_per_hour"]))
    since = (at - dt.timedelta(hours=statusline.BLOCKS_LOOKBACK_H)).isoformat()
    window = querypack.run(store, "blocks", {"at": at.isoformat(), "since": since})
    window_start = [b["block_start"] for b in window.to_pylist() if b["state"] == "active"]
    if costs is EVERY_2H:  # the window alone would have started the block elsewhere
        assert window_start != [active[0]["block_start"]]

    day = at.date()
    today = querypack.run(
        store, "cost", {"since": day.isoformat(), "until": (day + dt.timedelta(days=1)).isoformat()}
    ).to_pylist()[-1]
    assert got["today_cost_usd"] == pytest.approx(float(today["cost_usd"]), abs=1e-9)
    assert got["today_cost_usd"] > 0

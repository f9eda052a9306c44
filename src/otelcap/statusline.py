"""`otelcap statusline`: the one line Claude Code's `statusLine` setting shows, and the server's
side of it.

Claude Code runs the command after each assistant message (at most every 300 ms), passes the
session's JSON on stdin and shows the first line of stdout; a non-zero exit or an empty line
blanks it. So the client (`main`) always prints one line and exits 0, whatever happens: no
server, a server that does not answer, stdin that is not JSON, a bad record.

The numbers are computed in the running server (`figures`, which the service hands the
control endpoint as GET /v1/statusline), with the pack's own `cost` and `blocks` queries on
the store it holds. The client has 100 ms, of which the interpreter takes ~20; http.client
(it loads ssl and email, ~50 ms), Typer (~100 ms), pyarrow, duckdb and grpc are never
imported (`python -m otelcap statusline` reaches `main` before cli.py, see __main__.py), and
neither are config.py and registry.py (dataclasses, tomllib, platformdirs: ~45 ms) when the
environment sets nothing but OTELCAP_DATA_DIR and there is no config file. Then the data
directory is platformdirs' rule written out (`data_dir`), and the records are read here, as
registry.py writes them (`_records`). Anything else (a config file, OTELCAP_DB, a backend)
takes the slow way, config.load, and the server serving that data, as access.find chooses it.
This client only reads the records: a stale one is skipped, and the next `otelcap` command
that goes through the access layer removes it.
"""

from __future__ import annotations

import json
import os
import socket
import sys

TYPE_CHECKING = False  # typing itself costs ~5 ms of the budget
if TYPE_CHECKING:
    from typing import Any

    from otelcap.storage.base import Reader

# queryapi.STATUSLINE_PATH and queryapi.SERVER_HEADER, spelled here because importing queryapi
# (http.server, logging, pyarrow) costs more than the whole budget; a test checks they agree.
PATH = "/v1/statusline"
SERVER_HEADER = "otelcap-control"
# A local server answers in ~20 ms (bench/statusline.py, 50k events, median); past 1 s it is
# busy (a long import or query) and the line says so instead of holding Claude Code's bar.
TIMEOUT_S = 1.0
# Claude Code gives the status line one terminal row: a server's error message is cut here.
MAX_LINE = 100
MAX_ANSWER = 64 * 1024  # the answer is ~300 bytes; more is not an otelcap
USAGE = "usage: otelcap statusline [--at TIME] [--format line|json] < claude-code-session.json"
# The only OTELCAP_ variables the fast way understands (config.py reads the rest).
_FAST_ENV = {"OTELCAP_DATA_DIR", "OTELCAP_CONFIG"}


# --- the client -------------------------------------------------------------------------------


def main(argv: list[str] | None = None, stdin: Any = None) -> int:
    """Print the status line for the session on stdin; 0 unless the flags are wrong (2)."""
    args = list(sys.argv[2:] if argv is None else argv)
    options: dict[str, str] = {"format": "line"}
    while args:
        flag = args.pop(0)
        name = flag[2:].partition("=")[0]
        if name not in ("at", "format") or not flag.startswith("--"):
            print(f"otelcap statusline: unknown option {flag!r}; {USAGE}")
            return 2
        value = flag.partition("=")[2] if "=" in flag else (args.pop(0) if args else "")
        options[name] = value
    if options["format"] not in ("line", "json"):
        print(f"otelcap statusline: --format is line or json, not {options['format']!r}")
        return 2
    session = _session(sys.stdin if stdin is None else stdin)
    try:
        answer = ask(session, options.get("at", ""))
    except Unavailable as exc:
        print(_cut(f"otelcap: {exc}"))
        return 0
    except Exception as exc:  # a status line never shows a traceback: one line says what
        print(_cut(f"otelcap: {type(exc).__name__}: {exc}"))
        return 0
    print(json.dumps(answer) if options["format"] == "json" else render(answer))
    return 0


class Unavailable(Exception):
    """No answer from a server: the line says why, in a few words."""


def _session(stream: Any) -> str:
    """The session id Claude Code passes (`session_id`), or "" when stdin is a terminal, empty,
    not JSON or has none: the line then shows today's figures only."""
    try:
        if stream is None or stream.isatty():
            return ""  # run by hand: reading would wait for Ctrl-D
        data = json.loads(stream.read(1024 * 1024) or "null")
    except (OSError, ValueError, UnicodeDecodeError):
        return ""
    value = data.get("session_id") if isinstance(data, dict) else None
    return value if isinstance(value, str) else ""


def ask(session: str, at: str = "") -> dict[str, Any]:
    """The running server's figures for this session, today and the active 5-hour block."""
    env = os.environ
    config_file = env.get("OTELCAP_CONFIG") or os.path.join(_config_home(env), "config.toml")
    fast = not os.path.exists(config_file) and not any(
        k.startswith("OTELCAP_") and k not in _FAST_ENV for k in env
    )
    wanted = None
    if fast:
        where = env.get("OTELCAP_DATA_DIR") or data_dir(env)
    else:
        from otelcap import config, storage
        from otelcap.errors import OtelcapError

        try:
            cfg = config.load()
            where = str(cfg.data_dir)
            wanted = storage.key(cfg) if cfg.names_data else None
        except OtelcapError as exc:
            raise Unavailable(f"configuration: {exc}") from None
    records = [r for r in _records(where) if wanted is None or r.get("key") == wanted]
    if len({r.get("key") for r in records}) > 1:
        raise Unavailable(f"{len(records)} servers run; set OTELCAP_DB to the one to show")
    tz = env.get("TZ", "").lstrip(":")
    query = {"session": session, "at": at, "tz": tz if "/" in tz or tz == "UTC" else ""}
    path = PATH + "?" + "&".join(f"{k}={_quote(v)}" for k, v in query.items() if v)
    for record in records:
        answer = _get(record, path)
        if answer is not None:
            return answer
    raise Unavailable("not running (start it: otelcap serve, or otelcap service install)")


def data_dir(env: Any) -> str:
    """config.default_data_dir without importing platformdirs: its user_data_path rule for
    Linux and the BSDs (XDG_DATA_HOME, else ~/.local/share), macOS and Windows."""
    if sys.platform == "darwin":
        base = os.path.expanduser("~/Library/Application Support")
    elif sys.platform == "win32":
        base = env.get("LOCALAPPDATA") or os.path.expanduser("~\\AppData\\Local")
    else:
        base = env.get("XDG_DATA_HOME", "").strip() or os.path.expanduser("~/.local/share")
    return os.path.join(base, "otelcap")


def _config_home(env: Any) -> str:
    """config.default_config_file's directory, by platformdirs' user_config_path rule."""
    if sys.platform == "darwin":
        base = os.path.expanduser("~/Library/Application Support")
    elif sys.platform == "win32":
        base = env.get("LOCALAPPDATA") or os.path.expanduser("~\\AppData\\Local")
    else:
        base = env.get("XDG_CONFIG_HOME", "").strip() or os.path.expanduser("~/.config")
    return os.path.join(base, "otelcap")


def _records(where: str) -> list[dict[str, Any]]:
    """The server records in <data_dir>/servers/ (registry.py) whose process runs, oldest
    first, as access.find orders them; files that are not records are skipped."""
    folder = os.path.join(where, "servers")
    try:
        names = sorted(n for n in os.listdir(folder) if n.endswith(".json"))
    except OSError:
        return []
    out = []
    for name in names:
        try:
            with open(os.path.join(folder, name), encoding="utf-8") as fh:
                record = json.load(fh)
            pid, port = record["pid"], record["port"]
            if isinstance(pid, int) and isinstance(port, int) and _alive(pid):
                out.append({**record, "path": os.path.join(folder, name)})
        except (OSError, ValueError, TypeError, KeyError):
            continue
    return sorted(out, key=lambda r: float(r.get("started") or 0))


def _alive(pid: int) -> bool:
    """registry.pid_alive: signal 0 checks that the process exists without sending anything."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _quote(value: str) -> str:
    """Percent-encoding for the query string (urllib.parse costs ~5 ms to import)."""
    safe = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~/:"
    return "".join(c if c in safe else "".join(f"%{b:02X}" for b in c.encode()) for c in value)


def _get(record: dict[str, Any], path: str) -> dict[str, Any] | None:
    """One GET over a plain socket (HTTP/1.1, `Connection: close`, so the answer ends where
    the connection does); None when nothing, or something else than otelcap, answers at the
    record's port."""
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {record.get('host')}:{record['port']}\r\n"
        f"Authorization: Bearer {record.get('token')}\r\nConnection: close\r\n\r\n"
    )
    chunks: list[bytes] = []
    try:
        with socket.create_connection((record.get("host"), record["port"]), TIMEOUT_S) as conn:
            conn.sendall(request.encode())
            while sum(map(len, chunks)) <= MAX_ANSWER:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
    except TimeoutError:
        raise Unavailable(f"busy (no answer within {TIMEOUT_S:g} s)") from None
    except OSError:  # refused: the server is gone (killed); its record is stale
        return None
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(
        (k.strip().lower(), v.strip()) for k, _, v in (h.partition(":") for h in lines[1:])
    )
    status_line = lines[0].split(" ")
    if not headers.get("server", "").startswith(SERVER_HEADER) or len(status_line) < 2:
        return None
    status = status_line[1]
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    if status == "401":
        raise Unavailable(f"the server refused its record's token ({record.get('path')})")
    if status != "200" or not isinstance(answer, dict):
        why = answer.get("error") if isinstance(answer, dict) else body[:200].decode("replace")
        raise Unavailable(f"the server failed: {why} (HTTP {status})")
    return answer


def render(answer: dict[str, Any]) -> str:
    """`session $0.42 · today $3.10 · $1.20/h, block ends 14:00`: money to the cent."""
    parts = []
    if answer.get("session_cost_usd") is not None:
        parts.append(f"session {_usd(answer['session_cost_usd'])}")
    parts.append(f"today {_usd(answer.get('today_cost_usd'))}")
    block = answer.get("block")
    if isinstance(block, dict):
        rate = f"{_usd(block.get('burn_usd_per_hour'))}/h"
        parts.append(f"{rate}, block ends {block['end_local']}" if block.get("end_local") else rate)
    else:
        parts.append("no active block")
    return _cut(" · ".join(parts))


def _usd(value: Any) -> str:
    try:
        return f"${float(value):.2f}"
    except (TypeError, ValueError):
        return "$?"


def _cut(line: str) -> str:
    line = " ".join(line.split())  # one line, whatever a message held
    return line if len(line) <= MAX_LINE else line[: MAX_LINE - 1] + "…"


# --- the server's side ------------------------------------------------------------------------

# The active block is the `blocks` query's, run over this much history before `at` first: a
# gap of 5 hours without requests starts a new block chain (`_chain_exact`), so after one the
# window's blocks are the ones the whole history gives; without one (a day's work without a
# 5-hour pause) it runs again over all of it, which grows with the history.
BLOCKS_LOOKBACK_H = 24


def figures(store: Reader, values: dict[str, str]) -> dict[str, Any]:
    """GET /v1/statusline in the server: the session's and the local day's api_request cost
    (`query cost`'s cost_usd, by _ops/statusline-cost in one scan) and the `blocks` query's
    active block (all sessions: a Claude plan meters the account, not one session). `tz` is an
    IANA name ("" = the server's local zone), `at` any --since form ("" = now)."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    from otelcap import opsql, querypack
    from otelcap.config import parse_time, resolve_timezone

    tz = resolve_timezone(values.get("tz", ""))
    zone = ZoneInfo(tz)
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    at = parse_time(values["at"], now, tz) if values.get("at") else now
    day = at.replace(tzinfo=dt.timezone.utc).astimezone(zone).date()
    start, end = (
        dt.datetime.combine(d, dt.time(), zone).astimezone(dt.timezone.utc).replace(tzinfo=None)
        for d in (day, day + dt.timedelta(days=1))
    )
    session = values.get("session", "")
    params = {"session": session, "since": start, "until": end}
    money = store.query(opsql.sql("statusline-cost", store.dialect), params).to_pylist()[0]
    since, five = at - dt.timedelta(hours=BLOCKS_LOOKBACK_H), dt.timedelta(hours=5)
    # until: the active block ends within 5 hours of `at`; later requests cannot be in it
    window: dict[str, str | None] = {"at": at.isoformat(), "since": since.isoformat()}
    window["until"] = (at + five).isoformat()
    rows = querypack.run(store, "blocks", window).to_pylist()
    if not _chain_exact(rows, since):
        rows = querypack.run(store, "blocks", {"at": at.isoformat()}).to_pylist()
    active = next((b for b in rows if b["state"] == "active"), None)
    block = None
    if active is not None:
        ends = active["block_end"].replace(tzinfo=dt.timezone.utc).astimezone(zone)
        block = {
            "start": active["block_start"].isoformat() + "Z",
            "end": active["block_end"].isoformat() + "Z",
            "end_local": ends.strftime("%H:%M"),
            "cost_usd": float(active["cost_usd"]),
            "burn_usd_per_hour": float(active["burn_usd_per_hour"]),
            "projected_cost_usd": float(active["projected_cost_usd"]),
        }
    return {
        "session": session,
        "session_cost_usd": float(money["session_cost_usd"]) if session else None,
        "day": day.isoformat(),
        "tz": tz,
        "today_cost_usd": float(money["today_cost_usd"]),
        "block": block,
        "at": at.isoformat() + "Z",
    }


def _chain_exact(rows: list[dict[str, Any]], since: Any) -> bool:
    """Whether the blocks of a window starting at `since` are the whole history's from the
    active one on. A block ends 5 hours after the hour it starts, at most 5 hours after the
    hour of its last request; so a request 5 hours (by the hour) after the one before it
    starts a new block whatever came earlier. The window's first request follows one before
    `since`, at the latest in since's hour; each later block's first request follows the
    previous block's last."""
    import datetime as dt

    def hour(t: Any) -> Any:
        return (
            t.replace(minute=0, second=0, microsecond=0, nanosecond=0)
            if hasattr(t, "nanosecond")
            else t.replace(minute=0, second=0, microsecond=0)
        )

    five = dt.timedelta(hours=5)
    if not rows:
        return True  # nothing in the window: no block can be active at `at`
    if hour(rows[0]["first_request"]) - hour(since) >= five:
        return True
    active = next((i for i, r in enumerate(rows) if r["state"] == "active"), len(rows) - 1)
    return any(
        hour(rows[i]["first_request"]) - hour(rows[i - 1]["last_request"]) >= five
        for i in range(1, active + 1)
    )

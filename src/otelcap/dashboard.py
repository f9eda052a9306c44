"""`otelcap ui`: the dashboard served over HTTP on loopback, behind a one-time ticket.

The running `otelcap serve` serves it (on a listener of its own, started when the first
ticket is asked for), and `otelcap ui` with no server serves it itself (`serve_local`). The
page is report/page.py's without its data block; its script (report/assets/app.js) fetches
the data from this origin, and each answer is report/data.py's over the pack's queries, run
on the store the caller hands in (a figure on screen is what `otelcap query` prints).

Why a listener of its own, on 127.0.0.1 and an ephemeral port, and not the OTLP HTTP port
or the control endpoint: the OTLP receivers listen wherever `--host` says (0.0.0.0 for a
team's collector), and the page must not be reachable from there at all; the control
endpoint runs SQL for anyone holding the bearer token, and a browser-facing origin beside it
would put the two kinds of authentication behind one handler. Here only cookies from a
ticket count, and nothing but the pack's answers is served.

Authentication:
- a ticket is asked for over the authenticated control endpoint (the `ui_ticket` action: only
  someone who can read the data directory gets one) or made in-process by `serve_local`;
  it is good once, for TICKET_S;
- GET /auth?ticket=T trades it for a session cookie (HttpOnly, SameSite=Strict, Path=/) and
  redirects to / with no ticket in the URL; a used, expired or unknown ticket gets 401;
- every other path without a valid cookie gets 401 and no data; a Host header other than
  127.0.0.1 or localhost at this port gets 403 (a DNS-rebinding page cannot use it).

Every answer carries `Content-Security-Policy: default-src 'self'` (page.SERVED_CSP), no
caching and no referrer.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import secrets
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from otelcap.errors import OtelcapError
from otelcap.report import data as report_data
from otelcap.report import page

if TYPE_CHECKING:
    from pathlib import Path

    from otelcap.config import Config
    from otelcap.report.data import Run

log = logging.getLogger(__name__)

__all__ = ["Dashboard", "open_in_browser", "serve_local"]

# A ticket is for the browser `otelcap ui` opens now, or for pasting the printed URL into
# one: 2 minutes is time to copy it, and short for anyone who reads it off a screen.
TICKET_S = 120.0
# At most this many unused tickets are kept (the oldest go first): a loop asking for tickets
# cannot grow the server's memory.
MAX_TICKETS = 32
# A cookie's session lasts a working day; then `otelcap ui` again.
SESSION_S = 12 * 3600.0
MAX_SESSIONS = 256
# The page asks "did the stored row counts change?" this often. Claude Code sends its logs
# every 5 s (OTEL_LOGS_EXPORT_INTERVAL's default, 5000 ms) and its metrics every 60 s, so a
# faster poll mostly sees nothing new; the question is one count per table.
POLL_S = 5.0
DEFAULT_SINCE = "30d"
# The answers of api/data and api/choices are kept while the stored row counts stay the same,
# for at most CACHE_S (the windows "today" and "last 7 days" move with the clock), and one
# computation serves every request that asks for it meanwhile: at 1M events one api/data
# takes 1.5-6 s (bench/ui.py, on 2 cores under other load), and every open tab asks again
# after each change.
CACHE_S = 60.0
MAX_CACHED = 16

Runner = Callable[[], AbstractContextManager["Run"]]
Key = tuple[str, tuple[tuple[str, str], ...]]


class _Answer:
    """One computation of an answer, shared by the requests that wait for it."""

    def __init__(self, version: str) -> None:
        self.version = version
        self.made = time.monotonic()
        self.ready = threading.Event()
        self.value: dict[str, Any] | None = None
        self.error: BaseException | None = None


Version = Callable[[], str]

_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


class Dashboard:
    """The dashboard's HTTP listener. `runner()` opens a `run(name, values)` over the pack for
    one request (the server's store, or the access layer's); `version()`, when given, says
    what the stored row counts are now, and the page polls it and refreshes when it moves."""

    def __init__(
        self,
        runner: Runner,
        version: Version | None = None,
        *,
        tz: dt.tzinfo | None = None,
        limits: Callable[[], dict[str, float]] | None = None,
        poll_s: float = POLL_S,
        port: int = 0,
    ) -> None:
        self.runner = runner
        self.version = version
        self.tz = tz
        # the budget card's limits, asked for each time the data is computed (the config
        # file may have changed: otelcap budget set)
        self.limits = limits
        self.poll_s = poll_s
        self.host = "127.0.0.1"  # always loopback, whatever the receivers listen on
        self._port = port
        self._tickets: dict[str, float] = {}  # ticket → when it expires (monotonic)
        self._sessions: dict[str, float] = {}  # cookie value → when it expires
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._busy = 0  # answers being computed: stop() waits for them before the store closes
        self._idle = threading.Condition(self._lock)
        self._available: dict[str, list[str]] | None = None
        self._answers: dict[Key, _Answer] = {}

    # --- the listener ---------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._httpd.server_address[1] if self._httpd else 0

    @property
    def running(self) -> bool:
        return self._httpd is not None

    @property
    def cookie_name(self) -> str:
        # cookies ignore ports: one name per listener, so two dashboards do not collide
        return f"otelcap_ui_{self.port}"

    def start(self) -> None:
        with self._lock:
            if self._httpd is not None:
                return

            class Handler(_Handler):
                pass

            Handler.dashboard = self
            try:
                self._httpd = _Server((self.host, self._port), Handler)
            except OSError as exc:
                from otelcap.errors import ConfigError

                raise ConfigError(
                    f"cannot listen on {self.host}:{self._port} for the dashboard: "
                    f"{exc.strerror or exc}; pick another port (0 picks a free one)"
                ) from None
            self._httpd.daemon_threads = True
            threading.Thread(
                target=self._httpd.serve_forever, name="otelcap-dashboard", daemon=True
            ).start()
        log.info("dashboard on http://%s:%d/", self.host, self.port)

    def stop(self, wait_s: float = 30.0) -> None:
        """Stop listening, and wait (up to `wait_s`) for the answers being computed: the
        caller closes the store next."""
        with self._lock:
            httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        with self._idle:
            self._idle.wait_for(lambda: self._busy == 0, wait_s)

    @contextlib.contextmanager
    def answering(self) -> Iterator[bool]:
        """Around one answer: False once stop() began (the store may be closing)."""
        with self._lock:
            if self._httpd is None:
                yield False
                return
            self._busy += 1
        try:
            yield True
        finally:
            with self._idle:
                self._busy -= 1
                self._idle.notify_all()

    # --- tickets and sessions -------------------------------------------------------------

    def ticket_url(self) -> str:
        """A fresh one-time URL to the dashboard (the listener starts on the first one)."""
        self.start()
        ticket = secrets.token_urlsafe(32)
        now = time.monotonic()
        with self._lock:
            self._expire(self._tickets, now)
            while len(self._tickets) >= MAX_TICKETS:
                self._tickets.pop(next(iter(self._tickets)))
            self._tickets[ticket] = now + TICKET_S
        # the browser opening the link asks for the default view's data: start on it now
        threading.Thread(
            target=self._prefetch, name="otelcap-dashboard-prefetch", daemon=True
        ).start()
        return f"http://{self.host}:{self.port}/auth?ticket={ticket}"

    def _prefetch(self) -> None:
        with contextlib.suppress(Exception):  # the page's own request will say what failed
            self.data({})

    def redeem(self, ticket: str) -> str | None:
        """A new session for a ticket that is good (and is then used up); None otherwise."""
        now = time.monotonic()
        with self._lock:
            expires = self._tickets.pop(ticket, None)
            if expires is None or expires <= now:
                return None
            self._expire(self._sessions, now)
            while len(self._sessions) >= MAX_SESSIONS:
                self._sessions.pop(next(iter(self._sessions)))
            session = secrets.token_urlsafe(32)
            self._sessions[session] = now + SESSION_S
            return session

    def allowed(self, session: str) -> bool:
        with self._lock:
            expires = self._sessions.get(session)
        return expires is not None and expires > time.monotonic()

    @staticmethod
    def _expire(table: dict[str, float], now: float) -> None:
        for key in [k for k, t in table.items() if t <= now]:
            del table[key]

    # --- the answers ----------------------------------------------------------------------

    def available(self) -> dict[str, list[str]]:
        if self._available is None:
            from otelcap import report

            self._available = {k: list(v) for k, v in report.available().items()}
        return self._available

    def _period(self, values: dict[str, str]) -> tuple[dt.datetime, dt.datetime]:
        from otelcap import report

        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        return report.parse_since(values.get("since") or DEFAULT_SINCE, now, self.tz), now

    def _shared(
        self,
        kind: str,
        values: dict[str, str],
        compute: Callable[[str | None], dict[str, Any]],
    ) -> dict[str, Any]:
        """compute(version), or the answer already made (or being made) for the same values
        and the same stored row counts, at most CACHE_S ago. Without `version` (no server:
        nothing is stored meanwhile) every request computes."""
        if self.version is None:
            return compute(None)
        # the version before the queries: rows stored while they run move it again
        version = self.version()
        key: Key = (kind, tuple(sorted(values.items())))
        now = time.monotonic()
        with self._lock:
            answer = self._answers.get(key)
            mine = answer is None or answer.version != version or now - answer.made > CACHE_S
            if mine:
                answer = self._answers[key] = _Answer(version)
                while len(self._answers) > MAX_CACHED:
                    self._answers.pop(next(iter(self._answers)))
        assert answer is not None
        if mine:
            try:
                answer.value = compute(version)
            except BaseException as exc:
                answer.error = exc
                with self._lock:
                    if self._answers.get(key) is answer:
                        del self._answers[key]  # the next request tries again
            finally:
                answer.ready.set()
        else:
            answer.ready.wait()
        if answer.error is not None:
            raise answer.error
        assert answer.value is not None
        return answer.value

    def data(self, values: dict[str, str]) -> dict[str, Any]:
        """api/data?since=30d&model=…: what a report holds, with no session pages (the page
        asks for one when it is opened)."""
        return self._shared("data", values, lambda version: self._data(values, version))

    def _data(self, values: dict[str, str], version: str | None) -> dict[str, Any]:
        start, now = self._period(values)
        filters = {k: values.get(k, "") for k in report_data.FILTERS}
        with self.runner() as run:
            out = report_data.gather(
                run,
                start,
                now,
                self.available(),
                self.tz,
                filters=filters,
                details=0,
                limits=self.limits() if self.limits is not None else None,
            )
        if version is not None:
            out["live"] = {"version": version, "poll_ms": int(self.poll_s * 1000)}
        return out

    def session(self, values: dict[str, str]) -> dict[str, Any]:
        """api/session?session=ID&since=…&until=…: one session's page."""
        sid = values.get("session", "")
        if not sid:
            raise OtelcapError("api/session needs ?session=ID")
        period = {k: values[k] for k in ("since", "until") if values.get(k)}
        with self.runner() as run:
            return report_data.session_detail(run, period, sid)

    def choices(self, values: dict[str, str]) -> dict[str, Any]:
        """api/choices?since=30d: each filter's values, as `otelcap query cost --by X`."""
        return self._shared("choices", values, lambda _version: self._choices(values))

    def _choices(self, values: dict[str, str]) -> dict[str, Any]:
        start, now = self._period(values)
        by = self._by_choices()
        with self.runner() as run:
            return report_data.choices(run, start, now, by)

    def _by_choices(self) -> tuple[str, ...]:
        from otelcap import querypack

        for param in querypack.load("cost").params:
            if param.name == "by":
                return param.choices
        return ()

    def changes(self) -> dict[str, Any]:
        """api/changes: the stored row counts, as one opaque string."""
        return {"version": self.version() if self.version else None}


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # a browser that navigates away drops the fetches it had open: not an error
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    dashboard: Dashboard
    protocol_version = "HTTP/1.1"
    server_version = "otelcap-ui"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        # the request line holds a ticket once: log without the query string
        log.debug("dashboard: %s %s", self.command, urlsplit(self.path).path)

    def _send(
        self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", page.SERVED_CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "no-store")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, value: Any) -> None:
        body = json.dumps(value, separators=(",", ":"), allow_nan=False, default=str)
        self._send(status, body.encode(), "application/json")

    def _text(self, status: int, message: str) -> None:
        self._send(status, (message + "\n").encode(), "text/plain; charset=utf-8")

    def _cookie(self) -> str:
        name = self.dashboard.cookie_name
        for part in self.headers.get("Cookie", "").split(";"):
            key, _, value = part.strip().partition("=")
            if key == name:
                return value
        return ""

    def _authorized(self) -> bool:
        session = self._cookie()
        if session and self.dashboard.allowed(session):
            return True
        self._text(
            401,
            "Not signed in: this dashboard opens with a link from `otelcap ui`, which is good "
            "once; run it again for a new one.",
        )
        return False

    def _host_ok(self) -> bool:
        port = self.dashboard.port
        if self.headers.get("Host", "") in (f"127.0.0.1:{port}", f"localhost:{port}"):
            return True
        self._text(403, f"this dashboard answers only as http://127.0.0.1:{port}/")
        return False

    def do_POST(self) -> None:
        self._text(405, "the dashboard only reads: GET")

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        if not self._host_ok():
            return
        url = urlsplit(self.path)
        values = dict(parse_qsl(url.query))
        if url.path == "/favicon.ico":  # browsers ask for it: no icon, and no 404 logged
            return self._send(204, b"", "image/x-icon")
        if url.path == "/auth":
            return self._auth(values.get("ticket", ""))
        if not self._authorized():
            return
        if url.path == "/":
            return self._send(200, page.render_served().encode(), "text/html; charset=utf-8")
        if url.path.startswith("/assets/"):
            name = url.path[len("/assets/") :]
            if name not in page.ASSETS:
                return self._text(404, f"no asset {name!r}")
            ctype = _TYPES[os.path.splitext(name)[1]]
            return self._send(200, page.asset(name).encode(), ctype)
        answers: dict[str, Callable[[dict[str, str]], dict[str, Any]]] = {
            "/api/data": self.dashboard.data,
            "/api/session": self.dashboard.session,
            "/api/choices": self.dashboard.choices,
            "/api/changes": lambda _values: self.dashboard.changes(),
        }
        answer = answers.get(url.path)
        if answer is None:
            return self._text(404, f"no page {url.path}")
        try:
            with self.dashboard.answering() as open_:
                if not open_:
                    return self._json(503, {"error": "the dashboard is stopping"})
                result = answer(values)
        except OtelcapError as exc:  # a bad period, a database that is not there
            return self._json(400, {"error": str(exc)})
        except Exception as exc:  # the store's own failure: say what it was
            log.exception("dashboard %s failed", url.path)
            return self._json(500, {"error": f"{type(exc).__name__}: {exc}"})
        self._json(200, result)

    def _auth(self, ticket: str) -> None:
        session = self.dashboard.redeem(ticket) if ticket else None
        if session is None:
            return self._text(
                401,
                "This link was used already or has expired (a link is good once, for "
                f"{TICKET_S:.0f} s): run `otelcap ui` again for a new one.",
            )
        cookie = (
            f"{self.dashboard.cookie_name}={session}; HttpOnly; SameSite=Strict; Path=/; "
            f"Max-Age={SESSION_S:.0f}"
        )
        self._send(303, b"", "text/plain", {"Location": "/", "Set-Cookie": cookie})


# --- `otelcap ui` with no server ------------------------------------------------------------


def local_runner(config: Config) -> Runner:
    """Each request opens the data through the access layer (read-only) and closes it after:
    a DuckDB file stays free for an `otelcap serve` that starts meanwhile (whose endpoint the
    next request then goes through). One request at a time: DuckDB opens a file once per
    process."""
    from otelcap import report

    lock = threading.Lock()

    @contextlib.contextmanager
    def runner() -> Iterator[Run]:
        with lock, report.pack_runner(config) as run:
            yield run

    return runner


def serve_local(
    config: Config,
    port: int,
    on_ready: Callable[[Dashboard, str], None],
    config_file: Path | None = None,
) -> None:
    """Serve the dashboard over this configuration's data until SIGINT or SIGTERM."""
    from otelcap import access
    from otelcap.config import budget_limits_now, zone

    with access.open(config):  # the data is there and readable, before a URL is printed
        pass
    board = Dashboard(
        local_runner(config),
        tz=zone(config),
        limits=lambda: budget_limits_now(config, config_file),
        port=port,
    )
    wake = threading.Event()
    previous = {s: signal.signal(s, lambda *_: wake.set()) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        url = board.ticket_url()
        on_ready(board, url)
        while not wake.wait(0.5):
            pass
    finally:
        board.stop()
        for s, handler in previous.items():
            signal.signal(s, handler)


def open_in_browser(url: str) -> bool:
    """Open the URL in the desktop's browser; False when there is no desktop (on Linux with
    no DISPLAY or WAYLAND_DISPLAY Python would start a text browser in this terminal)."""
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        return False
    import webbrowser

    try:
        return webbrowser.open(url)
    except webbrowser.Error:
        return False

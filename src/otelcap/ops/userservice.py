"""`otelcap service`: keep `otelcap serve` running in the background, per user.

Claude Code retries an export for a while and then drops it, so a collector that lives in a
terminal loses whatever is sent after the terminal closes. The service manager of the
platform runs it instead:

- Linux: a systemd user unit, ~/.config/systemd/user/otelcap.service, enabled for
  default.target (starts at login; `loginctl enable-linger` starts it at boot);
- macOS: a launchd agent, ~/Library/LaunchAgents/dev.otelcap.serve.plist, RunAtLoad.

Both restart a collector that failed and leave one that was stopped on purpose (exit 0)
stopped; systemd also leaves one that exited 2 (a port in use, a bad config), because
restarting cannot fix that. The unit runs this interpreter with `-m otelcap serve`, so it
keeps working from a pipx venv, and logs to <data_dir>/logs/otelcap.log (rotated by serve);
what the process prints itself (its banner, a crash) goes to <data_dir>/logs/serve.out.
Elsewhere (Windows, a Linux without systemd) nothing is installed: the command to run is
printed instead.

Everything here touches only its own two files (the unit and the log directory) and runs the
service manager through `run`, so tests give it a temporary HOME and a recording `run`.
"""

from __future__ import annotations

import contextlib
import os
import plistlib
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from otelcap.config import Config
from otelcap.errors import OtelcapError

UNIT = "otelcap.service"
LABEL = "dev.otelcap.serve"
LOG_FILE = "otelcap.log"
OUT_FILE = "serve.out"
# A port in use or a bad config file exits 2 (cli.EXIT_CONFIG): restarting every few seconds
# would only fill the log with the same error.
_NO_RESTART_STATUS = 2
_RESTART_S = 5  # systemd's default StartLimitBurst is 5 in 10 s; 5 s apart never trips it
# OTELCAP_* variables set where `install` runs are the service's too, so it serves what the
# user's shell would; secrets are not written into a unit file (other users may read units).
_SECRET = re.compile(r"PASSWORD|PASSWD|SECRET|TOKEN|KEY", re.IGNORECASE)

Runner = Callable[[Sequence[str]], subprocess.CompletedProcess[str]]


class ServiceError(OtelcapError):
    """The service manager refused or is not there; the message says what to run instead."""


def _run(args: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=30, check=False)


@dataclass(frozen=True)
class Spec:
    """What the service runs: the command line, its environment and where it logs."""

    command: list[str]
    environment: dict[str, str]
    log_dir: Path

    @property
    def log_file(self) -> Path:
        return self.log_dir / LOG_FILE

    @property
    def out_file(self) -> Path:
        return self.log_dir / OUT_FILE


def spec_for(config: Config, serve_args: Sequence[str] = ()) -> Spec:
    """The serve command for this config; `serve_args` are serve's own flags, passed as is."""
    log_dir = config.data_dir.resolve() / "logs"
    command = [sys.executable, "-m", "otelcap", "serve", "--log-file", str(log_dir / LOG_FILE)]
    env = {
        name: value
        for name, value in os.environ.items()
        if name.startswith("OTELCAP_") and value and not _SECRET.search(name)
    }
    env["OTELCAP_DATA_DIR"] = str(config.data_dir.resolve())
    return Spec([*command, *serve_args], env, log_dir)


def skipped_secrets() -> list[str]:
    """OTELCAP_* secrets set here that the unit leaves out: the config file must hold them."""
    return sorted(
        n for n, v in os.environ.items() if n.startswith("OTELCAP_") and v and _SECRET.search(n)
    )


# --- the unit files -----------------------------------------------------------------------


def _systemd_quote(arg: str) -> str:
    # systemd.service(5) "Command lines": double quotes group, backslash escapes; % starts a
    # specifier and $ a variable, so both are doubled to stay literal.
    escaped = arg.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%").replace("$", "$$")
    return f'"{escaped}"'


def render_systemd(spec: Spec) -> str:
    env = "\n".join(
        "Environment=" + _systemd_quote(f"{k}={v}") for k, v in sorted(spec.environment.items())
    )
    return f"""\
# Written by `otelcap service install`; `otelcap service uninstall` removes it.
[Unit]
Description=otelcap: OTLP collector for Claude Code telemetry
After=network.target

[Service]
Type=simple
ExecStart={" ".join(_systemd_quote(a) for a in spec.command)}
{env}
Restart=on-failure
RestartSec={_RESTART_S}
RestartPreventExitStatus={_NO_RESTART_STATUS}
StandardOutput=truncate:{spec.out_file}
StandardError=inherit
UMask=0077

[Install]
WantedBy=default.target
"""


def render_launchd(spec: Spec) -> str:
    doc = {
        "Label": LABEL,
        "ProgramArguments": spec.command,
        "EnvironmentVariables": spec.environment,
        "RunAtLoad": True,
        # Restart only after a failure: `otelcap service stop` ends serve with exit 0.
        "KeepAlive": {"SuccessfulExit": False},
        "ThrottleInterval": 10,
        "StandardOutPath": str(spec.out_file),
        "StandardErrorPath": str(spec.out_file),
        "Umask": 0o077,
        "ProcessType": "Background",
    }
    return plistlib.dumps(doc, sort_keys=False).decode()


# --- the platforms ------------------------------------------------------------------------


@dataclass(frozen=True)
class Manager:
    """One platform's service manager: where its file goes and the commands it takes."""

    kind: str  # systemd | launchd
    path: Path
    render: Callable[[Spec], str]
    enable: list[list[str]]
    disable: list[list[str]]
    start: list[list[str]]
    stop: list[list[str]]
    status: list[str]


def manager(home: Path | None = None, platform: str | None = None) -> Manager | None:
    """The service manager here, or None where otelcap cannot install one."""
    home = home or Path.home()
    platform = platform or sys.platform
    if platform == "darwin":
        domain = f"gui/{os.getuid()}"
        plist = home / "Library" / "LaunchAgents" / f"{LABEL}.plist"
        return Manager(
            "launchd",
            plist,
            render_launchd,
            enable=[["launchctl", "bootstrap", domain, str(plist)]],
            disable=[["launchctl", "bootout", f"{domain}/{LABEL}"]],
            start=[
                ["launchctl", "bootstrap", domain, str(plist)],
                ["launchctl", "kickstart", f"{domain}/{LABEL}"],
            ],
            stop=[["launchctl", "bootout", f"{domain}/{LABEL}"]],
            status=["launchctl", "print", f"{domain}/{LABEL}"],
        )
    if platform.startswith("linux") and shutil.which("systemctl"):
        config_home = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
        ctl = ["systemctl", "--user"]
        return Manager(
            "systemd",
            config_home / "systemd" / "user" / UNIT,
            render_systemd,
            enable=[[*ctl, "daemon-reload"], [*ctl, "enable", "--now", UNIT]],
            disable=[[*ctl, "disable", "--now", UNIT], [*ctl, "daemon-reload"]],
            start=[[*ctl, "start", UNIT]],
            stop=[[*ctl, "stop", UNIT]],
            status=[*ctl, "show", UNIT, "--property=ActiveState,SubState,MainPID,UnitFileState"],
        )
    return None


def _no_manager(spec: Spec) -> ServiceError:
    command = " ".join(spec.command)
    return ServiceError(
        f"otelcap cannot install a background service on {sys.platform} (it knows systemd "
        "user units and launchd agents). Start the collector at login with your system's "
        f"own tool (Task Scheduler, a login item, cron @reboot), running:\n  {command}"
    )


@dataclass
class Outcome:
    """What a service command did, for the user to read."""

    path: Path | None
    changed: bool
    lines: list[str] = field(default_factory=list)


def _apply(commands: list[list[str]], run: Runner, what: str, mgr: Manager) -> list[str]:
    done = []
    for args in commands:
        try:
            proc = run(args)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ServiceError(_manual(commands, what, mgr, str(exc))) from None
        if proc.returncode != 0:
            reason = (proc.stderr or proc.stdout).strip().splitlines()
            raise ServiceError(_manual(commands, what, mgr, reason[-1] if reason else ""))
        done.append(" ".join(args))
    return done


def _manual(commands: list[list[str]], what: str, mgr: Manager, reason: str) -> str:
    steps = " && ".join(" ".join(a) for a in commands)
    return (
        f"{mgr.kind} did not {what} the service ({reason or 'no reason given'}). "
        f"The unit is {mgr.path}; in a login session, run: {steps}"
    )


def install(
    config: Config,
    serve_args: Sequence[str] = (),
    home: Path | None = None,
    platform: str | None = None,
    run: Runner = _run,
) -> Outcome:
    """Write the unit (only if it changed), then enable and start it. Idempotent."""
    spec = spec_for(config, serve_args)
    mgr = manager(home, platform)
    if mgr is None:
        raise _no_manager(spec)
    text = mgr.render(spec)
    old = mgr.path.read_text() if mgr.path.exists() else None
    spec.log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    if old != text:
        mgr.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = mgr.path.with_name(f".{mgr.path.name}.tmp")
        tmp.write_text(text)
        os.replace(tmp, mgr.path)  # the manager never reads half a unit
    lines = [f"{'wrote' if old != text else 'unchanged'} {mgr.path}"]
    if mgr.kind == "launchd" and old is not None:
        # launchd reads a plist only when it is bootstrapped, and refuses to bootstrap one
        # that is loaded: unload the old one first (it may not be loaded: that is fine).
        with contextlib.suppress(ServiceError):
            lines += [f"ran {c}" for c in _apply(mgr.disable, run, "unload", mgr)]
    lines += [f"ran {c}" for c in _apply(mgr.enable, run, "start", mgr)]
    lines.append(f"logs: {spec.log_file} (otelcap service logs)")
    return Outcome(mgr.path, old != text, lines)


def uninstall(home: Path | None = None, platform: str | None = None, run: Runner = _run) -> Outcome:
    """Stop and disable the service and remove its unit. Logs stay. Idempotent."""
    mgr = manager(home, platform)
    if mgr is None:
        return Outcome(None, False, ["no service manager here: nothing was installed"])
    if not mgr.path.exists():
        return Outcome(mgr.path, False, [f"not installed ({mgr.path} does not exist)"])
    lines = []
    try:
        lines += [f"ran {c}" for c in _apply(mgr.disable[:1], run, "stop", mgr)]
    except ServiceError as exc:  # already stopped, or no manager session: remove it anyway
        lines.append(f"note: {exc}")
    mgr.path.unlink()
    lines.append(f"removed {mgr.path}")
    if len(mgr.disable) > 1:
        try:
            lines += [f"ran {c}" for c in _apply(mgr.disable[1:], run, "reload", mgr)]
        except ServiceError as exc:
            lines.append(f"note: {exc}")
    return Outcome(mgr.path, True, lines)


def control(
    action: str, home: Path | None = None, platform: str | None = None, run: Runner = _run
) -> Outcome:
    """`start` or `stop` an installed service."""
    mgr = manager(home, platform)
    if mgr is None or not mgr.path.exists():
        raise ServiceError("the service is not installed: run `otelcap service install` first")
    commands = mgr.start if action == "start" else mgr.stop
    return Outcome(mgr.path, True, [f"ran {c}" for c in _apply(commands, run, action, mgr)])


@dataclass(frozen=True)
class State:
    installed: bool
    path: Path | None
    manager: str | None
    active: str  # what the service manager says: active, inactive, failed, … or unknown
    detail: dict[str, str]

    @property
    def running(self) -> bool:
        return self.active in ("active", "running")


def state(home: Path | None = None, platform: str | None = None, run: Runner = _run) -> State:
    mgr = manager(home, platform)
    if mgr is None:
        return State(False, None, None, "unknown", {})
    if not mgr.path.exists():
        return State(False, mgr.path, mgr.kind, "not installed", {})
    try:
        proc = run(mgr.status)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return State(True, mgr.path, mgr.kind, "unknown", {"error": str(exc)})
    if mgr.kind == "systemd":
        detail = dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
        active = detail.get("ActiveState") or "unknown"
        if proc.returncode != 0:
            detail["error"] = proc.stderr.strip()
    else:  # launchctl print: "state = running" among many lines; non-zero when not loaded
        detail = {}
        active = "not loaded" if proc.returncode else "unknown"
        for line in proc.stdout.splitlines():
            key, sep, value = line.strip().partition(" = ")
            if sep and key in ("state", "pid", "last exit code"):
                detail[key] = value
        active = detail.get("state", active)
    return State(True, mgr.path, mgr.kind, active, detail)


def tail(path: Path, lines: int) -> list[str]:
    """The last `lines` lines of a log file, reading only its end."""
    with path.open("rb") as fh:
        fh.seek(0, os.SEEK_END)
        end = fh.tell()
        block = 64 * 1024
        data = b""
        while end > 0 and data.count(b"\n") <= lines:
            start = max(0, end - block)
            fh.seek(start)
            data = fh.read(end - start) + data
            end = start
    return data.decode(errors="replace").splitlines()[-lines:] if lines else []


# --- status and logs ----------------------------------------------------------------------


def report(config: Config, home: Path | None = None, run: Runner = _run) -> dict[str, object]:
    """The service manager's view beside whether a collector answers for this config."""
    from otelcap import access
    from otelcap.ops.running import client_host

    st = state(home, run=run)
    try:
        server = access.find(config).server
    except access.SeveralServers:  # several answer: the service's may be one of them
        server = None
    answering = server is not None
    record = server.record if server else None
    return {
        "installed": st.installed,
        "manager": st.manager,
        "unit": str(st.path) if st.path else None,
        "state": st.active,
        "detail": st.detail,
        "running": st.running and answering,
        "answering": answering,
        "endpoint": f"{client_host(record.ingest_host)}:{record.http_port}" if record else None,
        "log": str(spec_for(config).log_file),
    }


def render(rep: dict[str, object], fmt: str = "text") -> str:
    import json

    if fmt == "json":
        return json.dumps(rep, indent=2)
    if rep["manager"] is None:
        head = "✗ no service manager here (systemd user units or launchd): run otelcap serve"
    elif not rep["installed"]:
        head = "✗ not installed: otelcap service install"
    elif rep["running"]:
        head = f"✓ running ({rep['manager']}), answering on {rep['endpoint']}"
    elif rep["answering"]:
        head = f"! a collector answers on {rep['endpoint']}, but not the service ({rep['state']})"
    elif isinstance(rep["detail"], dict) and rep["detail"].get("error"):
        head = f"✗ {rep['manager']} did not answer ({rep['detail']['error']})"
    else:
        head = f"✗ {rep['state']}: otelcap service start, then otelcap service logs"
    lines = [head]
    if rep["unit"]:
        lines.append(f"  unit: {rep['unit']}")
    lines.append(f"  log:  {rep['log']}")
    return "\n".join(lines)


def logs(config: Config, lines: int = 50, follow: bool = False) -> Iterator[str]:
    """The log's last lines, then (with follow) each new line as it is written."""
    import time

    spec = spec_for(config)
    path = spec.log_file
    if not path.exists():
        raise ServiceError(
            f"no log at {path} yet: is the service installed and started? (otelcap service status)"
        )
    yield from tail(path, max(0, lines))
    if spec.out_file.exists() and "Traceback" in spec.out_file.read_text(errors="replace"):
        yield f"(the last run printed an error: see {spec.out_file})"
    if not follow:
        return
    start_at_end = True
    while True:  # one pass per file: serve rotates it at LOG_FILE_BYTES
        with path.open("r", encoding="utf-8", errors="replace") as fh:
            if start_at_end:
                fh.seek(0, os.SEEK_END)
            inode = os.fstat(fh.fileno()).st_ino
            while True:
                line = fh.readline()
                if line:
                    yield line.rstrip("\n")
                    continue
                time.sleep(0.5)
                try:
                    if os.stat(path).st_ino != inode:
                        break  # rotated: read the new file from its start
                except FileNotFoundError:
                    pass
        start_at_end = False

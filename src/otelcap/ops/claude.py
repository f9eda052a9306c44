"""`otelcap setup claude`: the environment that points Claude Code at this collector, printed
as shell exports or a .env file, or merged into the `env` block of Claude Code's settings.json.

The merge keeps every other key of the file and every other variable of the block, writes a
timestamped backup before it changes anything, writes nothing when nothing changes (so running
it twice gives the same file), and refuses a file that is not valid JSON rather than guess.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

from otelcap import access
from otelcap.banner import claude_env
from otelcap.config import Config, check_format
from otelcap.errors import ConfigError
from otelcap.ops.running import client_host

PROTOCOLS = ("grpc", "http/protobuf", "http/json")
FORMATS = ("shell", "dotenv")


@dataclass(frozen=True)
class ContentFlag:
    option: str
    env: tuple[tuple[str, str], ...]
    short: str  # what it adds, in a few words
    exposes: str  # what Claude Code then sends, and what otelcap does with it


CONTENT = {
    "log_prompts": ContentFlag(
        "--log-prompts",
        (("OTEL_LOG_USER_PROMPTS", "1"),),
        "prompt text",
        "prompt text; otelcap stores a keyed hash and the length, never the text",
    ),
    "tool_details": ContentFlag(
        "--tool-details",
        (("OTEL_LOG_TOOL_DETAILS", "1"),),
        "tool details",
        "tool parameters and input (Bash commands, file paths, MCP and skill names) and tool "
        "error text; otelcap hashes the content and masks secrets in the text",
    ),
    "traces": ContentFlag(
        "--traces",
        (("CLAUDE_CODE_ENHANCED_TELEMETRY_BETA", "1"), ("OTEL_TRACES_EXPORTER", "otlp")),
        "spans",
        "spans (beta) for each prompt, model request and tool call, with timing and retry "
        "attempts; otelcap sanitizes span attributes like events",
    ),
}
# Variables that, when present, win over the generic endpoint and protocol otelcap sets.
_OVERRIDES = re.compile(r"^OTEL_EXPORTER_OTLP_(LOGS|METRICS|TRACES)_(ENDPOINT|PROTOCOL)$")


@dataclass(frozen=True)
class ClaudeEnv:
    protocol: str
    endpoint: str
    set: dict[str, str]  # variables to set, in the order printed
    unset: tuple[str, ...] = ()  # variables to remove (a content flag turned off with --no-…)
    content: dict[str, bool | None] = field(default_factory=dict)


def build(
    cfg: Config,
    protocol: str = "grpc",
    host: str | None = None,
    content: dict[str, bool | None] | None = None,
) -> ClaudeEnv:
    """The variables for this collector. content: flag name → True (send), False (stop
    sending: removed from settings.json), None (not asked: left as it is)."""
    if protocol not in PROTOCOLS:
        raise ConfigError(f"--protocol must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
    port = cfg.grpc_port if protocol == "grpc" else cfg.http_port
    if port == 0:
        raise ConfigError(
            "the configured port is 0 (picked at start): Claude Code needs a fixed one; "
            "pass --grpc-port/--http-port or set them in the config"
        )
    host = host or client_host(cfg.host)
    values = dict(
        line.split("=", 1) for line in claude_env(host, cfg.grpc_port, cfg.http_port, protocol)
    )
    content = {k: (content or {}).get(k) for k in CONTENT}
    unset: list[str] = []
    for key, flag in CONTENT.items():
        if content[key]:
            values.update(flag.env)
        elif content[key] is False:
            unset.extend(name for name, _ in flag.env)
    return ClaudeEnv(protocol, values["OTEL_EXPORTER_OTLP_ENDPOINT"], values, tuple(unset), content)


def configured_protocol(path: Path) -> str | None:
    """The protocol Claude Code's settings.json already uses, if it names one otelcap serves:
    `--write` keeps it unless --protocol is given, so rerunning it never switches silently."""
    try:
        env = json.loads(Path(path).expanduser().read_text(encoding="utf-8")).get("env", {})
        value = env.get("OTEL_EXPORTER_OTLP_PROTOCOL") if isinstance(env, dict) else None
    except (OSError, ValueError, AttributeError):
        return None
    return value if value in PROTOCOLS else None


@dataclass(frozen=True)
class Target:
    """Where Claude Code should send: the config's ports, or a running server's."""

    config: Config
    running: bool
    note: str = ""


def target(cfg: Config, ports_given: bool) -> Target:
    """A running otelcap's own ports win over the configured ones (it may have been started
    with other flags), explicit --grpc-port/--http-port win over both."""
    try:
        found = access.find(cfg).server
    except access.SeveralServers as exc:  # which one Claude Code should send to is the user's
        return Target(cfg, True, f"Note: {exc}\nThese settings use --grpc-port/--http-port.")
    if found is None:
        where = f"{client_host(cfg.host)}:{cfg.grpc_port}/{cfg.http_port}"
        return Target(
            cfg,
            False,
            f"Note: no otelcap answers here now ({where}); start one with `otelcap serve`, or "
            "`otelcap service install` to keep one running in the background.",
        )
    if ports_given:
        return Target(cfg, True)
    import dataclasses

    rec = found.record
    return Target(dataclasses.replace(cfg, grpc_port=rec.grpc_port, http_port=rec.http_port), True)


def render(env: ClaudeEnv, fmt: str = "shell") -> str:
    check_format(fmt, FORMATS)
    flag_of = {name: key for key, flag in CONTENT.items() for name, _ in flag.env}
    lines = [
        f"# Claude Code → otelcap ({env.protocol}, {env.endpoint}). Restart Claude Code after "
        "setting these;",
        "# `otelcap setup claude --write` puts them in Claude Code's settings.json instead.",
    ]
    seen: set[str] = set()
    for name, value in env.set.items():
        key = flag_of.get(name)
        if key and key not in seen:
            seen.add(key)
            lines += textwrap.wrap(
                f"{CONTENT[key].option}: {CONTENT[key].exposes}",
                98,
                initial_indent="# ",
                subsequent_indent="#   ",
            )
        text = shlex.quote(value) if fmt == "shell" else value
        lines.append(f"export {name}={text}" if fmt == "shell" else f"{name}={text}")
    off = [f"{f.short} ({f.option})" for k, f in CONTENT.items() if not env.content.get(k)]
    if off:
        lines.append(f"# not sent: {', '.join(off)}; `otelcap setup claude --help` says what")
    return "\n".join(lines)


@dataclass(frozen=True)
class WriteResult:
    path: Path
    changed: bool
    backup: Path | None
    changes: list[str]  # "set NAME=value" / "NAME: old → new" / "removed NAME"
    overridden: list[str]  # variables in the file that override what otelcap set


def write_settings(
    path: Path, env: ClaudeEnv | None, statusline: dict[str, str] | None = None
) -> WriteResult:
    """Merge `env` into the settings file's `env` block, and set its `statusLine` when given
    (see the module docstring); `env` None leaves the block as it is."""
    path = Path(path).expanduser()
    target = path.resolve()  # a symlinked settings.json (dotfiles) stays a symlink
    text = target.read_text(encoding="utf-8") if target.exists() else None
    data = _parse(path, text)
    old_env = data.get("env", {})
    if not isinstance(old_env, dict):
        raise ConfigError(f'{path}: "env" is not an object; fix it by hand. Nothing was written.')
    new_env, changes = dict(old_env), []
    if env is not None:
        new_env = {**old_env, **env.set}
        for name in env.unset:
            new_env.pop(name, None)
        changes = [
            f"{k}: {old_env[k]} → {v}" if k in old_env else f"set {k}={v}"
            for k, v in env.set.items()
            if old_env.get(k) != v
        ]
        changes += [f"removed {k}" for k in env.unset if k in old_env]
    overridden = sorted(k for k in new_env if _OVERRIDES.match(k))
    old_line = data.get("statusLine")
    line_changes = statusline is not None and old_line != statusline
    if line_changes:
        new_text = json.dumps(statusline, ensure_ascii=False)
        old_text = json.dumps(old_line, ensure_ascii=False)
        changes.append(
            f"statusLine: {old_text} → {new_text}" if old_line else f"set statusLine={new_text}"
        )
    env_same = env is None or ("env" in data and new_env == old_env)
    if env_same and not line_changes:
        return WriteResult(path, False, None, [], overridden)
    if env is not None:
        data["env"] = new_env
    if statusline is not None:
        data["statusLine"] = statusline
    out = json.dumps(data, indent=_indent(text), ensure_ascii=False) + "\n"
    backup = None
    if text is not None:
        backup = _free_name(target.with_name(f"{target.name}.{time.strftime('%Y%m%d-%H%M%S')}.bak"))
        shutil.copy2(target, backup)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(out)
        if text is not None:
            shutil.copymode(target, tmp)
        os.replace(tmp, target)  # readers (a starting Claude Code) never see half a file
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return WriteResult(path, True, backup, changes, overridden)


def statusline_setting() -> dict[str, str]:
    """Claude Code's `statusLine` for `otelcap statusline`, run by this Python: `-m otelcap`
    reaches the status line before Typer loads (statusline.py), and works from any venv."""
    return {"type": "command", "command": f"{shlex.quote(sys.executable)} -m otelcap statusline"}


def _parse(path: Path, text: str | None) -> dict[str, object]:
    if text is None or not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "fix it, or pass --settings to write another file. Nothing was written."
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} is not a JSON object. Nothing was written.")
    return data


def _indent(text: str | None) -> int:
    """Keep the file's indentation (Claude Code writes 2 spaces)."""
    m = re.search(r"^\{\s*\n( +)\S", text or "")
    return len(m.group(1)) if m else 2


def _free_name(path: Path) -> Path:
    candidate, n = path, 1
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.{n}")
        n += 1
    return candidate


def render_write(result: WriteResult) -> str:
    if not result.changed:
        lines = [f"{result.path} already has these settings; nothing written."]
    else:
        lines = [f"Updated {result.path}"]
        if result.backup:
            lines[0] += f" (backup: {result.backup})"
        lines.extend(f"  {c}" for c in result.changes)
        lines.append("Restart Claude Code; then `otelcap doctor` shows what arrives.")
    for name in result.overridden:
        lines.append(
            f"Note: {name} is also set in the file and wins over the generic endpoint/protocol "
            "for its signal; remove it if it does not point at otelcap."
        )
    return "\n".join(lines)

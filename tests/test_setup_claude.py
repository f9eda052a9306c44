"""`otelcap setup claude`: the printed environment per protocol and format, and the merge into
Claude Code's settings.json (keeps other keys, idempotent, backed up, refuses bad JSON)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from otelcap.cli import app


def _run(tmp_path: Path, *args: str, **env: str) -> tuple[int, str, str]:
    base = {
        "OTELCAP_CONFIG": str(tmp_path / "absent.toml"),
        "OTELCAP_GRPC_PORT": "14317",
        "OTELCAP_HTTP_PORT": "14318",
        "HOME": str(tmp_path / "home"),
        "CLAUDE_CONFIG_DIR": "",
    }
    result = CliRunner().invoke(app, ["setup", "claude", *args], env={**base, **env})
    return result.exit_code, result.stdout, result.stderr


def _exports(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.removeprefix("export ").partition("=")
            out[key] = value
    return out


@pytest.mark.parametrize(
    ("protocol", "endpoint"),
    [
        ("grpc", "http://127.0.0.1:14317"),
        ("http/protobuf", "http://127.0.0.1:14318"),
        ("http/json", "http://127.0.0.1:14318"),
    ],
)
def test_prints_the_endpoint_for_each_protocol(
    tmp_path: Path, protocol: str, endpoint: str
) -> None:
    code, out, _ = _run(tmp_path, "--protocol", protocol)
    assert code == 0
    assert all(line.startswith(("export ", "#")) for line in out.splitlines() if line)
    env = _exports(out)
    assert env == {
        "CLAUDE_CODE_ENABLE_TELEMETRY": "1",
        "OTEL_METRICS_EXPORTER": "otlp",
        "OTEL_LOGS_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
        "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,  # the base URL: the SDK appends /v1/<signal>
    }
    assert "# not sent: prompt text (--log-prompts)" in out


def test_dotenv_with_content_flags_explains_each(tmp_path: Path) -> None:
    code, out, _ = _run(
        tmp_path, "--format", "dotenv", "--log-prompts", "--tool-details", "--traces"
    )
    assert code == 0
    assert "export" not in out
    env = _exports(out)
    assert env["OTEL_LOG_USER_PROMPTS"] == "1"
    assert env["OTEL_LOG_TOOL_DETAILS"] == "1"
    assert env["CLAUDE_CODE_ENHANCED_TELEMETRY_BETA"] == "1"
    assert env["OTEL_TRACES_EXPORTER"] == "otlp"
    assert "# --log-prompts: prompt text; otelcap stores a keyed hash" in out
    assert "not sent" not in out


def test_listening_on_all_addresses_points_claude_at_loopback(tmp_path: Path) -> None:
    code, out, _ = _run(tmp_path, OTELCAP_HOST="0.0.0.0")
    assert code == 0
    assert _exports(out)["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://127.0.0.1:14317"


def test_write_keeps_other_settings_is_idempotent_and_backs_up(tmp_path: Path) -> None:
    settings = tmp_path / "home" / ".claude" / "settings.json"
    settings.parent.mkdir(parents=True)
    original = {
        "model": "opus",
        "permissions": {"allow": ["Bash(git status)"], "deny": []},
        "env": {"MY_VAR": "kept", "OTEL_LOG_USER_PROMPTS": "1"},
        "hooks": {},
    }
    settings.write_text(json.dumps(original, indent=4) + "\n")

    code, out, _ = _run(tmp_path, "--write", "--protocol", "http/protobuf", "--tool-details")
    assert code == 0, out
    written = json.loads(settings.read_text())
    assert {k: v for k, v in written.items() if k != "env"} == {
        k: v for k, v in original.items() if k != "env"
    }
    assert written["env"] == {
        "MY_VAR": "kept",
        "OTEL_LOG_USER_PROMPTS": "1",  # no --no-log-prompts: left as the user had it
        "CLAUDE_CODE_ENABLE_TELEMETRY": "1",
        "OTEL_METRICS_EXPORTER": "otlp",
        "OTEL_LOGS_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:14318",
        "OTEL_LOG_TOOL_DETAILS": "1",
    }
    assert settings.read_text().startswith('{\n    "model"')  # the file's own indentation
    backups = sorted(settings.parent.glob("settings.json.*.bak"))
    assert len(backups) == 1 and json.loads(backups[0].read_text()) == original
    assert str(backups[0]) in out

    first = settings.read_bytes()
    code, out, _ = _run(tmp_path, "--write", "--protocol", "http/protobuf", "--tool-details")
    assert code == 0
    assert settings.read_bytes() == first
    assert "nothing written" in out
    assert len(list(settings.parent.glob("settings.json.*.bak"))) == 1


def test_write_removes_a_flag_turned_off_and_creates_a_missing_file(tmp_path: Path) -> None:
    settings = tmp_path / "elsewhere" / "settings.json"
    code, _, _ = _run(tmp_path, "--write", "--settings", str(settings), "--traces")
    assert code == 0
    assert json.loads(settings.read_text())["env"]["CLAUDE_CODE_ENHANCED_TELEMETRY_BETA"] == "1"
    assert not list(settings.parent.glob("*.bak"))  # nothing to back up

    code, out, _ = _run(tmp_path, "--write", "--settings", str(settings), "--no-traces")
    assert code == 0
    env = json.loads(settings.read_text())["env"]
    assert "CLAUDE_CODE_ENHANCED_TELEMETRY_BETA" not in env
    assert "OTEL_TRACES_EXPORTER" not in env
    assert "removed OTEL_TRACES_EXPORTER" in out


def test_write_follows_claude_config_dir_and_keeps_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "claude-settings.json"
    real.parent.mkdir()
    real.write_text('{"theme": "dark"}')
    config_dir = tmp_path / "claude-config"
    config_dir.mkdir()
    (config_dir / "settings.json").symlink_to(real)
    code, _, _ = _run(tmp_path, "--write", CLAUDE_CONFIG_DIR=str(config_dir))
    assert code == 0
    assert (config_dir / "settings.json").is_symlink()
    assert json.loads(real.read_text())["theme"] == "dark"
    assert json.loads(real.read_text())["env"]["OTEL_EXPORTER_OTLP_PROTOCOL"] == "grpc"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"model": "opus",\n  "env": {"A": "1",}\n}', "is not valid JSON (line 2"),
        ("[1, 2]", "is not a JSON object"),
        ('{"env": ["A=1"]}', '"env" is not an object'),
    ],
)
def test_write_refuses_a_file_it_cannot_merge(tmp_path: Path, content: str, message: str) -> None:
    settings = tmp_path / "settings.json"
    settings.write_text(content)
    code, _, err = _run(tmp_path, "--write", "--settings", str(settings))
    assert code == 2
    assert message in err and "Nothing was written" in err
    assert settings.read_text() == content
    assert not list(tmp_path.glob("settings.json.*"))


def test_bad_protocol_and_format_are_usage_errors(tmp_path: Path) -> None:
    assert _run(tmp_path, "--protocol", "http")[0] == 2
    assert _run(tmp_path, "--format", "yaml")[0] == 2


def test_write_keeps_the_configured_protocol_and_says_old_to_new(tmp_path: Path) -> None:
    settings = tmp_path / "settings.json"
    settings.write_text(
        json.dumps(
            {
                "env": {
                    "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
                    "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9999",
                }
            }
        )
    )
    code, out, err = _run(tmp_path, "--write", "--settings", str(settings))
    assert code == 0, err
    env = json.loads(settings.read_text())["env"]
    assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/json"  # not switched to grpc
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://127.0.0.1:14318"
    assert "OTEL_EXPORTER_OTLP_ENDPOINT: http://127.0.0.1:9999 → http://127.0.0.1:14318" in out
    assert "set OTEL_LOGS_EXPORTER=otlp" in out
    assert "no otelcap answers here now" in err  # nothing runs on 14317/14318

    code, out, _ = _run(tmp_path, "--write", "--settings", str(settings), "--protocol", "grpc")
    assert code == 0
    assert json.loads(settings.read_text())["env"]["OTEL_EXPORTER_OTLP_PROTOCOL"] == "grpc"
    assert "OTEL_EXPORTER_OTLP_PROTOCOL: http/json → grpc" in out


def test_a_running_servers_ports_win_over_the_configured_ones(
    tmp_path: Path, server_factory: Any
) -> None:
    svc = server_factory()  # free ports, data in tmp_path/data
    data = str(tmp_path / "data")
    code, out, err = _run(tmp_path, OTELCAP_DATA_DIR=data)
    assert code == 0
    assert _exports(out)["OTEL_EXPORTER_OTLP_ENDPOINT"] == (
        f"http://127.0.0.1:{svc.endpoints.grpc_port}"
    )
    assert "no otelcap answers" not in err
    # An explicit port is what the user asked for, running server or not.
    code, out, _ = _run(tmp_path, "--grpc-port", "14999", OTELCAP_DATA_DIR=data)
    assert _exports(out)["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://127.0.0.1:14999"

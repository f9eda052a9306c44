"""docker/: the `clickhouse` compose profile, read and checked without Docker (none runs in
CI): ClickHouse pinned, healthy before otelcap starts, reachable only from this machine, a
read-write and a read-only user whose passwords come from .env and nowhere else."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip("yaml")

DOCKER = Path(__file__).parent.parent / "docker"
PROFILE = "clickhouse"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((DOCKER / "docker-compose.yml").read_text())


def _env_refs(text: str) -> set[str]:
    return set(re.findall(r"\$\{([A-Z_]+)", text))


def test_clickhouse_service_is_pinned_healthy_and_local(compose: dict[str, Any]) -> None:
    ch = compose["services"]["clickhouse"]
    assert PROFILE in ch["profiles"]
    image, _, tag = ch["image"].partition(":")
    assert image == "clickhouse/clickhouse-server"
    assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+", tag), f"pin a full version, not {tag!r}"
    ports = {p.rsplit(":", 1)[1]: p for p in ch["ports"]}
    assert set(ports) == {"8123", "9000"}
    assert all(p.startswith("127.0.0.1:") for p in ports.values()), ports
    assert "8123/ping" in " ".join(ch["healthcheck"]["test"])
    volume = ch["volumes"][0].split(":")[0]
    assert volume in compose["volumes"]  # a named volume: data outlives the container
    assert any("users.d/otelcap.xml" in v for v in ch["volumes"])


def test_otelcap_service_writes_to_clickhouse(compose: dict[str, Any]) -> None:
    svc = compose["services"]["otelcap"]
    assert PROFILE in svc["profiles"]  # `docker compose --profile clickhouse up -d` starts both
    assert svc["depends_on"]["clickhouse"]["condition"] == "service_healthy"
    assert (DOCKER / svc["build"]["context"] / svc["build"]["dockerfile"]).is_file()
    env = svc["environment"]
    assert env["OTELCAP_BACKEND"] == "clickhouse"
    assert env["OTELCAP_CLICKHOUSE_URL"].startswith("http://clickhouse:8123/")
    assert env["OTELCAP_CLICKHOUSE_USER"] == "otelcap_writer"
    assert env["OTELCAP_CLICKHOUSE_PASSWORD"].startswith("${OTELCAP_WRITER_PASSWORD")
    assert all(p.startswith("127.0.0.1:") for p in svc["ports"])
    assert {p.rsplit(":", 1)[1] for p in svc["ports"]} == {"4317", "4318"}
    assert any(v.endswith(":/data") for v in svc["volumes"])  # the spool survives restarts
    assert env["OTELCAP_DATA_DIR"] == "/data"


def test_users_writer_and_reader_with_passwords_from_env() -> None:
    root = ET.parse(DOCKER / "clickhouse" / "users.d" / "otelcap.xml").getroot()
    users = root.find("users")
    assert users is not None
    grants = {}
    for name in ("otelcap_writer", "otelcap_reader"):
        user = users.find(name)
        assert user is not None, name
        password = user.find("password")
        assert password is not None and password.get("from_env"), f"{name}: password from env"
        assert not (password.text or "").strip(), f"{name}: no password in the file"
        grants[name] = " ".join(q.text or "" for q in user.iter("query"))
    assert "INSERT" in grants["otelcap_writer"] and "CREATE TABLE" in grants["otelcap_writer"]
    assert "INSERT" not in grants["otelcap_reader"] and "CREATE" not in grants["otelcap_reader"]
    assert "SELECT" in grants["otelcap_reader"]
    # readonly=1: the reader may not change settings either (2 may, and can use file()), so
    # what the query pack needs is set in the profile.
    profile = {e.tag: e.text for e in root.findall("profiles/otelcap_reader/*")}
    assert profile["readonly"] == "1" and profile["join_use_nulls"] == "1"


def test_every_password_the_compose_file_needs_is_in_the_env_template(
    compose: dict[str, Any],
) -> None:
    text = (DOCKER / "docker-compose.yml").read_text()
    template = (DOCKER / ".env.template").read_text()
    keys = {line.split("=")[0] for line in template.splitlines() if "=" in line}
    assert _env_refs(text) <= keys
    for line in template.splitlines():  # a template, not a secret
        if "PASSWORD=" in line and not line.startswith("#"):
            assert line.endswith("="), line
    root_ignore = (DOCKER.parent / ".gitignore").read_text().split()
    assert "docker/.env" in root_ignore
    xml_envs = set(
        re.findall(r'from_env="([A-Z_]+)"', (DOCKER / "clickhouse/users.d/otelcap.xml").read_text())
    )
    assert xml_envs <= set(compose["services"]["clickhouse"]["environment"])

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from otelcap import config as config_mod
from otelcap.service import Service


def make_config(tmp_path: Path, **overrides: object) -> config_mod.Config:
    values: dict[str, object] = {
        "data_dir": tmp_path / "data",
        "grpc_port": 0,
        "http_port": 0,
        "flush_interval_ms": 20,
        "retention": "0",  # recordings have fixed dates: retention would prune them one day
    }
    values.update(overrides)
    return config_mod.load(values, env={}, config_file=tmp_path / "absent.toml")


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[object]:
    """Start an in-process otelcap on free ports; stopped (flushed, closed) at teardown."""
    started: list[Service] = []

    def start(**overrides: object) -> Service:
        svc = Service(make_config(tmp_path, **overrides))
        svc.start()
        started.append(svc)
        return svc

    yield start
    for svc in started:
        svc.stop()


@pytest.fixture
def server(server_factory: object) -> Service:
    return server_factory()  # type: ignore[operator]


@pytest.fixture(scope="session")
def recorded_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every recording, replayed over its own protocol into one running server; built once
    for the run (tests only read it)."""
    import recordings

    tmp = tmp_path_factory.mktemp("recorded")
    svc = Service(make_config(tmp))
    svc.start()
    try:
        for scenario in recordings.scenarios():
            for _req, _resp in recordings.replay(
                scenario, f"127.0.0.1:{svc.endpoints.grpc_port}", svc.endpoints.http_url
            ):
                pass
    finally:
        svc.stop()
    return svc.config.database

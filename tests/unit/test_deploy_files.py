"""docker-compose.yml stays a valid description of the same stack the scripts run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def test_compose_has_the_stack_and_the_worker() -> None:
    services = compose()["services"]
    assert {"kafka", "redis", "topics", "worker"} <= set(services)
    assert services["kafka"]["image"].startswith("apache/kafka:4")
    assert services["worker"]["command"] == ["crmstream", "worker"]


def test_every_dependency_and_build_context_exists() -> None:
    services = compose()["services"]
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown {dependency}"
        if "build" in service:
            assert (ROOT / service["build"] / "Dockerfile").exists()


def test_the_image_copies_every_package_the_project_ships() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for package in ("crmstream", "agents", "schemas", "state", "scoring"):
        assert f"COPY {package} ./{package}" in dockerfile

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
    for package in ("crmstream", "agents", "schemas", "state", "scoring", "web", "notify",
                    "analytics"):
        assert f"COPY {package} ./{package}" in dockerfile


def test_prometheus_rules_use_only_metrics_the_worker_and_the_notifier_export() -> None:
    import re

    from prometheus_client import REGISTRY

    import agents.metrics  # noqa: F401 - registers the worker's metrics
    import notify.metrics  # noqa: F401 - the notifier's
    import state.redis_store  # noqa: F401 - and the store's

    exported = {
        sample_name
        for family in REGISTRY.collect() if family.name.startswith("crmstream")
        for sample_name in (family.name, f"{family.name}_total", f"{family.name}_bucket",
                            f"{family.name}_count", f"{family.name}_sum")
    }
    rules = yaml.safe_load((ROOT / "deploy/prometheus/rules.yml").read_text())
    # The expressions, and the annotations that point the on-call engineer to a metric.
    texts = [text for group in rules["groups"] for rule in group["rules"]
             for text in (rule["expr"], *rule.get("annotations", {}).values())]
    used = {name for text in texts for name in re.findall(r"crmstream_[a-z_]+", text)}
    assert used, "the rules watch no crmstream metric"
    assert used <= exported, f"unknown metrics: {sorted(used - exported)}"
    compose_service = compose()["services"]["prometheus"]
    mounted = {v.split(":")[0] for v in compose_service["volumes"]}
    assert {"./deploy/prometheus/prometheus.yml", "./deploy/prometheus/rules.yml"} == mounted
    for path in mounted:
        assert (ROOT / path).exists()


def test_grafana_provisions_the_dashboards_written_from_the_code() -> None:
    from dashboards.render import rendered

    grafana = compose()["services"]["grafana"]
    mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in grafana["volumes"]}
    assert mounts["/etc/grafana/provisioning"] == "./deploy/grafana/provisioning"
    dashboards_dir = ROOT / mounts["/var/lib/grafana/dashboards"]
    provider = yaml.safe_load(
        (ROOT / "deploy/grafana/provisioning/dashboards/crmstream.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    source = yaml.safe_load(
        (ROOT / "deploy/grafana/provisioning/datasources/prometheus.yml").read_text())
    assert source["datasources"][0]["url"] == "http://prometheus:9090"
    for name, text in rendered().items():  # regenerate with: make dashboards
        assert (dashboards_dir / name).read_bytes() == text, f"{name} is stale"


def test_dashboards_query_only_metrics_the_worker_exports() -> None:
    import re

    from prometheus_client import REGISTRY

    import agents.metrics  # noqa: F401 - registers the worker's metrics
    import analytics.exporter  # noqa: F401 - and the numbers'
    from dashboards.panels import DASHBOARDS, queries

    exported = {
        sample_name
        for family in REGISTRY.collect() if family.name.startswith("crmstream")
        for sample_name in (family.name, f"{family.name}_total", f"{family.name}_bucket")
    }
    used = {name for d in DASHBOARDS for _, q in queries(d)
            for name in re.findall(r"crmstream_[a-z_]+", q)}
    assert used
    assert used <= exported, used - exported

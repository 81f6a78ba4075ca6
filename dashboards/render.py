"""Grafana's JSON model of the dashboards (schema version 39), and ``python -m
dashboards.render`` to write it into deploy/grafana/dashboards."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import orjson

from dashboards.panels import DASHBOARDS, Dashboard, Panel

OUT = Path(__file__).resolve().parent.parent / "deploy" / "grafana" / "dashboards"
DATASOURCE = {"type": "prometheus", "uid": "prometheus"}  # deploy/grafana/provisioning


def _panel(panel: Panel, panel_id: int, x: int, y: int) -> dict[str, Any]:
    return {
        "id": panel_id, "type": panel.kind, "title": panel.title,
        "description": panel.description, "datasource": DATASOURCE,
        "gridPos": {"h": 8, "w": panel.width, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}},
        "targets": [{"refId": chr(ord("A") + n), "datasource": DATASOURCE, "expr": query,
                     "legendFormat": legend}
                    for n, (legend, query) in enumerate(panel.queries.items())],
    }


def model(dashboard: Dashboard) -> dict[str, Any]:
    panels: list[dict[str, Any]] = []
    y = 0
    for title, row in dashboard.rows:
        panels.append({"id": len(panels) + 1, "type": "row", "title": title,
                       "collapsed": False, "gridPos": {"h": 1, "w": 24, "x": 0, "y": y},
                       "panels": []})
        y += 1
        x = 0
        for panel in row:
            if x + panel.width > 24:
                x, y = 0, y + 8
            panels.append(_panel(panel, len(panels) + 1, x, y))
            x += panel.width
        y += 8
    return {
        "uid": dashboard.uid, "title": dashboard.title, "description": dashboard.description,
        "tags": ["crmstream"], "timezone": "browser", "schemaVersion": 39, "version": 1,
        "refresh": "30s", "time": {"from": "now-6h", "to": "now"}, "editable": True,
        "panels": panels, "templating": {"list": []}, "annotations": {"list": []},
    }


def rendered() -> dict[str, bytes]:
    """File name -> JSON of every dashboard."""
    return {f"{d.uid}.json": orjson.dumps(model(d), option=orjson.OPT_INDENT_2) + b"\n"
            for d in DASHBOARDS}


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, text in rendered().items():
        (OUT / name).write_bytes(text)
        print(f"wrote {OUT / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

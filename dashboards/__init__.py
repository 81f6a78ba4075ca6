"""Grafana dashboards as code: the panels (dashboards/panels.py) and the JSON Grafana
provisions from deploy/grafana (``make dashboards`` writes it; a test keeps it current and
checks every panel's query against a live worker through Debian's Prometheus)."""

#!/usr/bin/env bash
# Checks the Prometheus alerting rules and runs their unit tests with promtool (from
# Debian's prometheus package, installed when missing, as stack.sh does for redis-server).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
"$here/stack.sh" ensure-prometheus
promtool check rules "$here/prometheus/rules.yml"
promtool test rules "$here/prometheus/rules.test.yml"

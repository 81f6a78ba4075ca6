#!/usr/bin/env bash
# Checks the Prometheus alerting rules and runs their unit tests with promtool (from
# Debian's prometheus package, installed when missing, as stack.sh does for redis-server).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if ! command -v promtool >/dev/null; then
  echo "[rules] installing Debian's prometheus (for promtool)"
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
    --no-install-recommends prometheus >/dev/null || { echo "could not install prometheus"; exit 1; }
fi
promtool check rules "$here/prometheus/rules.yml"
promtool test rules "$here/prometheus/rules.test.yml"

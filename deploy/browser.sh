#!/usr/bin/env bash
# Debian's Chromium and its driver for the browser tests (tests/integration/test_console.py),
# installed when missing, as stack.sh does for redis-server. Prints the two paths.
set -euo pipefail
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  echo "[browser] installing Debian's chromium and chromium-driver" >&2
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
    --no-install-recommends chromium chromium-driver fonts-noto-cjk >/dev/null \
    || { echo "[browser] could not install chromium" >&2; exit 1; }
fi
command -v chromium
command -v chromedriver

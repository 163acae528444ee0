#!/usr/bin/env bash
# Debian's Chromium for the browser tests (the web chat widget, the console, the report page).
# Playwright drives this binary; no browser is downloaded. Needs root and apt-get; elsewhere it
# says what to install and exits 0 (the browser tests then skip, except under CI=1).
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  echo "chromium installed: $(command -v chromium)"
else
  echo "note: install Debian's chromium (apt-get install chromium) to run the browser tests" >&2
fi

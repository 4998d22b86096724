#!/usr/bin/env bash
# Debian packages the test suite needs besides PostgreSQL: Chromium for the portal's browser tests
# (driven by playwright-core; a browser is never downloaded). Idempotent.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if ! command -v chromium >/dev/null 2>&1; then
  apt-get update -qq
  apt-get install -y -qq chromium >/dev/null
fi
chromium --version

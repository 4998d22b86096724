#!/usr/bin/env bash
# Debian packages the test suite needs besides PostgreSQL: Chromium for the portal's browser tests
# (driven by playwright-core; a browser is never downloaded), and the real Azure clients the
# suites in test/clients/ drive (azure-cli, python3-azure). Idempotent.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v az >/dev/null 2>&1 || missing+=(azure-cli)
/usr/bin/python3 -c "import azure.identity, azure.mgmt.resource, azure.mgmt.authorization, azure.mgmt.managementpartner" >/dev/null 2>&1 || missing+=(python3-azure)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi
chromium --version
az version --query '"azure-cli"' --output tsv

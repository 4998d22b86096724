#!/usr/bin/env bash
# Installs (if missing) and starts a local PostgreSQL for the test suite, then prints the
# connection URL. Idempotent: safe to run when the server already runs or the role exists.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
fi
version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -q "^$version main$"; then
  pg_createcluster "$version" main >&2
fi
if ! pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $4}' | grep -q online; then
  pg_ctlcluster "$version" main start >&2
fi
port=$(pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $3}')
for _ in $(seq 1 30); do
  su postgres -c "psql -p $port -qAtc 'select 1'" >/dev/null 2>&1 && break
  sleep 1
done
su postgres -c "psql -p $port -qAtc \"DO \\\$\\\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='openpal') THEN CREATE ROLE openpal LOGIN SUPERUSER PASSWORD 'openpal'; END IF; END \\\$\\\$;\"" >&2
if ! su postgres -c "psql -p $port -qAtc \"SELECT 1 FROM pg_database WHERE datname='openpal_test'\"" | grep -q 1; then
  su postgres -c "createdb -p $port -O openpal openpal_test" >&2
fi
echo "postgres://openpal:openpal@127.0.0.1:$port/openpal_test"

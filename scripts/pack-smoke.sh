#!/usr/bin/env bash
# Installs OpenPAL the way a user installs a package, and checks it runs from compiled JavaScript:
# `npm pack` (prepare builds the portal and dist/), `npm install <tarball>` into an empty temp
# folder (no dev dependencies: no TypeScript, no tsx), `openpal serve --port 0 --data-dir tmp` with
# the packaged demo world, then /healthz, a client_credentials token and one PAL call, then stop.
# npm's cache is reused (--prefer-offline); better-sqlite3 builds its native addon in the install.
#
# Usage: bash scripts/pack-smoke.sh      (CI runs it after npm test; see .ci/run)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/openpal-pack-smoke-XXXXXX")"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "pack-smoke: FAIL: $*" >&2; [ -f "$work/app/serve.log" ] && tail -20 "$work/app/serve.log" >&2; exit 1; }
step() { echo "pack-smoke: $*"; }
now() { date +%s; }

t0=$(now)
step "npm pack"
tarball="$(cd "$root" && npm pack --silent --pack-destination "$work" | tail -1)"
[ -f "$work/$tarball" ] || fail "npm pack did not write a tarball"
listing="$(tar -tzf "$work/$tarball")"
grep -q '^package/dist/cli/main.js$' <<<"$listing" || fail "the tarball has no dist/cli/main.js"
grep -q '^package/portal/dist/index.html$' <<<"$listing" || fail "the tarball has no built portal (portal/dist/index.html)"
if grep -q '^package/src/' <<<"$listing"; then fail "the tarball ships src/ (TypeScript sources)"; fi
t1=$(now)

step "npm install $tarball into an empty folder"
mkdir -p "$work/app"
cd "$work/app"
echo '{"name":"openpal-pack-smoke","version":"1.0.0","private":true}' > package.json
npm install --no-audit --no-fund --prefer-offline --omit=dev "$work/$tarball" > install.log 2>&1 || { tail -30 install.log >&2; fail "npm install of the tarball failed"; }
t2=$(now)
[ ! -e node_modules/tsx ] || fail "tsx was installed: it must be a dev dependency only"
[ ! -e node_modules/typescript ] || fail "typescript was installed: it must be a dev dependency only"
bin="$work/app/node_modules/.bin/openpal"
version="$("$bin" --version)"
[ "$version" = "$(node -p 'require("./node_modules/openpal/package.json").version')" ] || fail "openpal --version printed '$version'"

step "openpal serve --port 0 --data-dir tmp"
"$bin" serve --port 0 --data-dir tmp --log-level warn --world node_modules/openpal/dist/world/demo/world.json > serve.log 2>&1 &
server_pid=$!
for _ in $(seq 1 240); do
  [ -f tmp/server.json ] && break
  kill -0 "$server_pid" 2>/dev/null || fail "the server exited"
  sleep 0.5
done
[ -f tmp/server.json ] || fail "no tmp/server.json after 120 s"
url="$(node -p 'require("./tmp/server.json").url')"
ca="tmp/tls/ca.crt"

health="$(curl -sS --cacert "$ca" "$url/healthz")"
[ "$health" = '{"status":"ok"}' ] || fail "/healthz answered $health"
tenant=40000000-0000-4000-8000-000000000004
token="$(curl -sS --cacert "$ca" "$url/$tenant/oauth2/v2.0/token" \
  -d grant_type=client_credentials -d client_id=a0000000-0000-4000-8000-000000000001 \
  -d client_secret=contoso-demo-secret-6Qm2Vx9LkP4tRw8Zb3Nd -d scope=https://management.azure.com/.default \
  | node -p 'JSON.parse(require("fs").readFileSync(0, "utf8")).access_token ?? ""')"
[ -n "$token" ] || fail "no access token from the token endpoint"
link="$(curl -sS --cacert "$ca" -X PUT -H "Authorization: Bearer $token" -H "Content-Length: 0" \
  "$url/providers/Microsoft.ManagementPartner/partners/4000001?api-version=2018-02-01")"
grep -q '"partnerId":"4000001"' <<<"$link" || fail "PUT partners/4000001 answered $link"
portal="$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$ca" "$url/portal/")"
[ "$portal" = 200 ] || fail "/portal/ answered $portal"

step "stop"
kill -TERM "$server_pid"
wait "$server_pid" || true
server_pid=""
[ ! -e tmp/server.json ] || fail "server.json is still there after a clean stop"
[ ! -e tmp/server.lock ] || fail "server.lock is still there after a clean stop"
t3=$(now)
step "ok (pack $((t1 - t0)) s, install $((t2 - t1)) s, serve and calls $((t3 - t2)) s)"

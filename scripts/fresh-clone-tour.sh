#!/usr/bin/env bash
# Fresh-clone tour: what a new user meets first, checked end to end.
#
#   1. clones the current HEAD of this checkout into an empty temp dir (nothing beside it);
#   2. runs the README's set-up there: `npm install`, then `npm start` in the background (on a free
#      port; its data dir is the clone's own ./.openpal);
#   3. walks every step of the README's "A short tour" (login, managementpartner create / show /
#      create refused / link-all, curl with a token from the token endpoint, report azure-usage,
#      explain, coverage, diagnose, report bizapps-usage, explain --resource), checking each step's
#      exit code and a key string;
#   4. stops the server, starts it again on the same data dir (`npm start`), and walks the tour a
#      second time: the link made in the first walk is still there (create answers
#      PartnerAlreadyLinked), so the walk removes it and links again; then one more restart.
#
# README's second command (`npm test`) is not re-run here: CI runs it just before this script
# (.ci/run), on the same commit. Every step has a time limit, the whole run too (TOUR_TIMEOUT,
# default 2400 s), and the server is stopped on any exit.
#
# Usage: scripts/fresh-clone-tour.sh [--reuse-node-modules] [--keep]
#   --reuse-node-modules  hard-link this checkout's node_modules instead of `npm install` (quick
#                         local runs; CI does the real install)
#   --keep                keep the temp dir (it is kept anyway when a step fails)
set -euo pipefail

SOURCE=$(cd "$(dirname "$0")/.." && pwd)
REUSE=0
KEEP=0
for arg in "$@"; do
  case "$arg" in
    --reuse-node-modules) REUSE=1 ;;
    --keep) KEEP=1 ;;
    *) echo "unknown argument: $arg (see the usage at the top of $0)" >&2; exit 2 ;;
  esac
done
TOUR_TIMEOUT=${TOUR_TIMEOUT:-2400}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/openpal-fresh-clone-XXXXXX")
CLONE="$WORK/openpal"
LOGS="$WORK/logs"
mkdir -p "$LOGS"
SERVER_PGID=""
FAILED=1
STEP_NO=0
LAST_OUT=""

stop_server() {
  if [ -n "$SERVER_PGID" ] && kill -0 -- "-$SERVER_PGID" 2>/dev/null; then
    kill -TERM -- "-$SERVER_PGID" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 -- "-$SERVER_PGID" 2>/dev/null || break; sleep 0.5; done
    kill -KILL -- "-$SERVER_PGID" 2>/dev/null || true
  fi
  SERVER_PGID=""
}
cleanup() {
  local rc=$?
  stop_server
  [ -n "${WATCHDOG:-}" ] && kill -- "-$WATCHDOG" 2>/dev/null || true
  if [ "$FAILED" = 0 ] && [ "$KEEP" = 0 ]; then
    rm -rf "$WORK"
  else
    echo "fresh-clone tour: logs and the clone are kept in $WORK" >&2
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "fresh-clone tour: interrupted" >&2; exit 130' INT TERM

# The whole run is bounded: the watchdog ends this script (which stops the server) after TOUR_TIMEOUT.
setsid bash -c "sleep $TOUR_TIMEOUT; echo 'fresh-clone tour: took longer than TOUR_TIMEOUT=${TOUR_TIMEOUT}s; stopping' >&2; kill -TERM $$" &
WATCHDOG=$!

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# step NAME EXPECTED_EXIT KEY [KEY…] -- COMMAND…: runs COMMAND in the clone (limit STEP_TIMEOUT),
# checks its exit code (a number, or "nonzero") and that its output contains every KEY.
STEP_TIMEOUT=${STEP_TIMEOUT:-180}
step() {
  local name=$1 expected=$2
  shift 2
  local keys=()
  while [ "$1" != "--" ]; do keys+=("$1"); shift; done
  shift
  STEP_NO=$((STEP_NO + 1))
  local out="$LOGS/$(printf '%02d' "$STEP_NO").log"
  LAST_OUT=$out
  echo "$name: $*" >"$out.cmd"
  local rc=0
  (cd "$CLONE" && timeout "$STEP_TIMEOUT" "$@") >"$out" 2>&1 || rc=$?
  if [ "$rc" = 124 ]; then echo "--- output:" >&2; tail -n 40 "$out" >&2; fail "$name: no answer within ${STEP_TIMEOUT}s"; fi
  if [ "$expected" = nonzero ]; then
    [ "$rc" != 0 ] || { tail -n 40 "$out" >&2; fail "$name: expected a refusal (non-zero exit), got 0"; }
  elif [ "$rc" != "$expected" ]; then
    echo "--- output:" >&2; tail -n 40 "$out" >&2; fail "$name: exit code $rc, expected $expected"
  fi
  local key
  for key in "${keys[@]}"; do
    grep -qF -- "$key" "$out" || { echo "--- output:" >&2; tail -n 40 "$out" >&2; fail "$name: output lacks \"$key\""; }
  done
  echo "  ok  $name (exit $rc)"
}

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

PORT=""
start_server() {
  local n=$1
  PORT=$(free_port)
  rm -f "$CLONE/.openpal/server.json"
  # Its own process group, so stopping it stops npm and the node server under it.
  (cd "$CLONE" && exec setsid npm start -- --port "$PORT") >"$LOGS/server-$n.log" 2>&1 &
  SERVER_PGID=$!
  for _ in $(seq 1 240); do
    if [ -f "$CLONE/.openpal/server.json" ] && curl -sf --cacert "$CLONE/.openpal/tls/ca.crt" "https://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then
      echo "  ok  npm start #$n listens on https://127.0.0.1:$PORT"
      grep -E "world file" "$LOGS/server-$n.log" | sed 's/^/      /' | cut -c1-240 || true
      return 0
    fi
    kill -0 "$SERVER_PGID" 2>/dev/null || { cat "$LOGS/server-$n.log" >&2; fail "npm start #$n exited before listening"; }
    sleep 0.5
  done
  cat "$LOGS/server-$n.log" >&2
  fail "npm start #$n did not answer /healthz within 120 s"
}

# The README's tour; $1 = 1 on the fresh data dir, 2 after a restart (the first walk's link is kept).
SP=a0000000-0000-4000-8000-000000000001
SECRET=contoso-demo-secret-6Qm2Vx9LkP4tRw8Zb3Nd
TAILSPIN=40000000-0000-4000-8000-000000000004
FABRIKAM=30000000-0000-4000-8000-000000000003
walk() {
  local n=$1
  local openpal=(node "$CLONE/bin/openpal.js")
  echo "== tour, walk $n"
  export NODE_EXTRA_CA_CERTS="$CLONE/.openpal/tls/ca.crt"
  export OPENPAL_CONFIG_DIR="$WORK/config"   # the CLI session, kept out of ~/.openpal
  unset OPENPAL_SERVER OPENPAL_DATA_DIR
  # 1. sign in as Contoso's automation app in Tailspin Toys, and link
  step "login (walk $n)" 0 "$TAILSPIN" -- "${openpal[@]}" login --service-principal -u "$SP" -p "$SECRET" --tenant "$TAILSPIN"
  if [ "$n" = 1 ]; then
    step "managementpartner create 4000001" 0 '"partnerId": "4000001"' -- "${openpal[@]}" managementpartner create --partner-id 4000001
  else
    # The restart kept the first walk's link: create is refused as the API does, then the user
    # removes it and links again (the history a re-applied demo world used to trip over).
    step "managementpartner create 4000001, already linked since walk 1" nonzero "PartnerAlreadyLinked" "4000001" -- "${openpal[@]}" managementpartner create --partner-id 4000001
    step "managementpartner delete 4000001" 0 -- "${openpal[@]}" managementpartner delete --partner-id 4000001
    step "managementpartner create 4000001 again" 0 '"partnerId": "4000001"' -- "${openpal[@]}" managementpartner create --partner-id 4000001
  fi
  step "managementpartner show --output table (walk $n)" 0 "4000001" "$TAILSPIN" -- "${openpal[@]}" managementpartner show --output table
  step "managementpartner create 4000000 refused (walk $n)" nonzero "4000000" -- "${openpal[@]}" managementpartner create --partner-id 4000000
  step "managementpartner link-all (walk $n)" 0 "$TAILSPIN" "10000000-0000-4000-8000-000000000001" -- "${openpal[@]}" managementpartner link-all --partner-id 4000001
  # 2. the same with curl and a token from the server's own token endpoint
  step "token with curl (walk $n)" 0 '"access_token"' -- curl -sS --fail-with-body --cacert .openpal/tls/ca.crt "https://127.0.0.1:$PORT/$TAILSPIN/oauth2/v2.0/token" \
    -d grant_type=client_credentials -d "client_id=$SP" -d "client_secret=$SECRET" -d scope=https://management.azure.com/.default
  local token
  token=$(node -p 'JSON.parse(require("fs").readFileSync(0, "utf8")).access_token' <"$LAST_OUT")
  step "GET partners with curl (walk $n)" 0 '"partnerId":"4000001"' -- curl -sS --fail-with-body --cacert .openpal/tls/ca.crt -H "Authorization: Bearer $token" \
    "https://127.0.0.1:$PORT/providers/Microsoft.ManagementPartner/partners/?api-version=2018-02-01"
  # 3. what is credited, and why. On a fresh data dir the demo usage is generated and attributed in
  # the background after start: wait for the report to have rows (bounded).
  if [ "$n" = 1 ]; then
    local waited=0
    until (cd "$CLONE" && timeout 120 "${openpal[@]}" report azure-usage --month 2026-10 --global-id 4000000 --format table 2>/dev/null | grep -q "4000001"); do
      waited=$((waited + 10))
      [ "$waited" -le 900 ] || fail "the demo usage was not attributed within 900 s (see $LOGS/server-1.log)"
      sleep 10
    done
  fi
  step "report azure-usage (walk $n)" 0 "PartnerId" "4000001" "$FABRIKAM" -- "${openpal[@]}" report azure-usage --month 2026-10 --global-id 4000000 --format table
  step "explain (walk $n)" 0 "e5000000-0000-4000-8000-000000000002" "4000002" -- "${openpal[@]}" explain --partner-id 4000002 --subscription e5000000-0000-4000-8000-000000000002 --month 2026-10
  step "coverage (walk $n)" 0 "4000000" "$FABRIKAM" -- "${openpal[@]}" coverage --partner-id 4000000
  step "diagnose (walk $n)" 0 "$FABRIKAM" -- "${openpal[@]}" diagnose --partner-id 5100000 --tenant "$FABRIKAM"
  # 6. business applications: the demo's activity is attributed by the same runs
  step "report bizapps-usage (walk $n)" 0 "Field inspections" "4000001" -- "${openpal[@]}" report bizapps-usage --month 2026-10 --global-id 4000000 --format table
  step "explain a business application (walk $n)" 0 "Field inspections" "latest partner" -- "${openpal[@]}" explain --resource 30000000-a000-4000-8000-000000000001 --month 2026-10 --partner-id 4000000
}

echo "== clone $(git -C "$SOURCE" rev-parse --short HEAD) of $SOURCE into $CLONE"
git clone -q --no-hardlinks "$SOURCE" "$CLONE"
git -C "$CLONE" checkout -q "$(git -C "$SOURCE" rev-parse HEAD)"
[ ! -e "$WORK/shared" ] || fail "$WORK/shared exists; the clone must have nothing beside it"

echo "== README set-up: npm install"
if [ "$REUSE" = 1 ]; then
  cp -al "$SOURCE/node_modules" "$CLONE/node_modules"
  (cd "$CLONE" && timeout 600 npm run build:portal) >"$LOGS/npm-install.log" 2>&1 || { tail -n 40 "$LOGS/npm-install.log" >&2; fail "npm run build:portal"; }
  echo "  ok  node_modules hard-linked from $SOURCE (--reuse-node-modules), portal built"
else
  (cd "$CLONE" && timeout 1500 npm install --no-audit --no-fund) >"$LOGS/npm-install.log" 2>&1 || { tail -n 40 "$LOGS/npm-install.log" >&2; fail "npm install"; }
  echo "  ok  npm install"
fi
[ -z "$(git -C "$CLONE" status --porcelain)" ] || { git -C "$CLONE" status --short >&2; fail "npm install changed tracked files (the lockfile is out of date?)"; }

echo "== README set-up: npm start (fresh data dir)"
start_server 1
walk 1
echo "== restart on the same data dir"
stop_server
start_server 2
grep -q "already applied" "$LOGS/server-2.log" || fail "the second start did not say the demo world was already applied (see $LOGS/server-2.log)"
walk 2
echo "== restart once more"
stop_server
start_server 3
stop_server
FAILED=0
echo "fresh-clone tour: every step passed ($STEP_NO steps, two walks, three starts)"

#!/usr/bin/env bash
# The REST API under a third-party fuzzer: the real server (`airgap-k8s serve`, dry-run executor by default, no
# offline bundle so an ssh or kind install stops at its local preflight) and schemathesis, both inside a network
# namespace of their own that has nothing but loopback — whatever addresses the fuzzer puts in a spec, nothing can
# leave this machine. Bounded: a fixed seed, a number of examples per operation and a time cap.
#   scripts/fuzz/schemathesis.sh OUT_DIR [MAX_EXAMPLES] [SEED] [CAP_SECONDS]
# Writes OUT_DIR/junit.xml, OUT_DIR/ndjson (every check), OUT_DIR/server.log, OUT_DIR/st.out; the exit code is
# schemathesis' own (the test reads the reports and applies its allow-list).
# Every check, but the response-time limit (schemathesis' own 10 s) set beyond the 30 s request timeout: a time limit
# is a timed assertion on a shared 2-core machine (CI saw one 422 answered in 20.4 s while the fuzzer's accepted dry
# runs rendered and planned on the event loop, issue 13); speed is measured by `npm run bench`, not asserted here.
# A request that hangs still fails (--request-timeout 30).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="$(mkdir -p "$1" && cd "$1" && pwd)"
MAX_EXAMPLES="${2:-25}"
SEED="${3:-20261203}"
CAP="${4:-420}"
BIN="$(bash "$ROOT/scripts/fuzz/setup.sh")"
export ROOT OUT MAX_EXAMPLES SEED CAP BIN
exec unshare --net bash -c '
set -euo pipefail
ip link set lo up
PORT=18080
TOKEN=schemathesis-fuzz-token-0123456789
# no failed-authentication limit: the fuzzer sends requests without a token on purpose (its ignored_auth check) from
# the same address as its authorized ones; the limit itself is tested in test/api/access.test.ts
export AIRGAP_K8S_AUTH_FAILURE_LIMIT=0
mkdir -p "$OUT/data" "$OUT/secrets"
chmod 700 "$OUT/secrets"
AIRGAP_K8S_LISTEN=127.0.0.1:$PORT AIRGAP_K8S_DATA_DIR="$OUT/data" AIRGAP_K8S_SECRETS_DIR="$OUT/secrets" AIRGAP_K8S_TOKEN=$TOKEN \
  AIRGAP_K8S_EXECUTOR=dry-run AIRGAP_K8S_BUNDLE_DIR="$OUT/no-bundle" \
  node --import tsx "$ROOT/src/cli/main.ts" serve >"$OUT/server.log" 2>&1 &
SERVER=$!
trap "kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null || true" EXIT
for i in $(seq 1 300); do
  if (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null; then break; fi
  sleep 0.1
done
set +e
cd "$OUT"   # schemathesis keeps its example database in the working directory
timeout --kill-after=10 "$CAP" "$BIN/st" run "http://127.0.0.1:$PORT/openapi.json" \
  -H "Authorization: Bearer $TOKEN" \
  --phases examples,coverage,fuzzing,stateful --checks all --max-response-time 300 \
  --seed "$SEED" --max-examples "$MAX_EXAMPLES" \
  --request-timeout 30 --workers 1 --continue-on-failure \
  --report junit,ndjson --report-junit-path "$OUT/junit.xml" --report-ndjson-path "$OUT/events.ndjson" \
  --no-color >"$OUT/st.out" 2>&1
RC=$?
echo "$RC" >"$OUT/st.rc"
exit $RC
'

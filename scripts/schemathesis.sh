#!/usr/bin/env bash
# Schemathesis against a live server: every operation of OpenAPI/openapi.json, with its examples,
# coverage (boundary and invalid values), fuzzing (positive and negative data) and stateful (chains
# of calls along the document's links) phases. Fails on any 5xx, any response that breaks the
# document, any invalid request that is not answered 4xx with the API's error shape, a request
# without a key that is not 401, and an object of one organization and mode that another key reads.
#
# Self-contained: installs python3-venv when missing, Schemathesis (pinned in
# Tests/schemathesis/requirements.txt) into the project-local .venv, builds the debug binary when it
# is missing, starts it on a free port of 127.0.0.1 with a throwaway SQLite file and two fresh
# organizations, seeds what only a customer's browser can make (Tests/schemathesis/seed.py), runs
# Schemathesis (settings: Tests/schemathesis/schemathesis.toml), and stops the server.
#
# Bounded for CI: SCHEMATHESIS_MAX_EXAMPLES (default 40) cases per operation and phase,
# SCHEMATHESIS_MAX_TIME (default 200) seconds in all. SCHEMATHESIS_SEED repeats a run.
# Reports (JUnit, NDJSON) go to bench-out/schemathesis/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SUDO=$([ "$(id -u)" = 0 ] || echo sudo)
if ! dpkg -s python3-venv >/dev/null 2>&1; then
    echo "installing: python3-venv"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
fi
pinned=$(sed -n 's/^schemathesis==//p' Tests/schemathesis/requirements.txt)
if [ "$(.venv/bin/schemathesis --version 2>/dev/null | awk '{print $NF}')" != "$pinned" ]; then
    [ -x .venv/bin/python ] || python3 -m venv .venv
    .venv/bin/pip install -q --disable-pip-version-check -r Tests/schemathesis/requirements.txt
fi
[ -x .build/debug/checkout ] || swift build --product checkout

work=$(mktemp -d "${TMPDIR:-/tmp}/checkout-schemathesis.XXXXXX")
server_pid=""
stop_server() {
    if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid"
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap stop_server EXIT

db="$work/checkout.sqlite"
# Two organizations, three keys: Schemathesis works as the first one's test key and checks that
# what it makes stays invisible to the same organization's live key and to the other organization.
.build/debug/checkout org create schemathesis --name "Schemathesis" --db "$db" >"$work/org.json"
.build/debug/checkout org create neighbour --name "Neighbour" --db "$db" >"$work/neighbour.json"
key=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["test_key"])' "$work/org.json")
export SCHEMATHESIS_AUTH_FILE="$work/auth.json"
python3 - "$work/org.json" "$work/neighbour.json" >"$SCHEMATHESIS_AUTH_FILE" <<'PY'
import json, sys
own, neighbour = (json.load(open(path)) for path in sys.argv[1:3])
users = [("test-key", own["test_key"]), ("live-key", own["live_key"]), ("neighbour-test-key", neighbour["test_key"])]
print(json.dumps({"auth": [{"name": name, "fixedHeaders": [{"name": "Authorization", "value": f"Bearer {secret}"}]}
                           for name, secret in users]}))
PY

# Port 0: the server picks a free port and says which on its first line. Webhook endpoints made
# during the run point nowhere; a long retry delay keeps their retries out of the way.
mkfifo "$work/out"
.build/debug/checkout serve --host 127.0.0.1 --port 0 --db "$db" --resources "$PWD" --log-level warning \
    --webhook-retry-base 3600 >"$work/out" 2>&1 &
server_pid=$!
exec 3<"$work/out"
read -r -t 30 first_line <&3 || { echo "schemathesis: the server did not start" >&2; exit 1; }
case "$first_line" in
    "listening on http://"*) base_url=${first_line#listening on } ;;
    *) echo "schemathesis: unexpected first line from the server: $first_line" >&2; exit 1 ;;
esac
# Keep draining the server's output (warnings and errors) into a log, shown on failure.
cat <&3 >"$work/server.log" &
exec 3<&-
echo "schemathesis: server $base_url (pid $server_pid), database $db"

.venv/bin/python Tests/schemathesis/seed.py "$base_url" "$key"

mkdir -p bench-out/schemathesis
status=0
.venv/bin/schemathesis --config-file Tests/schemathesis/schemathesis.toml run "$base_url/v1/openapi.json" \
    --url "$base_url" \
    --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-40}" \
    --max-time "${SCHEMATHESIS_MAX_TIME:-200}" \
    ${SCHEMATHESIS_SEED:+--seed "$SCHEMATHESIS_SEED"} \
    --report junit,ndjson --report-dir bench-out/schemathesis \
    --no-color || status=$?

if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "schemathesis: the server died during the run" >&2
    status=1
fi
if [ "$status" != 0 ] && [ -s "$work/server.log" ]; then
    echo "--- server log (warnings and errors)"
    tail -n 50 "$work/server.log"
fi
exit "$status"

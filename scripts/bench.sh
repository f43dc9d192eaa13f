#!/usr/bin/env bash
# Throughput and latency of our server beside nginx serving the same bytes, on loopback.
#
#   make bench                        # builds the release binary, then runs this script
#   BENCH_DURATION=5 bash scripts/bench.sh
#
# Each row is measured with wrk against our server, then against a private nginx serving a static
# file holding exactly the body our server returned for that request (fetched once with curl).
# The two servers are never under load at the same time. Both log as they do by default, as an
# operator runs them: ours at `info` (a line per request, to its log file), nginx with its access
# log (to a file); BENCH_LOG=off measures both without (`--log-level warning`, `access_log off`).
#
# Settings (environment):
#   BENCH_DURATION         seconds of measurement per target (default 10)
#   BENCH_WARMUP           seconds of warm-up per target, not measured (default 2)
#   BENCH_CONNECTIONS      wrk connections (default 32)
#   BENCH_THREADS          wrk threads (default 2)
#   BENCH_SERVER_THREADS   our worker threads (default: nproc); nginx runs nproc workers
#   BENCH_ROUNDS           alternating rounds of completions without and with a webhook endpoint (default 5)
#   BENCH_DRAIN_POLLS      polls (about 0.2 s each) for the last delivery after a round with an endpoint (default 1200)
#   BENCH_SLOW_LATENCY     seconds per test charge of the slow-processor row (default 0.2)
#   BENCH_SLOW_CONNECTIONS customers at once in the slow-processor row (default 64)
#   BENCH_LOG              on (default: both servers log every request) or off
#
# To add a row: if nginx should serve a copy of our body, `mirror PATH [curl args]` before
# `start_nginx`, then `bench_row NAME OUR_URL NGINX_URL [wrk args]` (see "Rows" at the bottom).
# The table goes to standard output and to bench-out/bench.md.

set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

BIN=.build/release/checkout
DURATION=${BENCH_DURATION:-10}
case ${BENCH_LOG:-on} in
    on) LOG_LEVEL=info; NGINX_ACCESS_LOG=file; LOGGING="both servers log every request (ours at info, nginx's access log)" ;;
    off) LOG_LEVEL=warning; NGINX_ACCESS_LOG=off; LOGGING="neither server logs requests" ;;
    *) echo "bench: BENCH_LOG must be on or off" >&2; exit 2 ;;
esac
WARMUP=${BENCH_WARMUP:-2}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
WRK_THREADS=${BENCH_THREADS:-2}
CORES=$(nproc)
SERVER_THREADS=${BENCH_SERVER_THREADS:-$CORES}
ROUNDS=${BENCH_ROUNDS:-5}
OUT_DIR=bench-out

die() { echo "bench: $*" >&2; exit 1; }
note() { echo "bench: $*" >&2; }

# --- checks -------------------------------------------------------------------------------------

[[ -x $BIN ]] || die "$BIN not found: run 'make bench' (it builds it with 'swift build -c release --product checkout')."
PATH=$PATH:/usr/sbin:/sbin   # nginx lives in /usr/sbin
for tool in wrk nginx curl python3; do
    command -v "$tool" >/dev/null 2>&1 \
        || die "'$tool' not found: run 'make bench' (it installs wrk, nginx-light and curl), or install it."
done
for setting in DURATION:BENCH_DURATION WARMUP:BENCH_WARMUP CONNECTIONS:BENCH_CONNECTIONS \
               WRK_THREADS:BENCH_THREADS SERVER_THREADS:BENCH_SERVER_THREADS ROUNDS:BENCH_ROUNDS; do
    name=${setting%%:*}
    value=${!name}
    [[ $value =~ ^[1-9][0-9]*$ ]] || die "${setting#*:} must be a positive whole number (got '$value')."
done
(( WRK_THREADS <= CONNECTIONS )) || die "BENCH_THREADS ($WRK_THREADS) must not exceed BENCH_CONNECTIONS ($CONNECTIONS)."

# --- temp dir and cleanup -----------------------------------------------------------------------

TMP=$(mktemp -d "${TMPDIR:-/tmp}/checkout-bench.XXXXXX")
[[ $NGINX_ACCESS_LOG == file ]] && NGINX_ACCESS_LOG="$TMP/nginx/access.log"
OURS_PID=
NGINX_PID=

# Sends SIGNAL to PID, waits up to 10 s for it to end, then kills it.
stop_process() {
    local pid=$1 signal=$2 name=$3
    [[ -n $pid ]] || return 0
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    kill -"$signal" "$pid" 2>/dev/null || true
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        note "$name did not stop within 10 s; killing it"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local status=$?
    trap - EXIT
    trap '' INT TERM   # a second Ctrl-C must not leave the servers running
    stop_process "$NGINX_PID" QUIT nginx      # graceful: workers finish, then the master exits
    stop_process "$OURS_PID" TERM checkout    # graceful: finishes requests in flight
    NGINX_PID= OURS_PID=
    rm -rf "$TMP"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# --- our server ---------------------------------------------------------------------------------

# Waits for "listening on URL" in the server's output and sets OURS to URL.
start_ours() {
    local db=$TMP/checkout.sqlite log=$TMP/checkout.log
    local per_ip=$(( CONNECTIONS * 2 > 256 ? CONNECTIONS * 2 : 256 ))
    "$BIN" serve --host 127.0.0.1 --port 0 --db "$db" --log-level "$LOG_LEVEL" \
        --threads "$SERVER_THREADS" --per-ip-connections "$per_ip" >"$log" 2>&1 &
    OURS_PID=$!
    OURS=
    for _ in $(seq 300); do
        OURS=$(sed -n 's|^listening on \(http://[^ ]*\).*|\1|p' "$log" | head -n 1)
        [[ -n $OURS ]] && break
        kill -0 "$OURS_PID" 2>/dev/null || { cat "$log" >&2; die "our server exited during start-up (output above)."; }
        sleep 0.1
    done
    [[ -n $OURS ]] || { cat "$log" >&2; die "our server did not report 'listening on' within 30 s."; }
    OURS=${OURS%/}
}

# --- nginx --------------------------------------------------------------------------------------

WWW=$TMP/www
mkdir -p "$WWW" "$TMP/nginx"
NGINX_LOCATIONS=

# mirror PATH [curl args]: fetches PATH from our server once and stores the body under the same
# path for nginx, with the Content-Type our server sent. PATH must be free of query and spaces.
mirror() {
    local path=$1; shift
    local file=$WWW$path status type
    [[ $path == /* && $path != */ && $path != *[?\ \"\;{}]* ]] || die "mirror: unsupported path '$path'."
    mkdir -p "$(dirname "$file")"
    status=$(curl -sS -o "$file" -w '%{http_code} %{content_type}' "$@" "$OURS$path") \
        || die "mirror: could not fetch $path from our server."
    type=${status#* }; status=${status%% *}
    [[ $status == 2?? ]] || die "mirror: our server answered $status to GET $path: $(head -c 300 "$file")"
    NGINX_LOCATIONS+="        location = $path { default_type \"${type:-application/json}\"; }"$'\n'
}

start_nginx() {
    local conf=$TMP/nginx/nginx.conf user_line= port
    port=$(free_port)
    local connections=$(( CONNECTIONS * 2 > 1024 ? CONNECTIONS * 2 : 1024 ))
    # A master started as root would hand the workers to "nobody", who cannot read the private
    # temp dir; keep them the current user.
    [[ $(id -u) == 0 ]] && user_line="user $(id -un) $(id -gn);"
    cat >"$conf" <<EOF
# Private benchmark instance written by scripts/bench.sh.
$user_line
daemon off;
master_process on;
worker_processes $CORES;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;

events {
    worker_connections $connections;
}

http {
    access_log $NGINX_ACCESS_LOG;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    keepalive_requests 100000;
    default_type application/json;

    client_body_temp_path $TMP/nginx/client_body;
    proxy_temp_path $TMP/nginx/proxy;
    fastcgi_temp_path $TMP/nginx/fastcgi;
    uwsgi_temp_path $TMP/nginx/uwsgi;
    scgi_temp_path $TMP/nginx/scgi;

    server {
        listen 127.0.0.1:$port;
        root $WWW;
$NGINX_LOCATIONS    }
}
EOF
    nginx -t -q -c "$conf" -p "$TMP/nginx/" 2>"$TMP/nginx/test.log" \
        || { cat "$TMP/nginx/test.log" >&2; die "nginx rejected $conf (messages above)."; }
    nginx -c "$conf" -p "$TMP/nginx/" 2>>"$TMP/nginx/error.log" &
    NGINX_PID=$!
    NGINX=http://127.0.0.1:$port
    for _ in $(seq 100); do
        curl -s -o /dev/null "$NGINX/" && return 0
        kill -0 "$NGINX_PID" 2>/dev/null || { cat "$TMP/nginx/error.log" >&2; die "nginx exited during start-up (log above)."; }
        sleep 0.1
    done
    cat "$TMP/nginx/error.log" >&2
    die "nginx did not accept connections on $NGINX within 10 s."
}

# --- measuring ----------------------------------------------------------------------------------

ROWS=()
WARNINGS=()

# Converts a wrk duration (e.g. 812.00us, 1.23ms, 2.01s, 1.5m) to milliseconds.
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : (u == "m") ? 60000 : (u == "h") ? 3600000 : -1
        if (f < 0) { print "?"; exit }
        printf "%.3f", n * f
    }'
}

# run_wrk LABEL URL [wrk args]: warms up, measures, and sets RPS, P50, P99 (ms).
run_wrk() {
    local label=$1 url=$2; shift 2
    local out=$TMP/wrk-$((${#ROWS[@]} + 1))-$label.txt line
    wrk -t "$WRK_THREADS" -c "$CONNECTIONS" -d "${WARMUP}s" "$@" "$url" >/dev/null \
        || die "wrk failed warming up $url"
    wrk --latency -t "$WRK_THREADS" -c "$CONNECTIONS" -d "${DURATION}s" "$@" "$url" >"$out" \
        || { cat "$out" >&2; die "wrk failed measuring $url"; }
    RPS=$(awk '$1 == "Requests/sec:" { print $2 }' "$out")
    P50=$(awk '$1 == "50%" { print $2 }' "$out")
    P99=$(awk '$1 == "99%" { print $2 }' "$out")
    [[ -n $RPS && -n $P50 && -n $P99 ]] || { cat "$out" >&2; die "could not read wrk's output for $url (above)."; }
    P50=$(to_ms "$P50")
    P99=$(to_ms "$P99")
    RPS=$(printf '%.0f' "$RPS")
    # Errors make the numbers meaningless; say so beside the table.
    while IFS= read -r line; do
        WARNINGS+=("$CURRENT_ROW, $label: ${line#"${line%%[![:space:]]*}"}")
    done < <(grep -E 'Non-2xx or 3xx responses|Socket errors' "$out" || true)
}

# bench_row NAME OUR_URL NGINX_URL [wrk args, e.g. -H 'Authorization: Bearer ...' or -s script.lua]
# The wrk args are passed to both runs, so both servers receive the same request.
bench_row() {
    local name=$1 ours_url=$2 nginx_url=$3; shift 3
    local ours_rps ours_p50 ours_p99 ratio
    CURRENT_ROW=$name
    note "$name: ours ($ours_url)"
    run_wrk ours "$ours_url" "$@"
    ours_rps=$RPS ours_p50=$P50 ours_p99=$P99
    note "$name: nginx ($nginx_url)"
    run_wrk nginx "$nginx_url" "$@"
    ratio=$(awk -v a="$ours_rps" -v b="$RPS" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
    ROWS+=("| $name | $ours_rps | $ours_p50 | $ours_p99 | $RPS | $P50 | $P99 | $ratio |")
}

print_table() {
    echo "Benchmark $(date -u '+%Y-%m-%d %H:%M:%S UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown):" \
        "nproc $CORES, our threads $SERVER_THREADS, nginx workers $CORES," \
        "wrk $WRK_THREADS threads / $CONNECTIONS connections, ${DURATION} s per target after ${WARMUP} s warm-up, loopback."
    echo
    echo "| endpoint | ours req/s | ours p50 ms | ours p99 ms | nginx req/s | nginx p50 ms | nginx p99 ms | ratio |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    printf '%s\n' "${ROWS[@]}"
    echo
    echo "ratio = ours req/s / nginx req/s. nginx serves a static file with the same body bytes; $LOGGING."
    if (( ${#WARNINGS[@]} > 0 )); then
        echo
        echo "**Warnings** (rows with errors are not comparable):"
        printf -- '- %s\n' "${WARNINGS[@]}"
    fi
}

# --- rows ---------------------------------------------------------------------------------------

ORG_JSON=$("$BIN" org create bench --db "$TMP/checkout.sqlite") || die "'checkout org create' failed."
TEST_KEY=$(python3 -c 'import json, sys; print(json.loads(sys.stdin.read())["test_key"])' <<<"$ORG_JSON") \
    || die "no test_key in 'checkout org create' output: $ORG_JSON"
AUTH="Authorization: Bearer $TEST_KEY"

start_ours
note "our server on $OURS (pid $OURS_PID, $SERVER_THREADS threads)"

PLAN_JSON=$(curl -sS --fail-with-body -X POST "$OURS/v1/plans" -H "$AUTH" -H 'Content-Type: application/json' \
    -d '{"name":"Bench plan","amount":150000}') || die "creating a plan failed: $PLAN_JSON"
PLAN_ID=$(python3 -c 'import json, sys; print(json.loads(sys.stdin.read())["id"])' <<<"$PLAN_JSON") \
    || die "no id in the plan response: $PLAN_JSON"

LINK_JSON=$(curl -sS --fail-with-body -X POST "$OURS/v1/payment-links" -H "$AUTH" -H 'Content-Type: application/json' \
    -d '{"amount_usd":29.99,"payment_method_id":"pm_bench","description":"Pro Plan - Monthly"}') \
    || die "creating a payment link failed: $LINK_JSON"
LINK_ID=$(python3 -c 'import json, sys; print(json.loads(sys.stdin.read())["id"])' <<<"$LINK_JSON") \
    || die "no id in the payment link response: $LINK_JSON"

# A checkout link without a limit, and a wrk script that pays it with the test card: every 303 is
# one durable completion (payment, session, customer, count) committed with synchronous=FULL.
CL_JSON=$(curl -sS --fail-with-body -X POST "$OURS/v1/checkout_links" -u "$TEST_KEY:" -H 'Content-Type: application/json' \
    -H 'Idempotency-Key: bench-checkout-link' \
    -d '{"line_items":[{"quantity":1,"price_data":{"currency":"usd","product":"Ticket","unit_amount":2500}}],"title":"Bench"}') \
    || die "creating a checkout link failed: $CL_JSON"
CL_ID=$(python3 -c 'import json, sys; print(json.loads(sys.stdin.read())["id"])' <<<"$CL_JSON")
CSRF=$(curl -sS "$OURS/$CL_ID" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p')
[[ -n $CSRF ]] || die "no csrf_token on the checkout link page."
cat >"$TMP/complete.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "csrf_token=$CSRF&email=bench%40example.com&name=Bench+Customer&card_number=4242424242424242&card_expiry=12%2F39&card_cvc=123"
LUA
STATUS=$(curl -sS -o /dev/null -w '%{http_code}' -X POST "$OURS/$CL_ID" -H 'Content-Type: application/x-www-form-urlencoded' \
    --data "csrf_token=$CSRF&email=bench%40example.com&name=Bench&card_number=4242424242424242&card_expiry=12%2F39&card_cvc=123")
[[ $STATUS == 303 ]] || die "a test completion answered $STATUS, not 303."

# nginx also plays the merchant's webhook receiver for the completions with an endpoint.
NGINX_LOCATIONS+="        location = /webhook { return 200 'ok'; }"$'\n'
mirror /healthz
mirror "/v1/plans/$PLAN_ID" -H "$AUTH"
mirror "/$LINK_ID"
start_nginx
note "nginx on $NGINX (pid $NGINX_PID, $CORES workers)"

# Each nginx copy must be byte-for-byte what our server sent.
for path in /healthz "/v1/plans/$PLAN_ID" "/$LINK_ID"; do
    curl -sS --fail -H "$AUTH" "$NGINX$path" | cmp -s - "$WWW$path" || die "nginx does not serve the same bytes for $path."
done

bench_row "GET /healthz" "$OURS/healthz" "$NGINX/healthz"
bench_row "GET /v1/plans/:id" "$OURS/v1/plans/$PLAN_ID" "$NGINX/v1/plans/$PLAN_ID" -H "$AUTH"
bench_row "GET /pl_… (hosted page)" "$OURS/$LINK_ID" "$NGINX/$LINK_ID"
# Completions without and with one webhook endpoint, alternating over BENCH_ROUNDS rounds (the
# order flips each round) so that drift (a growing database, a busy neighbour) weighs on both
# alike; each row reports the medians. A fresh endpoint listening to every event is created before
# each measurement with one, nginx answers its deliveries, and once the load ends the script waits
# for the last event to reach it (deliveries run at lowered priority, so under load they may
# lag), then deletes the endpoint.
newest() { curl -sS "$OURS$1?limit=1" -H "$AUTH" | python3 -c "import json, sys; d = json.load(sys.stdin)['data']; print(d[0]['$2'] if d else '')"; }
declare -A SAMPLES=([without]= [with]=)
DRAINS=()
measure_completions() {
    local config=$1 endpoint_json endpoint_id last_event start drained
    CURRENT_ROW="POST /cl_… (durable completion, $config webhook endpoint)"
    if [[ $config == with ]]; then
        endpoint_json=$(curl -sS --fail -X POST "$OURS/v1/webhook_endpoints" -H "$AUTH" -H 'Content-Type: application/json' \
            -d "{\"url\":\"$NGINX/webhook\",\"enabled_events\":[\"*\"]}") || die "creating a webhook endpoint failed."
        endpoint_id=$(python3 -c 'import json, sys; print(json.loads(sys.stdin.read())["id"])' <<<"$endpoint_json")
    fi
    note "completions, $config webhook endpoint: ours ($OURS/$CL_ID)"
    run_wrk ours "$OURS/$CL_ID" -s "$TMP/complete.lua"
    SAMPLES[$config]+="$RPS $P50 $P99;"
    [[ $config == with ]] || return 0
    # Requests still in flight when wrk stops may commit a few more events: the newest event is
    # read again at every poll.
    start=$(date +%s.%N)
    drained=
    for _ in $(seq "${BENCH_DRAIN_POLLS:-1200}"); do
        last_event=$(newest /v1/events id)
        [[ $(newest "/v1/webhook_endpoints/$endpoint_id/deliveries" event) == "$last_event" ]] && { drained=1; break; }
        sleep 0.1
    done
    DRAINS+=("$(python3 -c "print(f'{$(date +%s.%N) - $start:.1f}')")")
    [[ -n $drained ]] || WARNINGS+=("webhook deliveries had not caught up ${DRAINS[-1]} s after the load (newest event $last_event); newest delivery: $(curl -sS "$OURS/v1/webhook_endpoints/$endpoint_id/deliveries?limit=1" -H "$AUTH" | head -c 600)")
    curl -sS --fail -o /dev/null -X DELETE "$OURS/v1/webhook_endpoints/$endpoint_id" -H "$AUTH" || die "deleting the webhook endpoint failed."
}
for round in $(seq "$ROUNDS"); do
    if (( round % 2 )); then order=(without with); else order=(with without); fi
    for config in "${order[@]}"; do measure_completions "$config"; done
done
# samples_of CONFIG FIELD: one field (1 req/s, 2 p50, 3 p99) of every round, one per line.
samples_of() { tr ';' '\n' <<<"${SAMPLES[$1]}" | awk -v f="$2" 'NF { print $f }'; }
# median_of CONFIG FIELD: the median of that field over the rounds.
median_of() {
    samples_of "$1" "$2" | sort -g \
        | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
for config in without with; do
    label="POST /cl_… (durable completion)"
    [[ $config == with ]] && label="POST /cl_… (durable completion, 1 webhook endpoint)"
    ROWS+=("| $label | $(printf '%.0f' "$(median_of $config 1)") | $(median_of $config 2) | $(median_of $config 3) | – | – | – | – |")
done
rates() { samples_of "$1" 1 | paste -sd, - | sed 's/,/, /g'; }
COMPLETIONS_LINE="Completions, median of $ROUNDS alternating rounds: $(printf '%.0f' "$(median_of without 1)")/s without a webhook endpoint, $(printf '%.0f' "$(median_of with 1)")/s with one ($(awk -v a="$(median_of without 1)" -v b="$(median_of with 1)" 'BEGIN { printf "%+.1f %%", (b - a) / a * 100 }')). Rounds without: $(rates without); with: $(rates with) req/s."
DRAIN_LINE="Webhook deliveries: after each round with the endpoint, its last event reached it $(IFS=,; sed 's/,/ s, /g' <<<"${DRAINS[*]}") s after the load ended."

stop_process "$OURS_PID" TERM checkout && OURS_PID=

# Completions through a slow processor: every test charge takes 0.2 s (as a real processor's
# round trip), 64 customers at once. The charge runs off the write lock and off the HTTP worker
# threads (the connection is suspended meanwhile), so the goal is >= 250 completions/s (64 / 0.2 s
# = 320 at most) with GET /healthz still answered within 10 ms at p99, measured during the load by
# a light probe (one request every 10 ms on one keep-alive connection).
SLOW_CONNECTIONS=${BENCH_SLOW_CONNECTIONS:-64}
SLOW_LATENCY=${BENCH_SLOW_LATENCY:-0.2}
"$BIN" org create slow --db "$TMP/slow.sqlite" >"$TMP/slow-org.json" || die "'checkout org create' failed for the slow server."
SLOW_KEY=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["test_key"])' "$TMP/slow-org.json")
"$BIN" serve --host 127.0.0.1 --port 0 --db "$TMP/slow.sqlite" --log-level "$LOG_LEVEL" --threads "$SERVER_THREADS" \
    --per-ip-connections 1024 --test-processor-latency "$SLOW_LATENCY" --charge-concurrency "$SLOW_CONNECTIONS" >"$TMP/slow.log" 2>&1 &
OURS_PID=$!
SLOW=
for _ in $(seq 300); do
    SLOW=$(sed -n 's|^listening on \(http://[^ ]*\).*|\1|p' "$TMP/slow.log" | head -n 1)
    [[ -n $SLOW ]] && break
    kill -0 "$OURS_PID" 2>/dev/null || { cat "$TMP/slow.log" >&2; die "the slow-processor server exited during start-up."; }
    sleep 0.1
done
[[ -n $SLOW ]] || die "the slow-processor server did not report 'listening on' within 30 s."
SLOW_CL=$(curl -sS --fail-with-body -X POST "$SLOW/v1/checkout_links" -u "$SLOW_KEY:" -H 'Content-Type: application/json' \
    -H 'Idempotency-Key: bench-slow-link' \
    -d '{"line_items":[{"quantity":1,"price_data":{"currency":"usd","product":"Ticket","unit_amount":2500}}],"title":"Bench"}' \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])') || die "creating the slow checkout link failed."
SLOW_CSRF=$(curl -sS "$SLOW/$SLOW_CL" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p')
sed "s/csrf_token=[^&]*/csrf_token=$SLOW_CSRF/" "$TMP/complete.lua" >"$TMP/slow.lua"
note "completions through a ${SLOW_LATENCY} s processor, $SLOW_CONNECTIONS customers: ours ($SLOW/$SLOW_CL)"
wrk -t "$WRK_THREADS" -c "$SLOW_CONNECTIONS" -d "${WARMUP}s" -s "$TMP/slow.lua" "$SLOW/$SLOW_CL" >/dev/null || die "wrk failed warming up"
python3 scripts/health-probe.py "$SLOW/healthz" "$DURATION" >"$TMP/probe.txt" &
PROBE_PID=$!
SAVED_CONNECTIONS=$CONNECTIONS; CONNECTIONS=$SLOW_CONNECTIONS
CURRENT_ROW="POST /cl_… (durable completion, ${SLOW_LATENCY} s processor)"
run_wrk ours "$SLOW/$SLOW_CL" -s "$TMP/slow.lua"
CONNECTIONS=$SAVED_CONNECTIONS
wait "$PROBE_PID" || die "the health probe failed."
read -r HP50 HP99 HMAX HCOUNT HERRORS <"$TMP/probe.txt"
ROWS+=("| POST /cl_… (durable completion, ${SLOW_LATENCY} s processor, $SLOW_CONNECTIONS customers) | $RPS | $P50 | $P99 | – | – | – | – |")
SLOW_LINE="Through a ${SLOW_LATENCY} s test processor with $SLOW_CONNECTIONS customers at once: $RPS durable completions/s (goal ≥ 250); meanwhile GET /healthz answered in p50 $HP50 ms, p99 $HP99 ms, max $HMAX ms ($HCOUNT probes, $HERRORS errors; goal p99 ≤ 10 ms)."
stop_process "$OURS_PID" TERM checkout && OURS_PID=

# Start-up of a throwaway fixture server: process start to the first answered request, 20 starts.
STARTUP=$(python3 scripts/startup-time.py "$BIN" 20 Examples/fixture-e2e/fixtures.json | tail -1)

mkdir -p "$OUT_DIR"
{ print_table; echo
  echo "$COMPLETIONS_LINE"; echo; echo "$DRAIN_LINE"; echo; echo "$SLOW_LINE"
  echo; echo "Fixture server start-up (--db :memory: --port 0 --fixtures Examples/fixture-e2e/fixtures.json): $STARTUP"; } \
    | tee "$OUT_DIR/bench.md"

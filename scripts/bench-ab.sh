#!/usr/bin/env bash
# Durable completions/s of two builds, alternately: what a change costs the plain completion path.
#
#   bash scripts/bench-ab.sh BASE_BINARY NEW_BINARY      # e.g. a worktree of the commit before the change
#
# Each round measures each binary once (the order flips every round, so drift weighs on both):
# a fresh server on its own SQLite file, one organization, one checkout link, wrk paying it with
# the test card 4242 (every 303 is a durable completion), BENCH_WARMUP s of warm-up, then
# BENCH_DURATION s measured with BENCH_CONNECTIONS connections. Prints every round and the medians,
# and for each round the server's user and kernel CPU per completion and how idle the machine was.
# Settings: BENCH_ROUNDS (default 5), BENCH_DURATION (10), BENCH_WARMUP (2), BENCH_CONNECTIONS (32),
# BENCH_THREADS (2), BENCH_LOG_LEVEL (info, the servers' default; warning logs no request); BASE_ARGS and NEW_ARGS, extra `serve` options for each (e.g. NEW_ARGS="--threads 8").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BASE=${1:?usage: bench-ab.sh BASE_BINARY NEW_BINARY}
NEW=${2:?usage: bench-ab.sh BASE_BINARY NEW_BINARY}
ROUNDS=${BENCH_ROUNDS:-5}
DURATION=${BENCH_DURATION:-10}
WARMUP=${BENCH_WARMUP:-2}
CONNECTIONS=${BENCH_CONNECTIONS:-32}
WRK_THREADS=${BENCH_THREADS:-2}
# The servers' log level: info is what `checkout serve` runs with unless told otherwise (a line
# per request, to the round's log file), so it is what an operator gets.
LOG_LEVEL=${BENCH_LOG_LEVEL:-info}
for tool in wrk curl python3; do command -v "$tool" >/dev/null || { echo "bench-ab: $tool not found (make bench-deps)" >&2; exit 1; }; done
TMP=$(mktemp -d "${TMPDIR:-/tmp}/checkout-ab.XXXXXX")
PID=
cleanup() { [[ -n $PID ]] && { kill -TERM "$PID" 2>/dev/null; wait "$PID" 2>/dev/null || true; }; rm -rf "$TMP"; }
trap cleanup EXIT

# measure BINARY: one fresh server, one measurement; prints req/s.
measure() {
    local binary=$1 extra=$2 dir url key link csrf
    dir=$(mktemp -d "$TMP/run.XXXXXX")
    key=$("$binary" org create ab --db "$dir/db.sqlite" | python3 -c 'import json, sys; print(json.load(sys.stdin)["test_key"])')
    "$binary" serve --host 127.0.0.1 --port 0 --db "$dir/db.sqlite" --log-level "$LOG_LEVEL" $extra >"$dir/log" 2>&1 &
    PID=$!
    for _ in $(seq 300); do
        url=$(sed -n 's|^listening on \(http://[^ ]*\).*|\1|p' "$dir/log" | head -n 1)
        [[ -n $url ]] && break
        sleep 0.1
    done
    [[ -n $url ]] || { cat "$dir/log" >&2; exit 1; }
    link=$(curl -sS --fail -X POST "$url/v1/checkout_links" -u "$key:" -H 'Content-Type: application/json' -H 'Idempotency-Key: ab' \
        -d '{"line_items":[{"quantity":1,"price_data":{"currency":"usd","product":"Ticket","unit_amount":2500}}],"title":"AB"}' \
        | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
    csrf=$(curl -sS "$url/$link" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p')
    cat >"$dir/pay.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "csrf_token=$csrf&email=bench%40example.com&name=Bench+Customer&card_number=4242424242424242&card_expiry=12%2F39&card_cvc=123"
LUA
    wrk -t "$WRK_THREADS" -c "$CONNECTIONS" -d "${WARMUP}s" -s "$dir/pay.lua" "$url/$link" >/dev/null
    # The server's user and kernel CPU (/proc/PID/stat, clock ticks) and the machine's idle time
    # over the measured run: near 0 % idle, the rate follows CPU per completion.
    local user0 sys0 user1 sys1 busy0 idle0 busy1 idle1 requests
    read -r user0 sys0 < <(awk '{ print $14, $15 }' "/proc/$PID/stat")
    read -r busy0 idle0 < <(awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat)
    wrk -t "$WRK_THREADS" -c "$CONNECTIONS" -d "${DURATION}s" -s "$dir/pay.lua" "$url/$link" >"$dir/wrk.txt"
    read -r user1 sys1 < <(awk '{ print $14, $15 }' "/proc/$PID/stat")
    read -r busy1 idle1 < <(awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat)
    requests=$(awk '$2 == "requests" && $3 == "in" { print $1 }' "$dir/wrk.txt")
    awk -v n="$requests" -v u=$((user1 - user0)) -v s=$((sys1 - sys0)) -v hz="$(getconf CLK_TCK)" \
        -v idle=$((idle1 - idle0)) -v busy=$((busy1 - busy0)) -v name="$binary" \
        'BEGIN { printf "  %s: server CPU per completion %.0f us user, %.0f us kernel; machine %.1f %% idle\n", name, u * 1e6 / hz / n, s * 1e6 / hz / n, idle * 100 / (idle + busy) }' >&2
    grep -q 'Non-2xx' "$dir/wrk.txt" && echo "bench-ab: non-3xx answers from $binary" >&2
    kill -TERM "$PID"; wait "$PID" 2>/dev/null || true; PID=
    awk '$1 == "Requests/sec:" { printf "%.0f\n", $2 }' "$dir/wrk.txt"
    # The next round starts on a quiet disk: this round's files gone and its dirty pages written,
    # not flushed under the next server's feet (that weighed on whichever build came second).
    rm -rf "$dir"; sync
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
base_rates=() new_rates=()
for round in $(seq "$ROUNDS"); do
    if (( round % 2 )); then order=(base new); else order=(new base); fi
    for which in "${order[@]}"; do
        if [[ $which == base ]]; then rate=$(measure "$BASE" "${BASE_ARGS:-}"); base_rates+=("$rate"); else rate=$(measure "$NEW" "${NEW_ARGS:-}"); new_rates+=("$rate"); fi
        echo "round $round, $which: $rate completions/s" >&2
    done
done
b=$(printf '%s\n' "${base_rates[@]}" | median); n=$(printf '%s\n' "${new_rates[@]}" | median)
# Each round's two measurements are minutes apart at most, so their ratio is less exposed to the
# host's slow swings (a factor of two over an hour here) than the two medians are.
ratios=()
for i in "${!base_rates[@]}"; do ratios+=("$(awk -v a="${base_rates[$i]}" -v b="${new_rates[$i]}" 'BEGIN { printf "%.3f", b / a }')"); done
r=$(printf '%s\n' "${ratios[@]}" | median)
echo "Durable completions/s, median of $ROUNDS alternating rounds ($CONNECTIONS connections, ${DURATION} s each): base $b, new $n ($(awk -v a="$b" -v b="$n" 'BEGIN { printf "%+.1f %%", (b - a) / a * 100 }')). Base rounds: ${base_rates[*]}; new rounds: ${new_rates[*]}. New/base in each round: ${ratios[*]} (median $r)."

#!/usr/bin/env bash
# Server CPU per durable completion: where a build's completion row goes (user vs kernel time).
#
#   bash scripts/cpu-per-completion.sh BINARY      # run it alternately with two builds
#
# One fresh server (2 HTTP threads, --log-level warning) on its own SQLite file, one checkout link,
# wrk paying it with 32 connections for 10 s after 2 s of warm-up (as bench-ab.sh). Prints the
# rate, the server's user and kernel CPU per completion (from /proc/PID/stat) and how idle the
# whole machine was: near 0 % idle, the row follows CPU per completion (server plus wrk).
set -euo pipefail
binary=$1; dir=$(mktemp -d /tmp/cpu.XXXXXX)
key=$("$binary" org create ab --db "$dir/db.sqlite" | python3 -c 'import json, sys; print(json.load(sys.stdin)["test_key"])')
"$binary" serve --host 127.0.0.1 --port 0 --db "$dir/db.sqlite" --log-level warning >"$dir/log" 2>&1 &
PID=$!
trap 'kill -TERM "$PID" 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 300); do url=$(sed -n 's|^listening on \(http://[^ ]*\).*|\1|p' "$dir/log" | head -n 1); [[ -n $url ]] && break; sleep 0.1; done
link=$(curl -sS --fail -X POST "$url/v1/checkout_links" -u "$key:" -H 'Content-Type: application/json' -H 'Idempotency-Key: ab' \
  -d '{"line_items":[{"quantity":1,"price_data":{"currency":"usd","product":"Ticket","unit_amount":2500}}],"title":"AB"}' | python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])')
csrf=$(curl -sS "$url/$link" | sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p')
cat >"$dir/pay.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "csrf_token=$csrf&email=bench%40example.com&name=Bench+Customer&card_number=4242424242424242&card_expiry=12%2F39&card_cvc=123"
LUA
wrk -t 2 -c 32 -d 2s -s "$dir/pay.lua" "$url/$link" >/dev/null
read -r u0 s0 < <(awk '{print $14, $15}' /proc/$PID/stat)
read -r _ a b c idle0 iow0 rest < /proc/stat
wrk -t 2 -c 32 -d 10s -s "$dir/pay.lua" "$url/$link" >"$dir/wrk.txt"
read -r u1 s1 < <(awk '{print $14, $15}' /proc/$PID/stat)
read -r _ a2 b2 c2 idle1 iow1 rest < /proc/stat
kill -TERM "$PID"; wait "$PID" 2>/dev/null || true
rate=$(awk '$1 == "Requests/sec:" { printf "%.0f", $2 }' "$dir/wrk.txt")
n=$(awk -v r=$rate 'BEGIN{print r*10}')
tot=$(( (a2-a)+(b2-b)+(c2-c)+(idle1-idle0)+(iow1-iow0) ))
awk -v r=$rate -v n=$n -v u=$((u1-u0)) -v s=$((s1-s0)) -v idle=$((idle1-idle0)) -v tot=$tot -v hz="$(getconf CLK_TCK)" \
 'BEGIN { printf "%s: %d/s  server user %.0f us, sys %.0f us per completion; machine idle %.1f %%\n", "'"$binary"'", r, u*1e6/hz/n, s*1e6/hz/n, idle*100/tot }'

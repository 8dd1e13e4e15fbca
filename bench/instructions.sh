#!/usr/bin/env bash
# Instructions per status, push or heartbeat, client side (bench.micro under callgrind): the
# difference between 12 and 4 rounds of 100 devices, so start-up and imports cancel out.
# Needs valgrind.
#     bench/instructions.sh [warm|cold|push-callback|push-stream|heartbeat] [clients...]
# (default: warm; ours, core and floor; the push and heartbeat modes measure ours alone)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-warm}
shift || true
clients=("${@:-ours core floor}")
case $mode in push-* | heartbeat) clients=(ours) ;; esac
out=$(mktemp)
trap 'rm -f "$out"' EXIT
count() {  # client rounds -> "instructions operations"
    local instructions
    instructions=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null .venv/bin/python -m bench.micro \
        --runs 1 --devices 100 --rounds "$2" --clients "$1" --mode "$mode" 2>&1 >"$out" |
        awk '/Collected/ {gsub(",", "", $4); print $4}')
    if [ "$mode" = heartbeat ]; then  # timers drift: count the beats actually sent
        echo "$instructions $(sed -n 's/^heartbeats=//p' "$out")"
    else
        echo "$instructions $(($2 * 100))"
    fi
}
for client in ${clients[*]}; do
    read -r low low_ops <<<"$(count "$client" 4)"
    read -r high high_ops <<<"$(count "$client" 12)"
    unit=${mode/push-/push, }
    [ "$mode" = warm ] || [ "$mode" = cold ] && unit="$mode status"
    echo "$client: $(((high - low) / (high_ops - low_ops))) instructions per $unit"
done

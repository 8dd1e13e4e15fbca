#!/usr/bin/env bash
# Instructions per status, client side (bench.micro under callgrind): the difference between
# 12 and 4 rounds of 100 devices, so start-up and imports cancel out. Needs valgrind.
#     bench/instructions.sh [warm|cold] [clients...]      (default: warm; ours, core and floor)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-warm}
shift || true
clients=("${@:-ours core floor}")
count() {  # client rounds -> total instructions
    valgrind --tool=callgrind --callgrind-out-file=/dev/null .venv/bin/python -m bench.micro \
        --runs 1 --devices 100 --rounds "$2" --clients "$1" --mode "$mode" 2>&1 >/dev/null |
        awk '/Collected/ {gsub(",", "", $4); print $4}'
}
for client in ${clients[*]}; do
    low=$(count "$client" 4)
    high=$(count "$client" 12)
    echo "$client: $(((high - low) / 800)) instructions per $mode status"
done

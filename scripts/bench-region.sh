#!/usr/bin/env bash
# Benchmarks a 3-node region next to a single node, in one run on this machine:
#
#   PutItem (and GetItem) at 64 connections against a single durable node, then against a
#   fresh 3-node region through its leader and through a follower; then leader failover
#   (SIGKILL of the leader to the first acknowledged write) over 10 fresh regions.
#
# Environment: CONNECTIONS (64), DURATION (seconds per cell, 5), OPS (put,get),
# BASE_PORT (18100; API ports BASE_PORT+1.., peer ports BASE_PORT+51..), SKIP_FAILOVER=1.
# Everything listens on 127.0.0.1 and every process is stopped on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
CONNECTIONS=${CONNECTIONS:-64}
DURATION=${DURATION:-5}
OPS=${OPS:-put,get}
BASE_PORT=${BASE_PORT:-18100}
BIN="$TARGET/release/meridian"
WORK=$(mktemp -d /tmp/meridian-bench-region-XXXXXX)
PIDS=()

cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

say() { echo "bench-region: $*" >&2; }

wait_ready() { # url
  for _ in $(seq 1 300); do
    if curl -fsS -o /dev/null -X POST -H 'X-Amz-Target: DynamoDB_20120810.ListTables' \
      -H 'Content-Type: application/x-amz-json-1.0' -d '{}' "$1" 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  say "no answer from $1"; return 1
}

bench() { # label endpoint
  "$BIN" bench --endpoint "$2" --ops "$OPS" --connections "$CONNECTIONS" \
    --duration-secs "$DURATION" --label "$1" | tail -n +2
}

say "building the release binary"
(cd "$ROOT" && cargo build --release -q -p meridian-server)

say "single node"
single_port=$((BASE_PORT + 1))
"$BIN" --port "$single_port" --data-dir "$WORK/single" >/dev/null 2>&1 &
PIDS+=($!)
wait_ready "http://127.0.0.1:$single_port"
echo "label                op     conns        req/s    p50_us    p99_us    max_us  errors"
bench single-node "http://127.0.0.1:$single_port"
kill "${PIDS[0]}"

say "3-node region"
members=""
for n in 1 2 3; do
  members+="  { id = $n, api_addr = \"127.0.0.1:$((BASE_PORT + 10 + n))\", peer_addr = \"127.0.0.1:$((BASE_PORT + 50 + n))\" },"$'\n'
done
for n in 1 2 3; do
  cat >"$WORK/n$n.toml" <<TOML
[node]
region = "us-east-1"
id = $n
api_addr = "127.0.0.1:$((BASE_PORT + 10 + n))"
peer_addr = "127.0.0.1:$((BASE_PORT + 50 + n))"

[storage]
data_dir = "$WORK/n$n"

[cluster]
name = "bench-region"
secret = "bench-region-secret"
members = [
$members]
TOML
  "$BIN" serve --config "$WORK/n$n.toml" >/dev/null 2>&1 &
  PIDS+=($!)
done
for n in 1 2 3; do wait_ready "http://127.0.0.1:$((BASE_PORT + 10 + n))"; done
"$BIN" status --config "$WORK/n1.toml" >&2
leader=$("$BIN" status --config "$WORK/n1.toml" | awk 'tolower($3) == "leader" {print $1; exit}')
leader=${leader:-1}
follower=$(( leader % 3 + 1 ))
bench region-leader "http://127.0.0.1:$((BASE_PORT + 10 + leader))"
bench region-follower "http://127.0.0.1:$((BASE_PORT + 10 + follower))"

if [ "${SKIP_FAILOVER:-0}" != 1 ]; then
  say "leader failover, 10 fresh regions"
  (cd "$ROOT" && MERIDIAN_BIN="$BIN" cargo test -q -p meridian-tests --test e2e \
    region::failover_trials -- --ignored --nocapture 2>&1 | grep -iE "failover|trial|min|median|max" || true)
fi

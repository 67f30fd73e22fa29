#!/usr/bin/env bash
# Benchmarks Meridian side by side with dynalite in one run, on this machine:
#
#   dynalite (in memory), dynalite --path (LevelDB), meridian (durable, fsync'd Raft log),
#   meridian --in-memory, and a bare hyper server answering a fixed JSON body (the ceiling
#   that the HTTP stack and the load generator allow).
#
# It also measures each server's ready time (spawn to first successful ListTables) and idle
# RSS (VmRSS from /proc/<pid>/status once ready).
#
# Environment: OPS (put,get,query), CONNECTIONS (1,16,64), DURATION (seconds per cell, 5),
# VALUE_BYTES (100), BASE_PORT (18000; five consecutive ports from BASE_PORT+1 are used),
# SKIP_DYNALITE=1 to leave dynalite out (no npm needed), OUT (result JSON path).
# Everything listens on 127.0.0.1 only, and every process is stopped on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OPS=${OPS:-put,get,query}
CONNECTIONS=${CONNECTIONS:-1,16,64}
DURATION=${DURATION:-5}
VALUE_BYTES=${VALUE_BYTES:-100}
BASE_PORT=${BASE_PORT:-18000}
DYNALITE_VERSION=${DYNALITE_VERSION:-4.0.0}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
case "$TARGET" in /*) ;; *) TARGET="$ROOT/$TARGET" ;; esac
OUT=${OUT:-$TARGET/bench/compare-$(date +%Y%m%d-%H%M%S).json}
READY_TIMEOUT_S=60

WORK=$(mktemp -d -t meridian-bench-XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

log() { echo "bench-compare: $*" >&2; }

now_ms() { date +%s%3N; }

# Polls ListTables on port $1 until it answers 200; prints the milliseconds since $2.
wait_ready() {
  local port=$1 start_ms=$2 deadline=$(( $(date +%s) + READY_TIMEOUT_S ))
  while (( $(date +%s) < deadline )); do
    local code
    code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$port/" \
      -H 'Content-Type: application/x-amz-json-1.0' \
      -H 'X-Amz-Target: DynamoDB_20120810.ListTables' \
      -H 'X-Amz-Date: 20240101T000000Z' \
      -H 'Authorization: AWS4-HMAC-SHA256 Credential=bench/20240101/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=00' \
      --data '{}' 2>/dev/null || true)
    if [[ $code == 200 ]]; then
      echo $(( $(now_ms) - start_ms ))
      return 0
    fi
    sleep 0.005
  done
  log "port $port not ready after ${READY_TIMEOUT_S}s"
  return 1
}

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# Systems under test: label, port, pid, ready ms, idle RSS.
LABELS=(); PORTS=(); READY=(); RSS=(); SETUP_FLAGS=()

# Spawns "$@" as system $1 on port $2 (the rest is the command), records pid, ready time, RSS.
start_system() {
  local label=$1 port=$2 setup=$3; shift 3
  local start_ms; start_ms=$(now_ms)
  "$@" >"$WORK/$label.out" 2>"$WORK/$label.err" &
  local pid=$!
  PIDS+=("$pid")
  local ready
  if ! ready=$(wait_ready "$port" "$start_ms"); then
    log "$label failed to start; its stderr:"; tail -20 "$WORK/$label.err" >&2; exit 1
  fi
  sleep 1 # let start-up allocations settle before reading idle RSS
  LABELS+=("$label"); PORTS+=("$port"); READY+=("$ready"); RSS+=("$(rss_kb "$pid")"); SETUP_FLAGS+=("$setup")
  log "$label ready in ${ready} ms (pid $pid)"
}

log "building release binaries"
(cd "$ROOT" && cargo build --release -p meridian-server -p meridian-bench)
MERIDIAN="$TARGET/release/meridian"
BENCH="$TARGET/release/meridian-bench"

port=$BASE_PORT
if [[ ${SKIP_DYNALITE:-0} != 1 ]]; then
  log "installing dynalite@$DYNALITE_VERSION into $WORK/npm"
  mkdir -p "$WORK/npm"
  (cd "$WORK/npm" && npm init -y >/dev/null && npm install --silent --no-audit --no-fund "dynalite@$DYNALITE_VERSION" >/dev/null)
  DYNALITE="$WORK/npm/node_modules/.bin/dynalite"
  port=$((port + 1)); start_system dynalite-memory "$port" "" "$DYNALITE" --port "$port"
  mkdir -p "$WORK/dynalite-data"
  port=$((port + 1)); start_system dynalite-leveldb "$port" "" "$DYNALITE" --port "$port" --path "$WORK/dynalite-data"
fi
mkdir -p "$WORK/meridian-data"
port=$((port + 1)); start_system meridian-durable "$port" "" "$MERIDIAN" --port "$port" --data-dir "$WORK/meridian-data"
port=$((port + 1)); start_system meridian-memory "$port" "" "$MERIDIAN" --port "$port" --in-memory
port=$((port + 1)); start_system bare-hyper "$port" "--no-setup" "$BENCH" --bare-server-port "$port"

mkdir -p "$(dirname "$OUT")"
: >"$WORK/results.jsonl"
for i in "${!LABELS[@]}"; do
  log "benchmarking ${LABELS[$i]} (ops $OPS, connections $CONNECTIONS, ${DURATION}s per cell)"
  # shellcheck disable=SC2086 # SETUP_FLAGS is empty or one flag
  "$BENCH" --endpoint "http://127.0.0.1:${PORTS[$i]}" --label "${LABELS[$i]}" \
    --ops "$OPS" --connections "$CONNECTIONS" --duration-secs "$DURATION" \
    --value-bytes "$VALUE_BYTES" --json ${SETUP_FLAGS[$i]} >>"$WORK/results.jsonl"
done

# Start-up figures as one more JSON line, then the combined report.
python3 - "$WORK/results.jsonl" "$OUT" "${LABELS[*]}" "${READY[*]}" "${RSS[*]}" <<'PY'
import json, sys
results_path, out_path, labels, ready, rss = sys.argv[1:6]
labels, ready, rss = labels.split(), [int(x) for x in ready.split()], [int(x) for x in rss.split()]
runs = [json.loads(line) for line in open(results_path) if line.strip()]
startup = [{"label": l, "ready_ms": r, "idle_rss_kb": k} for l, r, k in zip(labels, ready, rss)]
json.dump({"startup": startup, "runs": runs}, open(out_path, "w"), indent=1)

print("\nStart-up (spawn to first successful ListTables; VmRSS once idle)")
print(f"{'system':<20} {'ready_ms':>9} {'idle_rss_MiB':>13}")
for s in startup:
    print(f"{s['label']:<20} {s['ready_ms']:>9} {s['idle_rss_kb'] / 1024:>13.1f}")

rows = [dict(r, label=run["label"]) for run in runs for r in run["results"]]
print("\nThroughput and latency (one keep-alive connection per worker)")
print(f"{'op':<6} {'conns':>5} {'system':<20} {'req/s':>10} {'p50_us':>8} {'p99_us':>8} {'errors':>7}")
for op in dict.fromkeys(r["op"] for r in rows):
    for conns in sorted({r["connections"] for r in rows if r["op"] == op}):
        for r in rows:
            if r["op"] == op and r["connections"] == conns:
                print(f"{op:<6} {conns:>5} {r['label']:<20} {r['requests_per_sec']:>10.0f} {r['p50_us']:>8} {r['p99_us']:>8} {r['errors']:>7}")
        print()
print(f"results: {out_path}")
PY

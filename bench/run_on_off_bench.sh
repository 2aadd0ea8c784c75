#!/usr/bin/env bash
# On/off benchmark of one feature, JSON and streaming at 64 connections:
#   --feature logging (issue #6): the access log off vs on (local Parquet, write-through spool,
#     100 ms group commit, 1 s rotation so that encoding and delivery fall inside the measured
#     runs);
#   --feature policy (issue #5): governance off vs on (API key authentication, RBAC allow-list,
#     key and team rate limits, key and team budgets, a priced target: every request is
#     authenticated, authorised, admitted and settled).
# Reports req/s, the gateway's CPU time per request (utime+stime of the whole process, writer and
# delivery threads included) and the dropped-record counters after each run. The gateway is
# pinned to CPU 0; wrk and the mock share CPU 1. Traffic goes to 127.0.0.1 only; every run is
# bounded by -d. Off and on alternate, ROUNDS times, to spread the noise of a shared machine; the
# headline is the median over rounds of each round's on/off ratio.
#
# Usage: bench/run_on_off_bench.sh [--feature logging|policy] [--duration SECONDS] [--rounds N]
#                                  [--out docs/benchmarks.md]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DURATION=10
ROUNDS=2
OUT="$ROOT/docs/benchmarks.md"
FEATURE=logging
while [[ $# -gt 0 ]]; do
  case "$1" in
    --feature) FEATURE=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
case "$FEATURE" in
  logging) TITLE="Access log: logging off vs on" ;;
  policy) TITLE="Governance: policy off vs on" ;;
  *) echo "unknown feature $FEATURE (logging or policy)" >&2; exit 2 ;;
esac
source "$ROOT/bench/common.sh"
bench_setup wrk taskset curl sha256sum

taskset -c "$LOAD_CPU" "$BIN/mock-provider" --listen 127.0.0.1:0 > "$WORK/mock.out" 2>&1 &
PIDS+=($!)
MOCK_PORT=$(wait_line "$WORK/mock.out" "listening on")

# A client key for the policy runs, stored as its SHA-256 only (as `switchboard keys create` does).
BENCH_KEY="sk-sb-$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
BENCH_KEY_HASH=$(printf '%s' "$BENCH_KEY" | sha256sum | cut -d' ' -f1)
export BENCH_KEY

start_gateway() {  # start_gateway NAME ON(0|1): sets GW_PID and GW_PORT
  local name=$1 on=$2
  cat > "$WORK/$name.yaml" <<YAML
server: {listen: "127.0.0.1:0", workers: 1}
providers:
  mock: {type: openai-compatible, base_url: "http://127.0.0.1:$MOCK_PORT/v1", api_key: sk-bench}
models:
  mock-gpt: {provider: mock, model: gpt-4o-mini, price: {input: 2.5, output: 10}}
YAML
  if [[ $on == 1 && $FEATURE == policy ]]; then
    cat >> "$WORK/$name.yaml" <<YAML
auth:
  teams:
    bench: {models: ["mock-*"], limits: {requests_per_minute: 100000000}, budget: {daily: 1000000}}
  keys:
    key_0123456789abcdef:
      hash: "$BENCH_KEY_HASH"
      owner: bench
      team: bench
      models: ["mock-gpt"]
      limits: {requests_per_minute: 100000000, tokens_per_minute: 1000000000}
      budget: {daily: 1000000}
YAML
  fi
  if [[ $on == 1 && $FEATURE == logging ]]; then
    cat >> "$WORK/$name.yaml" <<YAML
logging:
  enabled: true
  directory: $WORK/$name/out
  spool_dir: $WORK/$name/spool
  rotate_age: 1s
YAML
  fi
  taskset -c "$PROXY_CPU" "$BIN/switchboard" gateway --config "$WORK/$name.yaml" > "$WORK/$name.out" 2> "$WORK/$name.err" &
  GW_PID=$!; PIDS+=($GW_PID)
  GW_PORT=$(wait_line "$WORK/$name.out" "switchboard listening on")
}

# run NAME PORT PID STREAM -> "requests errors rps cpu_us_per_req"
run() {
  local port=$2 pid=$3 stream=$4 before after out req errs rps cpu
  before=$(cpu_ticks "$pid")
  out=$(BENCH_MODEL=mock-gpt BENCH_STREAM=$stream taskset -c "$LOAD_CPU" wrk -t1 -c64 -d"${DURATION}s" \
        -s "$ROOT/bench/chat.lua" "http://127.0.0.1:$port" | grep '^RESULT')
  after=$(cpu_ticks "$pid")
  req=$(sed 's/.*requests=\([0-9]*\).*/\1/' <<<"$out"); errs=$(sed 's/.*errors=\([0-9]*\).*/\1/' <<<"$out")
  rps=$(sed 's/.*rps=\([0-9.]*\).*/\1/' <<<"$out")
  cpu=$(awk -v t=$(( after - before )) -v hz="$HZ" -v n="$req" 'BEGIN { printf "%.1f", t * 1e6 / hz / n }')
  echo "$req $errs $rps $cpu"
}

start_gateway off 0; OFF_PID=$GW_PID; OFF_PORT=$GW_PORT
start_gateway on 1; ON_PID=$GW_PID; ON_PORT=$GW_PORT

declare -A SUM_RPS SUM_CPU SUM_REQ SUM_ERR ROUND_RPS ROUND_CPU RPS_RATIOS CPU_RATIOS
for mode in json stream; do
  stream=0; [[ $mode == stream ]] && stream=1
  for _ in $(seq 1 "$ROUNDS"); do
    for side in off on; do
      port=$OFF_PORT; pid=$OFF_PID; [[ $side == on ]] && { port=$ON_PORT; pid=$ON_PID; }
      read -r req errs rps cpu <<<"$(run "$side" "$port" "$pid" "$stream")"
      SUM_REQ[$side,$mode]=$(( ${SUM_REQ[$side,$mode]:-0} + req ))
      SUM_ERR[$side,$mode]=$(( ${SUM_ERR[$side,$mode]:-0} + errs ))
      SUM_RPS[$side,$mode]=$(awk -v a="${SUM_RPS[$side,$mode]:-0}" -v b="$rps" 'BEGIN { print a + b }')
      SUM_CPU[$side,$mode]=$(awk -v a="${SUM_CPU[$side,$mode]:-0}" -v b="$cpu" 'BEGIN { print a + b }')
      ROUND_RPS[$side]=$rps; ROUND_CPU[$side]=$cpu
    done
    # The ratio of each round's adjacent off and on runs: the machine's load drifts between
    # rounds far more than within one.
    RPS_RATIOS[$mode]+="$(awk -v a="${ROUND_RPS[on]}" -v b="${ROUND_RPS[off]}" 'BEGIN { printf "%.3f", a / b }') "
    CPU_RATIOS[$mode]+="$(awk -v a="${ROUND_CPU[on]}" -v b="${ROUND_CPU[off]}" 'BEGIN { printf "%.3f", a / b }') "
  done
done
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) printf "%.2f", v[(NR + 1) / 2]; else printf "%.2f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
METRICS=$(curl -s "http://127.0.0.1:$ON_PORT/metrics")
LIMITED=$( (grep '^switchboard_requests_total' <<<"$METRICS" | grep -v 'status="200"' || true) | awk '{s += $2} END {print s + 0}')
DROPPED=$( (grep '^switchboard_access_log_records_dropped_total' <<<"$METRICS" || true) | awk '{s += $2} END {print s + 0}')
WRITTEN=$(grep '^switchboard_access_log_records_written_total' <<<"$METRICS" | awk '{print $2}' || true)
avg() { awk -v s="$1" -v n="$ROUNDS" 'BEGIN { printf "%.1f", s / n }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "-"; else printf "%.2f", a / b }'; }

{
  echo "## $TITLE ($(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown))"
  echo
  echo "Command: \`bench/run_on_off_bench.sh --feature $FEATURE --duration $DURATION --rounds $ROUNDS\` on $NCPU CPUs ($(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'))."
  echo "Switchboard (1 worker) pinned to CPU $PROXY_CPU, wrk (1 thread, 64 connections) and the mock on CPU $LOAD_CPU."
  if [[ $FEATURE == logging ]]; then
    echo "\`on\`: \`logging.enabled: true\` with local Parquet, write-through spool, fsync every 100 ms and \`rotate_age: 1s\` (so Parquet encoding and delivery happen inside the measured runs rather than after them)."
  else
    echo "\`on\`: \`auth:\` with an API key (hash lookup, constant-time compare), model allow-lists on key and team, request and token limits per minute on the key and team, daily budgets on both, a priced target: every request is authenticated, authorised, admitted (reservation) and settled."
  fi
  echo "$ROUNDS rounds of an off run then an on run, ${DURATION} s each; the table has the averages. CPU per request: the gateway process's utime+stime (all threads) / requests."
  echo
  echo "| mode | $FEATURE | requests | errors | req/s | CPU µs/req |"
  echo "|---|---|---|---|---|---|"
  for mode in json stream; do for side in off on; do
    echo "| $mode | $side | ${SUM_REQ[$side,$mode]} | ${SUM_ERR[$side,$mode]} | $(avg "${SUM_RPS[$side,$mode]}") | $(avg "${SUM_CPU[$side,$mode]}") |"
  done; done
  echo
  echo "| on / off | json | stream |"
  echo "|---|---|---|"
  echo "| req/s, median of the $ROUNDS rounds' ratios (target ≥ 0.90) | $(median "${RPS_RATIOS[json]}") | $(median "${RPS_RATIOS[stream]}") |"
  echo "| req/s, ratio of the averages | $(ratio "${SUM_RPS[on,json]}" "${SUM_RPS[off,json]}") | $(ratio "${SUM_RPS[on,stream]}" "${SUM_RPS[off,stream]}") |"
  echo "| CPU per request, median of the rounds' ratios | $(median "${CPU_RATIOS[json]}") | $(median "${CPU_RATIOS[stream]}") |"
  echo
  echo "Per-round req/s ratios: json ${RPS_RATIOS[json]% }; stream ${RPS_RATIOS[stream]% }."
  echo
  if [[ $FEATURE == logging ]]; then
    echo "Records written to the spool: $WRITTEN; records dropped: $DROPPED."
  else
    echo "Requests answered other than 200 with policy on (must be 0: no limit was meant to bite): $LIMITED."
  fi
  echo
} > "$WORK/result.md"
cat "$WORK/result.md"
if [[ -n "$OUT" ]]; then
  # Replace an earlier result of this script, kept above the proxy benchmark's "<!-- results -->"
  # marker (run_proxy_bench.sh rewrites everything below it).
  python3 - "$OUT" "$WORK/result.md" <<'PY'
import re, sys
out, result = sys.argv[1], open(sys.argv[2]).read()
text = open(out).read() if __import__('os').path.exists(out) else ''
title = result.split('\n', 1)[0].split(' (')[0]
text = re.sub(re.escape(title) + r' \(.*?(?=^## |^<!-- results -->|\Z)', '', text,
              flags=re.S | re.M)
marker = '<!-- results -->'
text = text.replace(marker, result + marker, 1) if marker in text else text + result
open(out, 'w').write(text)
PY
  echo "written to $OUT"
fi

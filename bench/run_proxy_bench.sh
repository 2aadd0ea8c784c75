#!/usr/bin/env bash
# Foundation benchmark: direct-to-mock vs nginx proxy_pass vs Switchboard, JSON and streaming,
# at 1 connection (latency) and 64 connections (throughput), with the proxy's CPU time per
# request and peak RSS. The proxy under test is pinned to CPU 0; wrk and the mock share CPU 1.
# Traffic goes to 127.0.0.1 only; every run is bounded by -d.
#
# Usage: bench/run_proxy_bench.sh [--duration SECONDS] [--out docs/benchmarks.md]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
DURATION=10
OUT="$ROOT/docs/benchmarks.md"
while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) DURATION=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
source "$ROOT/bench/common.sh"
bench_setup wrk nginx taskset
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
  echo $(( 20000 + RANDOM % 20000 )); }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }

# --- mock provider on the load CPU ---------------------------------------------------------
taskset -c "$LOAD_CPU" "$BIN/mock-provider" --listen 127.0.0.1:0 > "$WORK/mock.out" 2>&1 &
PIDS+=($!)
MOCK_PORT=$(wait_line "$WORK/mock.out" "listening on")

# --- switchboard on the proxy CPU ----------------------------------------------------------
cat > "$WORK/sb.yaml" <<YAML
server: {listen: "127.0.0.1:0", workers: 1}
providers:
  mock: {type: openai-compatible, base_url: "http://127.0.0.1:$MOCK_PORT/v1", api_key: sk-bench}
  claude: {type: anthropic, base_url: "http://127.0.0.1:$MOCK_PORT/v1", api_key: sk-bench}
models:
  mock-gpt: {provider: mock, model: gpt-4o-mini}
  mock-claude: {provider: claude, model: claude-sonnet-4-5}
YAML
taskset -c "$PROXY_CPU" "$BIN/switchboard" gateway --config "$WORK/sb.yaml" > "$WORK/sb.out" 2> "$WORK/sb.err" &
SB_PID=$!; PIDS+=($SB_PID)
SB_PORT=$(wait_line "$WORK/sb.out" "switchboard listening on")
sleep 0.5
SB_IDLE_RSS=$(rss_kb "$SB_PID")

# --- nginx (plain proxy reference) on the proxy CPU ---------------------------------------
NGINX_PORT=$(free_port)
mkdir -p "$WORK/nginx/logs"
cat > "$WORK/nginx/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
error_log $WORK/nginx/logs/error.log crit;
pid $WORK/nginx/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx/body;
  proxy_temp_path $WORK/nginx/proxy;
  upstream mock { server 127.0.0.1:$MOCK_PORT; keepalive 128; }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / {
      proxy_pass http://mock;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Authorization "Bearer sk-bench";
      proxy_buffering off;
    }
  }
}
CONF
taskset -c "$PROXY_CPU" nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" &
NGINX_PID=$!; PIDS+=($NGINX_PID)
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$NGINX_PORT/v1/models" && break; sleep 0.05; done
NGINX_IDLE_RSS=$(rss_kb "$NGINX_PID")

# run_wrk NAME PORT MODEL STREAM CONNS PROXY_PID -> "requests p50 p99 rps cpu_us_per_req"
run_wrk() {
  local port=$2 model=$3 stream=$4 conns=$5 pid=$6 before after out
  before=$([[ -n "$pid" ]] && cpu_ticks "$pid" || echo 0)
  out=$(BENCH_MODEL=$model BENCH_STREAM=$stream taskset -c "$LOAD_CPU" wrk -t1 -c"$conns" -d"${DURATION}s" \
        -s "$ROOT/bench/chat.lua" "http://127.0.0.1:$port" | grep '^RESULT')
  after=$([[ -n "$pid" ]] && cpu_ticks "$pid" || echo 0)
  local req p50 p99 rps errs
  req=$(sed 's/.*requests=\([0-9]*\).*/\1/' <<<"$out"); errs=$(sed 's/.*errors=\([0-9]*\).*/\1/' <<<"$out")
  p50=$(sed 's/.*p50_us=\([0-9]*\).*/\1/' <<<"$out"); p99=$(sed 's/.*p99_us=\([0-9]*\).*/\1/' <<<"$out")
  rps=$(sed 's/.*rps=\([0-9.]*\).*/\1/' <<<"$out")
  local cpu="-"
  if [[ -n "$pid" && "$req" -gt 0 ]]; then
    cpu=$(awk -v t=$(( after - before )) -v hz="$HZ" -v n="$req" 'BEGIN { printf "%.1f", t * 1e6 / hz / n }')
  fi
  echo "$req $errs $p50 $p99 $rps $cpu"
}

declare -A R
for mode in json stream; do
  stream=0; [[ $mode == stream ]] && stream=1
  for conns in 1 64; do
    R[direct,$mode,$conns]=$(run_wrk direct "$MOCK_PORT" gpt-4o-mini $stream $conns "")
    R[nginx,$mode,$conns]=$(run_wrk nginx "$NGINX_PORT" gpt-4o-mini $stream $conns "$NGINX_PID")
    R[switchboard,$mode,$conns]=$(run_wrk switchboard "$SB_PORT" mock-gpt $stream $conns "$SB_PID")
  done
  # Translated: OpenAI in, Anthropic Messages to the mock, OpenAI back (64 connections).
  R[translated,$mode,64]=$(run_wrk translated "$SB_PORT" mock-claude $stream 64 "$SB_PID")
done
SB_PEAK=$(hwm_kb "$SB_PID"); NGINX_PEAK=$(hwm_kb "$NGINX_PID")

field() { awk -v i="$2" '{print $i}' <<<"${R[$1]}"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "-"; else printf "%.2f", a / b }'; }
added() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%d", a - b }'; }

{
  echo "## Foundation proxy benchmark ($(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown))"
  echo
  echo "Command: \`bench/run_proxy_bench.sh --duration $DURATION\` on $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //'))."
  echo "Proxy pinned to CPU $PROXY_CPU (Switchboard: 1 worker; nginx: 1 worker, master_process off, upstream keepalive 128, proxy_buffering off);"
  echo "wrk (1 thread) and the mock provider pinned to CPU $LOAD_CPU. Chat request: 2 messages; response: 8 words (stream: 11 SSE events)."
  echo "Latency is wrk's p50/p99 over the run; CPU per request is the proxy's utime+stime from /proc divided by requests served."
  echo
  echo "| scenario | conns | target | requests | errors | p50 µs | p99 µs | req/s | proxy CPU µs/req |"
  echo "|---|---|---|---|---|---|---|---|---|"
  for mode in json stream; do for conns in 1 64; do for t in direct nginx switchboard translated; do
    [[ -n "${R[$t,$mode,$conns]:-}" ]] || continue
    read -r req errs p50 p99 rps cpu <<<"${R[$t,$mode,$conns]}"
    echo "| $mode | $conns | $t | $req | $errs | $p50 | $p99 | $rps | $cpu |"
  done; done; done
  echo
  echo "\`translated\`: Switchboard translating OpenAI chat to Anthropic Messages (the mock answers in Anthropic's format) and back."
  echo
  echo "| ratio (Switchboard / nginx) | json | stream |"
  echo "|---|---|---|"
  echo "| CPU per request at 64 conns | $(ratio "$(field switchboard,json,64 6)" "$(field nginx,json,64 6)") | $(ratio "$(field switchboard,stream,64 6)" "$(field nginx,stream,64 6)") |"
  echo "| added p50 latency at 1 conn (proxy p50 − direct p50) | $(added "$(field switchboard,json,1 3)" "$(field direct,json,1 3)") µs vs $(added "$(field nginx,json,1 3)" "$(field direct,json,1 3)") µs | $(added "$(field switchboard,stream,1 3)" "$(field direct,stream,1 3)") µs vs $(added "$(field nginx,stream,1 3)" "$(field direct,stream,1 3)") µs |"
  echo "| req/s at 64 conns | $(ratio "$(field switchboard,json,64 5)" "$(field nginx,json,64 5)") | $(ratio "$(field switchboard,stream,64 5)" "$(field nginx,stream,64 5)") |"
  echo
  echo "| ratio (Anthropic-translated / passthrough), 64 conns | json | stream |"
  echo "|---|---|---|"
  echo "| CPU per request | $(ratio "$(field translated,json,64 6)" "$(field switchboard,json,64 6)") | $(ratio "$(field translated,stream,64 6)" "$(field switchboard,stream,64 6)") |"
  echo
  echo "Memory: Switchboard idle RSS $(( SB_IDLE_RSS / 1024 )) MiB, peak $(( SB_PEAK / 1024 )) MiB; nginx idle RSS $(( NGINX_IDLE_RSS / 1024 )) MiB, peak $(( NGINX_PEAK / 1024 )) MiB."
  echo
} > "$WORK/result.md"
cat "$WORK/result.md"
if [[ -n "$OUT" ]]; then
  if [[ -f "$OUT" ]] && grep -q '^<!-- results -->' "$OUT"; then
    # Keep the prose above the marker; replace the results below it.
    sed -n '1,/^<!-- results -->/p' "$OUT" > "$WORK/head.md"
    cat "$WORK/head.md" "$WORK/result.md" > "$OUT"
  else
    cat "$WORK/result.md" >> "$OUT"
  fi
  echo "written to $OUT"
fi

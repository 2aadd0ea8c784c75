# Shared set-up of the bench/ scripts; sourced after `cd` to the repository root.
# bench_setup TOOL...: checks the tools and the build, then sets BIN, NCPU, PROXY_CPU (the proxy
# under test), LOAD_CPU (wrk and the mock), WORK (a temporary directory) and HZ, and stops every
# PID added to PIDS (and removes WORK) when the script exits.
bench_setup() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "missing $tool: run scripts/setup.sh" >&2; exit 1; }
  done
  BIN="$ROOT/build"
  [[ -x "$BIN/switchboard" && -x "$BIN/mock-provider" ]] || { echo "build first: scripts/build.sh" >&2; exit 1; }
  NCPU=$(nproc)
  PROXY_CPU=0
  LOAD_CPU=$(( NCPU > 1 ? 1 : 0 ))
  WORK=$(mktemp -d /tmp/sb-bench.XXXXXX)
  PIDS=()
  trap bench_cleanup EXIT
  HZ=$(getconf CLK_TCK)
}
bench_cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$WORK"; }

wait_line() {  # wait_line FILE PATTERN: print the port from the first matching line (10 s max)
  for _ in $(seq 1 200); do
    if grep -q "$2" "$1" 2>/dev/null; then grep -m1 "$2" "$1" | sed 's/.*://'; return 0; fi
    sleep 0.05
  done
  echo "timed out waiting for '$2' in $1" >&2; return 1
}
cpu_ticks() {  # total utime+stime of the given pids, in clock ticks
  local t=0; for p in "$@"; do t=$(( t + $(awk '{print $14 + $15}' "/proc/$p/stat") )); done; echo "$t"; }

#!/usr/bin/env bash
# Installs dependencies, builds, then runs the mock provider and the gateway on
# config/quickstart.yaml. Ctrl-C or SIGTERM makes the gateway drain; the mock stops with it.
#   SB_PORT       gateway port (default 8080)
#   SB_MOCK_PORT  mock provider port (default 8081)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

export SB_PORT="${SB_PORT:-8080}"
export SB_MOCK_PORT="${SB_MOCK_PORT:-8081}"

./scripts/setup.sh
./scripts/build.sh switchboard mock-provider

# Job control puts each background process in its own process group, so a terminal Ctrl-C
# reaches only this script, which then asks the gateway once (SIGTERM) to drain.
set -m

mock_pid=""
gateway_pid=""

# shellcheck disable=SC2317  # runs from a trap
stop_mock() {
    if [[ -n "$mock_pid" ]] && kill -0 "$mock_pid" 2>/dev/null; then
        kill -TERM "$mock_pid" 2>/dev/null || true
        wait "$mock_pid" 2>/dev/null || true
    fi
}
# shellcheck disable=SC2317  # runs from a trap
forward_to_gateway() {
    if [[ -n "$gateway_pid" ]]; then
        echo "run: stopping gateway (pid $gateway_pid), waiting for in-flight requests"
        kill -TERM "$gateway_pid" 2>/dev/null || true
    else
        exit 130
    fi
}
trap stop_mock EXIT
trap forward_to_gateway INT TERM

build/mock-provider --listen "127.0.0.1:${SB_MOCK_PORT}" &
mock_pid=$!

# The gateway does not need the mock at startup, but the first request should not race it.
for _ in $(seq 50); do
    if (exec 3<>"/dev/tcp/127.0.0.1/${SB_MOCK_PORT}") 2>/dev/null; then
        break
    fi
    if ! kill -0 "$mock_pid" 2>/dev/null; then
        echo "run: mock-provider exited; is port ${SB_MOCK_PORT} free? (set SB_MOCK_PORT)" >&2
        exit 1
    fi
    sleep 0.1
done

cat <<EOF

run: mock provider on http://127.0.0.1:${SB_MOCK_PORT}/v1 (pid ${mock_pid})
run: gateway on http://127.0.0.1:${SB_PORT} -- try, from another terminal:

  curl -s http://127.0.0.1:${SB_PORT}/v1/chat/completions -H 'Content-Type: application/json' \\
    -d '{"model":"mock-gpt","messages":[{"role":"user","content":"Hello"}]}'

run: Ctrl-C stops both.

EOF

build/switchboard gateway --config config/quickstart.yaml &
gateway_pid=$!

# `wait` returns early when a trapped signal arrives; keep waiting until the gateway is gone.
status=0
while :; do
    wait "$gateway_pid" && status=0 || status=$?
    if ! kill -0 "$gateway_pid" 2>/dev/null; then
        # A signal may have interrupted `wait` just as the gateway exited: fetch its real status
        # (127 means the first `wait` already reaped it).
        late=0
        wait "$gateway_pid" 2>/dev/null || late=$?
        if ((late != 127)); then
            status=$late
        fi
        break
    fi
done
exit "$status"

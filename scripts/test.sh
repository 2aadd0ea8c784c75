#!/usr/bin/env bash
# Installs dependencies, builds, and runs the whole suite (unit, integration, e2e SDK tests)
# with ctest. Exits with ctest's status. Tests start their own processes on free ports.
# Extra arguments go to ctest, e.g. `./scripts/test.sh -R e2e_node_sdk`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

./scripts/setup.sh
./scripts/build.sh

# --- Shared test services -----------------------------------------------------------------
# Services the suite needs outside its own processes (PostgreSQL, NATS, Redis, ...) are started
# here, each on a free 127.0.0.1 port under .run/, exported to the tests as environment variables
# (e.g. SB_TEST_POSTGRES_URL), and stopped by PID in stop_services. None are needed yet.
service_pids=()
# shellcheck disable=SC2317  # runs from the EXIT trap
stop_services() {
    local pid
    for pid in "${service_pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}
trap stop_services EXIT
# -------------------------------------------------------------------------------------------

# Each test has its own TIMEOUT property; --timeout bounds any test that lacks one.
status=0
ctest --test-dir build --output-on-failure --no-tests=error -j2 --timeout 300 "$@" || status=$?
exit "$status"

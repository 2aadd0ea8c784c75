#!/usr/bin/env bash
# Installs what building and testing Switchboard needs on Debian 12. Idempotent: apt runs only
# when a package is missing, `npm ci` only when tests/e2e/node_modules is missing or stale.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf 'setup: %s\n' "$*"; }

# Debian 12 packages. Boost comes from the 1.81 packages; never add libboost-dev (that is 1.74).
packages=(
    build-essential cmake ninja-build ccache pkg-config git g++
    libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
    libssl-dev libcurl4-openssl-dev libsimdjson-dev libyaml-cpp-dev libspdlog-dev libfmt-dev
    libcli11-dev libzstd-dev libexpected-dev libsqlite3-dev libre2-dev
    libgtest-dev libgmock-dev libbenchmark-dev
    nginx-light wrk nghttp2-client curl openssl ca-certificates clang-format
    prometheus  # promtool: checks the /metrics exposition in the unit tests
)
# Node 20 and npm are normally preinstalled (nodesource `nodejs` bundles npm); only fall back to
# Debian's packages when there is no node at all, so a newer node is never replaced.
if ! command -v node >/dev/null 2>&1; then
    packages+=(nodejs npm)
fi

is_installed() {
    [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" == installed ]]
}

missing=()
for p in "${packages[@]}"; do
    is_installed "$p" || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
    log "apt packages: all ${#packages[@]} present"
else
    log "apt packages missing: ${missing[*]}"
    sudo=()
    if ((EUID != 0)); then
        sudo=(sudo)
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -q
    "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
    log "apt packages installed"
fi

# npm tooling for the end-to-end tests (pinned in tests/e2e/package-lock.json).
e2e=tests/e2e
if [[ -f "$e2e/package-lock.json" ]]; then
    if ! command -v npm >/dev/null 2>&1; then
        log "npm not found; cannot install $e2e dependencies" >&2
        exit 1
    fi
    marker="$e2e/node_modules/.package-lock.json"
    if [[ ! -d "$e2e/node_modules" || ! -f "$marker" || "$e2e/package-lock.json" -nt "$marker" ]]; then
        log "npm ci in $e2e"
        (cd "$e2e" && npm ci --no-audit --no-fund --loglevel=error)
    else
        log "npm packages in $e2e: up to date"
    fi
fi

log "done"

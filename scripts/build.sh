#!/usr/bin/env bash
# Configures (CMake + Ninja, RelWithDebInfo) and builds Switchboard into build/.
# Extra arguments go to ninja, e.g. `./scripts/build.sh switchboard mock-provider`.
# -j2: the reference machine has 2 cores; Beast/coroutine TUs need ~2 GB each.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# -Werror in CI only; set explicitly either way so a cached value never lingers in build/.
werror=OFF
if [[ "${CI:-}" == true ]]; then
    werror=ON
fi
cmake_args=(-S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DSB_WERROR=${werror}")

echo "build: configuring build/"
cmake "${cmake_args[@]}" >/dev/null
echo "build: ninja -C build -j2 $*"
ninja -C build -j2 "$@"

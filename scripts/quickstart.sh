#!/usr/bin/env bash
# The main job (README): installs, builds, starts a local 3-node ringkv cluster under
# ${RINGKV_DEMO_DIR:-/tmp/ringkv-demo} and runs a short demo with the ringkv CLI. The cluster
# stays up afterwards; stop it with: build/bin/ringkv-local down --dir /tmp/ringkv-demo
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
exec scripts/demo.sh "${RINGKV_DEMO_DIR:-/tmp/ringkv-demo}"

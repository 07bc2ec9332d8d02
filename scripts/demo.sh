#!/usr/bin/env bash
# Installs what is missing, builds, and runs the demo against $NATS_URL, or
# against a local nats-server -js it starts (and stops) when NATS_URL is unset.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bash "$root/scripts/setup.sh"
build=${BUILD_DIR:-$root/build}
configure "$build"
cmake --build "$build" --target natscoro_demo
[[ -n "${NATS_URL:-}" ]] || start_local_server
"$build/examples/natscoro_demo" "$NATS_URL"

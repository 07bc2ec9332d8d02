#!/usr/bin/env bash
# Runs every example against a nats-server -js of its own (started here, on a
# free port with a temporary store), as CI does; fails on the first example that
# fails. scripts/examples.sh [NAME...] runs only the named ones (e.g. 06 seed_000).
# Expects the examples built in $BUILD_DIR (default build/), as scripts/test.sh builds them.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bin=${BUILD_DIR:-$root/build}/examples
selected=("$@")
cleanup() { stop_server; stop_postgres; }
trap cleanup EXIT

wanted() {
  [[ ${#selected[@]} -eq 0 ]] && return 0
  local name
  for name in "${selected[@]}"; do [[ $1 == *"$name"* ]] && return 0; done
  return 1
}

# run NAME [ARGS...]: runs example NAME against a fresh server; at most two minutes.
run() {
  local name=$1; shift
  wanted "$name" || return 0
  echo "--- $name"
  start_server 2>/dev/null
  timeout 120 "$bin/$name" "$NATS_URL" "$@"
  stop_server
}

# wait_for_line FILE TEXT PID: until FILE has a line containing TEXT (at most 60 s, or
# until process PID has ended).
wait_for_line() {
  for _ in $(seq 1 1200); do
    grep -q "$2" "$1" && return 0
    kill -0 "$3" 2>/dev/null || break
    sleep 0.05
  done
  echo "no \"$2\" from the example:" >&2; cat "$1" >&2
  return 1
}

# The graceful shutdown: SIGTERM once it is handling, then it must drain and exit 0.
run_graceful_shutdown() {
  local name=example_06_graceful_shutdown out pid
  wanted "$name" || return 0
  echo "--- $name (SIGTERM once running)"
  start_server 2>/dev/null
  out=$(mktemp)
  "$bin/$name" "$NATS_URL" >"$out" &
  pid=$!
  wait_for_line "$out" running "$pid"
  kill -TERM "$pid"
  wait "$pid"
  cat "$out"
  grep -q '^drained: ' "$out"
  rm -f "$out"
  stop_server
}

# The AML publisher's degraded start: started with no server, it must store its
# events and wait; the server is started after that, on the port it was given.
run_degraded_start() {
  local name=example_seed_000_aml_publisher out pid port
  wanted "$name" || return 0
  echo "--- $name (started before its server)"
  port=$(free_port)
  out=$(mktemp)
  "$bin/$name" "nats://127.0.0.1:$port" >"$out" &
  pid=$!
  wait_for_line "$out" "waiting for NATS" "$pid"
  start_server "$port" 2>/dev/null
  wait "$pid"
  cat "$out"
  rm -f "$out"
  stop_server
}

run example_01_connect
run example_02_publish
run example_03_consume
run example_04_runner
run example_05_dead_letter
run_graceful_shutdown
run example_07_consumer_group
run example_08_multithreaded
run example_09_callbacks_and_futures
run natscoro_typed_service
run natscoro_outbox "$(mktemp -d)/outbox.db"
run natscoro_foreign_events
if wanted natscoro_postgres_outbox && [[ -x $bin/natscoro_postgres_outbox ]]; then
  start_postgres
  run natscoro_postgres_outbox "$PG_CONNINFO"
  stop_postgres
fi
run_degraded_start
run example_seed_002_deltran_consumers
run example_seed_003_giia_auth
echo "every example ran"

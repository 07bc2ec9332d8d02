#!/usr/bin/env bash
# The benchmarks (benchmarks/): natscoro against raw nats.c on the same workloads.
#
#   scripts/bench.sh [--quick] [--rounds N] [WORKLOADS]     e.g. scripts/bench.sh --rounds 5 AB
#
# For each workload (default ABCDEFGHIJKL) a fresh nats-server -js with its own file
# store; the natscoro and raw nats.c programs alternate, N rounds each (default 3),
# each run a process of its own (filling the stream first where the workload
# needs a backlog). Prints one JSON line per run, one per workload and client
# (the medians), and a table of medians and natscoro/raw ratios; writes
# benchmarks/results/latest.{jsonl,json,md,svg} (a subset of the workloads: under
# the build directory). H to K measure the outbox: H stores with 64 producers
# (SQLite, synchronous FULL), I and J drain a backlog (SQLite, PostgreSQL: a
# PostgreSQL server is started for J), K holds 1,000,000 pending events with the
# broker down; raw's figure beside them is nats.c's direct pipelined publish
# of as many messages. L runs E's runner over one backlog without, then with the
# processed-id store (raw nats.c has no runner: no raw run). --quick: small counts, one
# round, results under the build directory; it proves the benchmark works and
# asserts nothing about speed. Where natscoro does more than the minimal raw job
# (A, C, E), raw nats.c runs a second time doing the same job (--same-job: the
# bytes natscoro stores); B and D run both clients with SendAsap.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

quick=()
rounds=3
workloads=ABCDEFGHIJKL
while (($#)); do
  case $1 in
    --quick) quick=(--quick); rounds=1 ;;
    --rounds) rounds=$2; shift ;;
    [A-L]*) workloads=$1 ;;
    *) sed -n '4p' "$0" >&2; exit 2 ;;
  esac
  shift
done

bash "$root/scripts/setup.sh"
build=${BUILD_DIR:-$root/build}
configure "$build"
cmake --build "$build" --target natscoro_bench raw_nats_bench
natscoro_bench=$build/benchmarks/natscoro_bench
raw_bench=$build/benchmarks/raw_nats_bench

out=$root/benchmarks/results
# Only a full run replaces the committed results.
[[ $workloads != ABCDEFGHIJKL ]] && out=$build/bench-$workloads
((${#quick[@]})) && out=$build/bench-quick
mkdir -p "$out"
runs=$out/latest.jsonl
: >"$runs"

trap 'status=$?; stop_server; stop_postgres; rm -rf "${outbox_dir:-}"; exit $status' EXIT
# One run: `fill` (a no-op where the workload needs no backlog), then `run`, each
# bounded in time so that a hang fails the script instead of stalling it.
outbox_dir=$(mktemp -d)
run_client() {
  local program=$1 workload=$2
  local args=(--server "$NATS_URL" --dir "$outbox_dir" "${quick[@]}" "${@:3}")
  [[ -n "${PG_CONNINFO:-}" ]] && args+=(--postgres "$PG_CONNINFO")
  timeout 600 "$program" fill "$workload" "${args[@]}"
  timeout 600 "$program" run "$workload" "${args[@]}" | tee -a "$runs"
}

# J (the PostgreSQL outbox) needs a PostgreSQL server, started once.
[[ $workloads == *J* ]] && start_postgres
for workload in $(grep -o . <<<"$workloads"); do
  start_server
  for round in $(seq 1 "$rounds"); do
    if ((round % 2)); then order=(natscoro raw same_job); else order=(same_job raw natscoro); fi
    for client in "${order[@]}"; do
      case $client in
        natscoro) run_client "$natscoro_bench" "$workload" ;;
        raw) run_client "$raw_bench" "$workload" ;;
        same_job) run_client "$raw_bench" "$workload" --same-job ;;  # a no-op where the jobs are alike
      esac
    done
  done
  stop_server
done

machine="$(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores, $(free -g | awk '/^Mem:/{print $2}') GiB;"
machine+=" Linux $(uname -r); nats-server $(nats-server --version | grep -o '[0-9.]*$'),"
machine+=" nats.c $(dpkg-query -W -f='${Version}' libnats-dev), $("$CXX" --version | head -1)"
echo
"$natscoro_bench" summary "$runs" "$out/latest.json" "$out" "$machine" | tee "$out/latest.md"
if grep -qv '^#' "$out/ratios.dat" && grep -qv '^#' "$out/latency.dat"; then  # a subset may lack either
  gnuplot -e "dir='$out'" "$root/benchmarks/plot.gp" >"$out/latest.svg"
fi
echo "machine: $machine"
echo "bench.sh: results in $out/latest.{jsonl,json,md,svg}"

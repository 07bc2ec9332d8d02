#!/usr/bin/env bash
# scripts/fuzz.sh [SECONDS]: builds the libFuzzer targets of tests/fuzz with clang-19,
# AddressSanitizer and UndefinedBehaviorSanitizer, and runs each for SECONDS (default
# 60), two at a time, starting from a copy of its committed seed corpus. Fails on the
# first crash, leak, sanitizer report, timeout (10 s per input) or memory blow-up;
# the reproducer is left in build-fuzz/findings/.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bash "$root/scripts/setup.sh"
seconds=${1:-60}
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
BUILD_TYPE=Debug configure "$build" -DNATSCORO_SANITIZE=address,undefined -DNATSCORO_FUZZ=ON \
  -DNATSCORO_BUILD_TESTS=OFF -DNATSCORO_BUILD_EXAMPLES=OFF -DNATSCORO_BUILD_BENCHMARKS=OFF -DNATSCORO_BUILD_TOOLS=OFF
cmake --build "$build"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:external_symbolizer_path=/usr/lib/llvm-19/bin/llvm-symbolizer
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
mkdir -p "$build/findings"
run_one() {
  local target=$1 work="$build/corpus/$1"
  rm -rf "$work" && mkdir -p "$work" && cp "$root/tests/fuzz/corpus/$target/"* "$work/"
  if "$build/tests/fuzz/$target" "$work" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
       -artifact_prefix="$build/findings/$target-" -print_final_stats=1 >"$build/$target.log" 2>&1; then
    echo "fuzz: $target clean: $(grep -m1 -o 'stat::number_of_executed_units: [0-9]*' "$build/$target.log" | grep -o '[0-9]*$') runs in ${seconds}s"
  else
    echo "fuzz: $target FAILED"; tail -40 "$build/$target.log"; return 1
  fi
}
targets=(fuzz_envelope fuzz_ack_subject fuzz_units fuzz_topology fuzz_dead_letter_entry fuzz_subject_template)
status=0
for ((i = 0; i < ${#targets[@]}; i += 2)); do
  pids=()
  for t in "${targets[@]:i:2}"; do run_one "$t" & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p" || status=1; done
done
exit $status

#!/usr/bin/env bash
# Where the microseconds go: one benchmark workload of natscoro_bench under
# `perf record`, its CPU samples grouped by component (by the function each
# sample was taken in), as a share and as microseconds per message (the share of
# the run's CPU per message, which the benchmark's own getrusage measures).
#
#   scripts/profile.sh [--client natscoro|raw|same-job] WORKLOAD     e.g. scripts/profile.sh C
#
# BUILD_DIR picks the build (default build/), e.g. a worktree of an older commit
# for a before/after comparison. Full-size workloads; one run. The grouping is
# by self time: a function's callees count in their own components.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

client=natscoro
while (($#)); do
  case $1 in
    --client) client=$2; shift ;;
    [A-L]) workload=$1 ;;
    *) sed -n '7p' "$0" >&2; exit 2 ;;
  esac
  shift
done
[[ -n "${workload:-}" ]] || { sed -n '7p' "$0" >&2; exit 2; }

bash "$root/scripts/setup.sh"
command -v perf >/dev/null || { apt-get update -qq && apt-get install -y -qq linux-perf >/dev/null; }
build=${BUILD_DIR:-$root/build}
configure "$build"
cmake --build "$build" --target natscoro_bench raw_nats_bench >/dev/null
case $client in
  natscoro) program=("$build/benchmarks/natscoro_bench") ;;
  raw) program=("$build/benchmarks/raw_nats_bench") ;;
  same-job) program=("$build/benchmarks/raw_nats_bench") extra=(--same-job) ;;
  *) echo "profile.sh: --client natscoro, raw or same-job" >&2; exit 2 ;;
esac

work=$(mktemp -d)
trap 'status=$?; stop_server; rm -rf "$work"; exit $status' EXIT
start_server
args=(--server "$NATS_URL" --dir "$work" "${extra[@]}")
"${program[@]}" fill "$workload" "${args[@]}"
perf record -q -F 4999 -o "$work/perf.data" -- "${program[@]}" run "$workload" "${args[@]}" | tee "$work/result.json"
perf report -i "$work/perf.data" --no-children --sort dso,symbol -g none --percent-limit 0 --stdio 2>/dev/null \
  >"$work/report.txt"

python3 - "$work/report.txt" "$work/result.json" <<'EOF'
import json, re, sys

# First match wins: the order puts the specific before the general.
components = [
    ("thread wake-ups and switches (kernel)", r"\[k\] .*(futex|sched|switch|wake|schedule|finish_task|_raw_spin|try_to_wake|enqueue|dequeue|select_task|update_curr|pick_next)"),
    ("socket I/O (kernel)", r"\[k\] .*(tcp|sock|skb|ip_|inet|epoll|ep_|__x64_sys_(read|write|sendto|recvfrom|epoll)|netif|loopback|napi|nf_|__dev_|copy_|_copy|net_rx|do_softirq)"),
    ("other kernel", r"\[k\] "),
    ("envelope encode/decode (Boost.JSON)", r"boost::json|natscoro::detail::(encode_event|decode_|for_each_attribute|set_attribute|parse_json|percent_)|natscoro::(to_structured_json|envelope)"),
    ("id and time (UUID, clock)", r"uuid|mersenne|mt19937|random|clock_gettime|__vdso|gmtime|strftime|time_point|format_time|rfc3339|natscoro::detail::now"),
    ("validation (names, sizes)", r"natscoro::detail::(valid_|check_|printable|wire_payload_size)"),
    ("nats.c message and headers", r"natsMsg|natsHeader|natsStrHash|natsMsgHeader|_freeMsg"),
    ("nats.c JetStream (PubAck, pending map)", r"^libnats.* (js_|_js|jsPubAck|_handleAsyncReply|natsJSON|_json|nats_JSON)"),
    ("nats.c connection, parser, buffers", r"^libnats"),
    ("allocation (malloc/free)", r"(^|\s)(malloc|free|calloc|realloc|_int_malloc|_int_free|cfree|operator new|operator delete|tcache|malloc_consolidate|unlink_chunk|__libc_malloc|__libc_free|sysmalloc)(\s|$|@)"),
    ("locks and condition variables", r"pthread_mutex|pthread_cond|__lll_|futex|pthread_spin|std::mutex|natsMutex|natsCondition"),
    ("publish window and correlation", r"natscoro::detail::(publisher_core|publish_window|pending|correlat|reply_inbox)|natscoro::publisher"),
    ("pull protocol and hand-out", r"natscoro::detail::(consumer_core|pull_credits|heartbeat|message_state)|natscoro::message|natscoro::consumer|message_metadata"),
    ("runner (lanes, slots, failure routing)", r"natscoro::detail::(runner_core|lane_scheduler|failure_policy)|key_by_subject"),
    ("completion machinery (Asio)", r"boost::asio|any_completion|awaitable|co_spawn|strand|executor|natscoro::detail::(pending_operation|complete|on_strand|await_with)"),
    ("other natscoro", r"natscoro::"),
    ("C++ runtime and libc", r"libstdc\+\+|libc\.so|std::|__memmove|__memcpy|__memset|__strlen|memcmp|strlen|strchr|__strchr|__memchr|__nss|_IO_"),
    ("benchmark's own code", r"natscoro_bench|raw_nats_bench"),
]
totals = {name: 0.0 for name, _ in components}
totals["other"] = 0.0
line_re = re.compile(r"^\s+([\d.]+)%\s+(\S+)\s+(\[[k.]\])\s+(.*)$")
for line in open(sys.argv[1]):
    m = line_re.match(line)
    if not m:
        continue
    pct, dso, kind, sym = float(m.group(1)), m.group(2), m.group(3), m.group(4).strip()
    text = f"{dso} {kind} {sym}"
    for name, pattern in components:
        if re.search(pattern, text):
            totals[name] += pct
            break
    else:
        totals["other"] += pct

result = json.loads(open(sys.argv[2]).read().splitlines()[-1])
cpu = result.get("cpu_us_per_msg", 0.0)
print(f"\nworkload {result['workload']} ({result['client']}): {cpu:.2f} us CPU per message, "
      f"{result.get('allocs_per_msg', 0):.1f} allocations per message\n")
print("| component | share of CPU | us per message |")
print("|---|---:|---:|")
for name, share in sorted(totals.items(), key=lambda kv: -kv[1]):
    if share >= 0.5:
        print(f"| {name} | {share:.1f} % | {share / 100 * cpu:.2f} |")
EOF

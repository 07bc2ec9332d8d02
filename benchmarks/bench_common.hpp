// What natscoro_bench and raw_nats_bench share: the workloads' parameters, the
// command line, and the measurements (clock, CPU and allocations per message,
// percentiles, RSS, threads) with the JSON line each run prints. Both programs take their sizes from workload_for(),
// so the two clients always run the same workload.
#pragma once

#include <boost/json.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace bench {

using clock = std::chrono::steady_clock;

/// The stream every workload uses; each fill (or run without a fill) recreates it.
inline constexpr const char* stream_name = "BENCH";
/// Bytes of application data per message (natscoro's envelope adds its own).
inline constexpr std::size_t payload_bytes = 256;

struct workload {
  char id = 'A';
  std::string what;
  bool needs_fill = false;      ///< the stream is filled by a separate `fill` run first
  std::uint64_t messages = 0;   ///< published, consumed, or the backlog stored (F)
  std::size_t window = 0;       ///< A: PubAcks outstanding at most
  std::size_t batch = 0;        ///< C, E: raw Fetch size and natscoro's capacity
  std::size_t keys = 1;         ///< subjects "bench.<w>.<key>"
  std::size_t concurrency = 0;  ///< E, F: handlers at once
  double seconds = 0;           ///< F: how long the consumer runs against the backlog
  std::size_t consumers = 0;    ///< G
  /// B, D: messages sent one at a time before measuring, so that a fresh
  /// server's first writes (stream files, first consumer) weigh on neither client.
  std::uint64_t warmup = 0;
  /// H to K, the outbox: natscoro's outbox against its own direct publish; raw
  /// nats.c's pipelined publish of as many messages is shown beside it (none for K).
  bool outbox = false;
  /// False where raw nats.c has nothing alike (K, L): natscoro is compared with itself.
  bool raw_baseline = true;
  std::size_t producers = 0;  ///< H, K: coroutines storing events at once
  /// B, D: latency workloads, where both clients write every message at once
  /// (natsOptions_SetSendAsap, connect_options::send_asap) as a latency-minded user sets it.
  bool send_asap = false;
  /// A, C, E: raw nats.c runs twice, the minimal job and the same job as natscoro
  /// (`--same-job`: the bytes natscoro stores, a CloudEvent with its headers).
  bool same_job_baseline = false;
};

inline workload workload_for(char id, bool quick) {
  const auto n = [quick](std::uint64_t full, std::uint64_t small) { return quick ? small : full; };
  switch (id) {
    case 'A':
      return {.id = 'A',
              .what = "pipelined publish with PubAck",
              .messages = n(200'000, 2'000),
              .window = 4096,
              .same_job_baseline = true};
    case 'B':
      return {.id = 'B',
              .what = "sequential publish, latency",
              .messages = n(5'000, 200),
              .warmup = n(200, 20),
              .send_asap = true};
    case 'C':
      return {.id = 'C',
              .what = "durable pull consumer drains the stream, ack each",
              .needs_fill = true,
              .messages = n(200'000, 2'000),
              .batch = 500,
              .same_job_baseline = true};
    case 'D':
      return {.id = 'D',
              .what = "end-to-end latency, publish to next()",
              .messages = n(5'000, 200),
              .warmup = n(200, 20),
              .send_asap = true};
    case 'E':
      return {.id = 'E',
              .what = "runner, 1,000 keys, trivial handler",
              .needs_fill = true,
              .messages = n(200'000, 2'000),
              .batch = 500,
              .keys = n(1'000, 100),
              .concurrency = 64,
              .same_job_baseline = true};
    case 'F':
      return {.id = 'F',
              .what = "memory under a backlog, 1 ms handler",
              .needs_fill = true,
              .messages = n(1'000'000, 20'000),
              .batch = 64,
              .keys = n(1'000, 100),
              .concurrency = 64,
              .seconds = quick ? 1.0 : 10.0};
    case 'G':  // one subject per consumer
      return {.id = 'G', .what = "consumers on one connection", .keys = n(1'000, 50), .consumers = n(1'000, 50)};
    case 'H':
      return {.id = 'H',
              .what = "outbox (SQLite, synchronous FULL): 64 producers store",
              .messages = n(200'000, 2'000),
              .window = 4096,
              .outbox = true,
              .producers = 64};
    case 'I':
      return {.id = 'I',
              .what = "outbox relay drains a backlog (SQLite)",
              .needs_fill = true,
              .messages = n(200'000, 2'000),
              .window = 4096,
              .outbox = true,
              .producers = 64};
    case 'J':
      return {.id = 'J',
              .what = "outbox relay drains a backlog (PostgreSQL)",
              .needs_fill = true,
              .messages = n(100'000, 1'000),
              .window = 4096,
              .outbox = true};
    case 'K':
      return {.id = 'K',
              .what = "events pending in the outbox (SQLite), broker down",
              .messages = n(1'000'000, 20'000),
              .outbox = true,
              .raw_baseline = false,
              .producers = 64};
    case 'L':  // E's runner twice on the same backlog: without, then with the processed-id store
      return {.id = 'L',
              .what = "runner with the processed-id store (vs without), 1,000 keys",
              .needs_fill = true,
              .messages = n(50'000, 2'000),
              .batch = 500,
              .keys = n(1'000, 100),
              .concurrency = 64,
              .raw_baseline = false};
    default:
      throw std::invalid_argument(std::string("unknown workload '") + id + "' (A to L)");
  }
}

inline std::string subject_for(const workload& w, std::uint64_t i) {
  return "bench." + std::string(1, static_cast<char>(w.id - 'A' + 'a')) + "." + std::to_string(i % w.keys);
}

/// `<program> fill|run <A-L> [--server URL] [--quick] [--same-job] [--dir DIR] [--postgres CONNINFO]`
struct command_line {
  bool fill = false;
  bool same_job = false;  ///< raw_nats_bench: the same bytes as natscoro (workload::same_job_baseline)
  workload load;
  std::string server = "nats://127.0.0.1:4222";
  bool quick = false;
  std::string dir = "/tmp";  ///< H, I, K: where the outbox file goes
  std::string postgres;      ///< J: the database of the PostgreSQL outbox
};

inline command_line parse_command_line(int argc, char** argv) {
  const std::string usage = std::string("usage: ") + argv[0] +
                            " fill|run A-L [--server URL] [--quick] [--same-job] [--dir DIR] [--postgres CONNINFO]";
  if (argc < 3) throw std::invalid_argument(usage);
  command_line cl;
  const std::string verb = argv[1], id = argv[2];
  if ((verb != "fill" && verb != "run") || id.size() != 1) throw std::invalid_argument(usage);
  cl.fill = verb == "fill";
  for (int i = 3; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--quick")
      cl.quick = true;
    else if (arg == "--same-job")
      cl.same_job = true;
    else if (arg == "--server" && i + 1 < argc)
      cl.server = argv[++i];
    else if (arg == "--dir" && i + 1 < argc)
      cl.dir = argv[++i];
    else if (arg == "--postgres" && i + 1 < argc)
      cl.postgres = argv[++i];
    else
      throw std::invalid_argument(usage);
  }
  cl.load = workload_for(id[0], cl.quick);
  return cl;
}

inline std::string payload() { return std::string(payload_bytes, 'x'); }

inline double seconds_since(clock::time_point start) {
  return std::chrono::duration<double>(clock::now() - start).count();
}

inline double micros(clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

/// The value at fraction `p` of the sorted values (nearest rank).
inline double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<std::size_t>(p * static_cast<double>(values.size()));
  return values[std::min(values.size() - 1, rank)];
}

/// A "Name:   value kB" (or plain count) line of /proc/self/status.
inline std::uint64_t proc_status(const std::string& name) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.starts_with(name + ":")) return std::strtoull(line.c_str() + name.size() + 1, nullptr, 10);
  return 0;
}

/// Every malloc-family call of the process so far, on every thread (allocation_count.cpp).
std::uint64_t allocations();

/// CPU time of the process so far: user and system, every thread.
inline double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  const auto secs = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return secs(u.ru_utime) + secs(u.ru_stime);
}

/// The measured part of a workload: wall time, CPU and allocations from its
/// construction to stop() (the first call; later ones keep the first figures).
class section {
 public:
  section() : start_(clock::now()), cpu_(cpu_seconds()), allocations_(bench::allocations()) {}
  void stop() {
    if (stopped_) return;
    stopped_ = true;
    seconds_ = seconds_since(start_);
    cpu_ = cpu_seconds() - cpu_;
    allocations_ = bench::allocations() - allocations_;
  }
  double seconds() { return stop(), seconds_; }
  double cpu() { return stop(), cpu_; }
  std::uint64_t allocations() { return stop(), allocations_; }

 private:
  clock::time_point start_;
  double cpu_;
  std::uint64_t allocations_;
  double seconds_ = 0;
  bool stopped_ = false;
};

/// One run's figures, printed as one JSON line on stdout.
class result {
 public:
  result(const workload& w, std::string client) {
    json_["workload"] = std::string(1, w.id);
    json_["client"] = std::move(client);
    json_["payload_bytes"] = payload_bytes;
  }
  void set(const std::string& key, boost::json::value v) { json_[key] = std::move(v); }
  double value(const std::string& key) const { return json_.at(key).to_number<double>(); }
  void throughput(std::uint64_t messages, double seconds) {
    json_["messages"] = messages;
    json_["seconds"] = seconds;
    json_["msgs_per_s"] = seconds > 0 ? static_cast<double>(messages) / seconds : 0.0;
  }
  /// Throughput over a measured section, and its cost per message: CPU of every
  /// thread in microseconds, and allocations.
  void measured(std::uint64_t messages, section& s) {
    throughput(messages, s.seconds());
    if (messages == 0) return;
    json_["cpu_us_per_msg"] = s.cpu() * 1e6 / static_cast<double>(messages);
    json_["allocs_per_msg"] = static_cast<double>(s.allocations()) / static_cast<double>(messages);
  }
  /// Latencies in microseconds: p50, p95, p99, max.
  void latencies(const std::vector<double>& us) {
    json_["p50_us"] = percentile(us, 0.50);
    json_["p95_us"] = percentile(us, 0.95);
    json_["p99_us"] = percentile(us, 0.99);
    json_["max_us"] = us.empty() ? 0.0 : *std::max_element(us.begin(), us.end());
  }
  /// Stored bytes per message as the server counts them (subject, headers, body, record).
  void message_size(std::uint64_t bytes, std::uint64_t messages) {
    if (messages > 0) json_["stored_bytes_per_msg"] = bytes / messages;
  }
  void print() {
    json_["rss_peak_mb"] = static_cast<double>(proc_status("VmHWM")) / 1024.0;
    json_["threads"] = proc_status("Threads");
    std::cout << boost::json::serialize(json_) << std::endl;
  }

 private:
  boost::json::object json_;
};

}  // namespace bench

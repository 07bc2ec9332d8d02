#include "summary.hpp"

#include "bench_common.hpp"

#include <boost/json.hpp>

#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace bench {
namespace {

namespace json = boost::json;

const std::vector<std::string> metrics = {"msgs_per_s",
                                          "p50_us",
                                          "p95_us",
                                          "p99_us",
                                          "max_us",
                                          "rss_peak_mb",
                                          "threads",
                                          "stored_bytes_per_msg",
                                          "setup_s",
                                          "direct_msgs_per_s",
                                          "relay_vs_direct",
                                          "commits",
                                          "pending",
                                          "without_store_msgs_per_s",
                                          "store_vs_none",
                                          "cpu_us_per_msg",
                                          "allocs_per_msg",
                                          "next_msgs_per_s",
                                          "next_cpu_us_per_msg"};

/// How a row's figure is judged.
enum class rule {
  none,               ///< shown for information
  ratio_at_least,     ///< natscoro/raw >= value
  ratio_at_most,      ///< natscoro/raw <= value
  natscoro_at_least,  ///< natscoro's own figure >= value
  natscoro_below,     ///< natscoro's own figure < value
  natscoro_at_most,   ///< natscoro's own figure <= value
};

struct row_spec {
  char workload;
  std::string metric;
  std::string label;
  rule how = rule::none;
  double value = 0;
  std::string target{};
  bool charted = true;       ///< drawn in the ratio chart (false where the two figures are not alike)
  std::string raw_metric{};  ///< raw nats.c's figure to compare with, when not `metric`
};

// The targets, and the figures shown beside them. A ratio is natscoro's
// figure over the same-job baseline where raw nats.c ran one (A, C, E), else over
// the minimal one; every workload shows its CPU and allocations per message.
const std::vector<row_spec> rows = {
    {'A', "msgs_per_s", "msgs/s", rule::ratio_at_least, 0.9, ">= 0.9 x raw"},
    {'A', "cpu_us_per_msg", "CPU us/msg", rule::ratio_at_most, 1.25, "<= 1.25 x raw"},
    {'A', "allocs_per_msg", "allocs/msg", rule::none, 0, "", false},
    {'A', "stored_bytes_per_msg", "stored bytes/msg", rule::none, 0, "", false},
    {'B', "p99_us", "p99 us", rule::ratio_at_most, 1.3, "<= 1.3 x raw"},
    {'B', "p95_us", "p95 us"},
    {'B', "p50_us", "p50 us", rule::ratio_at_most, 1.2, "<= 1.2 x raw"},
    {'B', "msgs_per_s", "msgs/s"},
    {'B', "cpu_us_per_msg", "CPU us/msg", rule::none, 0, "", false},
    {'B', "allocs_per_msg", "allocs/msg", rule::none, 0, "", false},
    {'C', "msgs_per_s", "msgs/s", rule::ratio_at_least, 1.0, ">= 1.0 x raw"},
    {'C', "cpu_us_per_msg", "CPU us/msg", rule::ratio_at_most, 1.25, "<= 1.25 x raw"},
    {'C', "allocs_per_msg", "allocs/msg", rule::none, 0, "", false},
    // natscoro's C takes half the backlog with next() (one completion per message):
    // against raw's batched figures, for scale.
    {'C', "next_msgs_per_s", "msgs/s with next()", rule::none, 0, "", false, "msgs_per_s"},
    {'C', "next_cpu_us_per_msg", "CPU us/msg with next()", rule::none, 0, "", false, "cpu_us_per_msg"},
    {'D', "p99_us", "p99 us", rule::ratio_at_most, 1.0, "<= raw"},
    {'D', "p95_us", "p95 us"},
    {'D', "p50_us", "p50 us"},
    {'D', "cpu_us_per_msg", "CPU us/msg", rule::none, 0, "", false},
    {'D', "allocs_per_msg", "allocs/msg", rule::none, 0, "", false},
    // Raw nats.c has no runner: its E is C's fetch-and-ack loop with a trivial handler.
    {'E', "msgs_per_s", "msgs/s", rule::ratio_at_least, 0.8, ">= 0.8 x raw C"},
    {'E', "cpu_us_per_msg", "CPU us/msg", rule::none, 0, "", false},
    {'E', "allocs_per_msg", "allocs/msg", rule::none, 0, "", false},
    {'F', "rss_peak_mb", "RSS MB", rule::natscoro_below, 64, "< 64"},
    {'F', "msgs_per_s", "msgs/s", rule::none, 0, "", false},  // raw handles one message at a time
    {'F', "cpu_us_per_msg", "CPU us/msg", rule::none, 0, "", false},
    {'F', "allocs_per_msg", "allocs/msg", rule::none, 0, "", false},
    {'G', "threads", "threads", rule::natscoro_at_most, 16, "<= 16"},
    {'G', "rss_peak_mb", "RSS MB", rule::natscoro_below, 200, "< 200"},
    {'G', "setup_s", "setup s", rule::none, 0, "", false},
    {'G', "cpu_us_per_msg", "CPU us/msg", rule::none, 0, "", false},
    {'G', "allocs_per_msg", "allocs/msg", rule::none, 0, "", false},
    // The outbox: raw is nats.c's pipelined publish of as many messages (no outbox).
    {'H', "msgs_per_s", "events/s stored", rule::natscoro_at_least, 50'000, ">= 50,000", false},
    {'H', "p50_us", "publish p50 us", rule::none, 0, "", false},
    {'H', "p99_us", "publish p99 us", rule::none, 0, "", false},
    {'H', "cpu_us_per_msg", "CPU us/msg", rule::none, 0, "", false},
    {'H', "allocs_per_msg", "allocs/msg", rule::none, 0, "", false},
    {'I', "relay_vs_direct", "relay / natscoro direct", rule::natscoro_at_least, 0.8, ">= 0.8", false},
    {'I', "msgs_per_s", "msgs/s", rule::none, 0, "", false},
    {'I', "cpu_us_per_msg", "CPU us/msg", rule::none, 0, "", false},
    {'I', "allocs_per_msg", "allocs/msg", rule::none, 0, "", false},
    {'J', "msgs_per_s", "msgs/s", rule::natscoro_at_least, 20'000, ">= 20,000", false},
    {'J', "relay_vs_direct", "relay / natscoro direct", rule::none, 0, "", false},
    {'J', "cpu_us_per_msg", "CPU us/msg", rule::none, 0, "", false},
    {'J', "allocs_per_msg", "allocs/msg", rule::none, 0, "", false},
    {'K', "rss_peak_mb", "RSS MB", rule::natscoro_below, 64, "< 64", false},
    {'K', "msgs_per_s", "events/s stored", rule::none, 0, "", false},
    {'K', "cpu_us_per_msg", "CPU us/msg", rule::none, 0, "", false},
    // Idempotent handling: natscoro's runner with the processed-id store against itself without.
    {'L', "msgs_per_s", "msgs/s with the store", rule::none, 0, "", false},
    {'L', "without_store_msgs_per_s", "msgs/s without", rule::none, 0, "", false},
    {'L', "store_vs_none", "with / without", rule::none, 0, "", false},
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const auto n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

using key = std::pair<std::string, std::string>;  // workload, client

struct group {
  std::size_t rounds = 0;
  std::map<std::string, std::vector<double>> values;
};

std::map<key, group> read_results(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::map<key, group> groups;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto obj = json::parse(line).as_object();
    auto& g = groups[{std::string(obj.at("workload").as_string()), std::string(obj.at("client").as_string())}];
    ++g.rounds;
    for (const auto& m : metrics)
      if (const auto* v = obj.if_contains(m)) g.values[m].push_back(v->to_number<double>());
  }
  return groups;
}

std::optional<bool> judge(const row_spec& r, double natscoro, std::optional<double> ratio) {
  switch (r.how) {
    case rule::none:
      return std::nullopt;
    case rule::ratio_at_least:
      return ratio ? std::optional(*ratio >= r.value) : std::nullopt;
    case rule::ratio_at_most:
      return ratio ? std::optional(*ratio <= r.value) : std::nullopt;
    case rule::natscoro_at_least:
      return natscoro >= r.value;
    case rule::natscoro_below:
      return natscoro < r.value;
    case rule::natscoro_at_most:
      return natscoro <= r.value;
  }
  return std::nullopt;
}

std::string figure(double v) {
  std::ostringstream s;
  if (v >= 1000)
    s << std::fixed << std::setprecision(0) << v;
  else
    s << std::fixed << std::setprecision(v >= 10 ? 1 : 2) << v;
  return s.str();
}

std::string now_utc() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

}  // namespace

int summarize(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: natscoro_bench summary RESULTS.jsonl OUT.json PLOT_DIR [MACHINE]\n";
    return 2;
  }
  const std::string results = argv[0], out_json = argv[1], plot_dir = argv[2];
  const std::string machine = argc > 3 ? argv[3] : "";
  const auto groups = read_results(results);

  // One JSON line per workload and client: the medians.
  std::map<key, json::object> medians;
  for (const auto& [k, g] : groups) {
    json::object m;
    for (const auto& [metric, values] : g.values) m[metric] = median(values);
    medians[k] = m;
    std::cout << json::serialize(
                     json::object{{"workload", k.first}, {"client", k.second}, {"rounds", g.rounds}, {"median", m}})
              << "\n";
  }

  int status = 0;
  json::array table;
  std::ofstream ratios(plot_dir + "/ratios.dat"), latency(plot_dir + "/latency.dat");
  ratios << "# label natscoro/raw target\n";
  latency << "# label natscoro_ms raw_ms\n";
  std::cout << "\n| workload | figure | natscoro | raw, same job | raw, minimal | natscoro / same job | natscoro / "
               "minimal | target | met |\n"
            << "|---|---|---:|---:|---:|---:|---:|---|---|\n";
  const auto figure_of = [&](const std::string& w, const char* client, const std::string& metric) {
    std::optional<double> v;
    if (const auto it = medians.find({w, client}); it != medians.end())
      if (const auto* p = it->second.if_contains(metric)) v = p->as_double();
    return v;
  };
  const auto ratio_of = [](double n, std::optional<double> base) {
    return base && *base > 0 ? std::optional(n / *base) : std::nullopt;
  };
  const auto shown = [](std::optional<double> v) { return v ? figure(*v) : std::string("-"); };
  for (const auto& r : rows) {
    const std::string w(1, r.workload);
    const auto spec = workload_for(r.workload, false);
    const bool ran = medians.contains({w, "natscoro"}), raw_ran = medians.contains({w, "raw"}),
               same_job_ran = medians.contains({w, "raw_same_job"});
    if (!ran && !raw_ran && !same_job_ran) continue;  // not run this time
    if (!ran || (spec.raw_baseline && !raw_ran) || (spec.same_job_baseline && !same_job_ran)) {
      std::cerr << "summary: workload " << w << " lacks "
                << (!ran                            ? "natscoro's"
                    : !raw_ran && spec.raw_baseline ? "raw's"
                                                    : "raw same-job's")
                << " results\n";
      status = 1;
      continue;
    }
    const auto nv = figure_of(w, "natscoro", r.metric);
    if (!nv) continue;
    const double n = *nv;
    const std::string& raw_metric = r.raw_metric.empty() ? r.metric : r.raw_metric;
    const auto minimal = figure_of(w, "raw", raw_metric), same_job = figure_of(w, "raw_same_job", raw_metric);
    const auto minimal_ratio = ratio_of(n, minimal), same_job_ratio = ratio_of(n, same_job);
    const auto baseline = same_job ? same_job : minimal;
    const auto ratio = same_job ? same_job_ratio : minimal_ratio;
    const auto met = judge(r, n, ratio);
    std::cout << "| " << w << " " << spec.what << " | " << r.label << " | " << figure(n) << " | " << shown(same_job)
              << " | " << shown(minimal) << " | " << shown(same_job_ratio) << " | " << shown(minimal_ratio) << " | "
              << r.target << " | " << (met ? (*met ? "yes" : "**no**") : "") << " |\n";
    json::object row{{"workload", w}, {"figure", r.label}, {"natscoro", n}};
    if (minimal) row["raw"] = *minimal;
    if (same_job) row["raw_same_job"] = *same_job;
    if (minimal_ratio) row["ratio_minimal"] = *minimal_ratio;
    if (same_job_ratio) row["ratio_same_job"] = *same_job_ratio;
    if (ratio) row["ratio"] = *ratio;
    if (!r.target.empty()) row["target"] = r.target;
    if (met) row["met"] = *met;
    table.push_back(row);
    if (ratio && r.charted) {
      const bool ratio_target = r.how == rule::ratio_at_least || r.how == rule::ratio_at_most;
      ratios << '"' << w << " " << r.label << "\" " << *ratio << " " << (ratio_target ? r.value : NAN) << "\n";
    }
    if (r.metric.ends_with("_us") && baseline)
      latency << '"' << w << " " << r.metric.substr(0, 3) << "\" " << n / 1000 << " " << *baseline / 1000 << "\n";
  }

  json::object doc{{"generated", now_utc()}, {"machine", machine}, {"rows", table}};
  json::array runs;
  for (const auto& [k, m] : medians)
    runs.push_back(
        json::object{{"workload", k.first}, {"client", k.second}, {"rounds", groups.at(k).rounds}, {"median", m}});
  doc["medians"] = runs;
  std::ofstream(out_json) << json::serialize(doc) << "\n";
  return status;
}

}  // namespace bench

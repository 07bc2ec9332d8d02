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

const std::vector<std::string> metrics = {"msgs_per_s",  "p50_us",  "p95_us",  "p99_us",
                                          "max_us",      "rss_peak_mb", "threads", "stored_bytes_per_msg",
                                          "setup_s", "direct_msgs_per_s", "relay_vs_direct", "commits", "pending",
                                          "without_store_msgs_per_s", "store_vs_none"};

/// How a row's figure is judged.
enum class rule {
  none,                ///< shown for information
  ratio_at_least,      ///< natscoro/raw >= value
  ratio_at_most,       ///< natscoro/raw <= value
  natscoro_at_least,   ///< natscoro's own figure >= value
  natscoro_below,      ///< natscoro's own figure < value
  natscoro_at_most,    ///< natscoro's own figure <= value
};

struct row_spec {
  char workload;
  std::string metric;
  std::string label;
  rule how = rule::none;
  double value = 0;
  std::string target{};
  bool charted = true;  ///< drawn in the ratio chart (false where the two figures are not alike)
};

// The targets, and the figures shown beside them.
const std::vector<row_spec> rows = {
    {'A', "msgs_per_s", "msgs/s", rule::ratio_at_least, 0.9, ">= 0.9 x raw"},
    {'A', "stored_bytes_per_msg", "stored bytes/msg", rule::none, 0, "", false},
    {'B', "p99_us", "p99 us", rule::ratio_at_most, 1.2, "<= 1.2 x raw"},
    {'B', "p95_us", "p95 us"},
    {'B', "p50_us", "p50 us"},
    {'B', "msgs_per_s", "msgs/s"},
    {'C', "msgs_per_s", "msgs/s", rule::ratio_at_least, 1.0, ">= 1.0 x raw"},
    {'D', "p99_us", "p99 us", rule::ratio_at_most, 1.0, "<= raw"},
    {'D', "p95_us", "p95 us"},
    {'D', "p50_us", "p50 us"},
    {'E', "msgs_per_s", "msgs/s", rule::natscoro_at_least, 100'000, ">= 100,000"},
    {'F', "rss_peak_mb", "RSS MB", rule::natscoro_below, 64, "< 64"},
    {'F', "msgs_per_s", "msgs/s", rule::none, 0, "", false},  // raw handles one message at a time
    {'G', "threads", "threads", rule::natscoro_at_most, 16, "<= 16"},
    {'G', "rss_peak_mb", "RSS MB", rule::natscoro_below, 200, "< 200"},
    {'G', "setup_s", "setup s", rule::none, 0, "", false},
    // The outbox: raw is nats.c's pipelined publish of as many messages (no outbox).
    {'H', "msgs_per_s", "events/s stored", rule::natscoro_at_least, 50'000, ">= 50,000", false},
    {'H', "p50_us", "publish p50 us", rule::none, 0, "", false},
    {'H', "p99_us", "publish p99 us", rule::none, 0, "", false},
    {'I', "relay_vs_direct", "relay / natscoro direct", rule::natscoro_at_least, 0.8, ">= 0.8", false},
    {'I', "msgs_per_s", "msgs/s", rule::none, 0, "", false},
    {'J', "msgs_per_s", "msgs/s", rule::natscoro_at_least, 20'000, ">= 20,000", false},
    {'J', "relay_vs_direct", "relay / natscoro direct", rule::none, 0, "", false},
    {'K', "rss_peak_mb", "RSS MB", rule::natscoro_below, 64, "< 64", false},
    {'K', "msgs_per_s", "events/s stored", rule::none, 0, "", false},
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
    case rule::none: return std::nullopt;
    case rule::ratio_at_least: return ratio ? std::optional(*ratio >= r.value) : std::nullopt;
    case rule::ratio_at_most: return ratio ? std::optional(*ratio <= r.value) : std::nullopt;
    case rule::natscoro_at_least: return natscoro >= r.value;
    case rule::natscoro_below: return natscoro < r.value;
    case rule::natscoro_at_most: return natscoro <= r.value;
  }
  return std::nullopt;
}

std::string figure(double v) {
  std::ostringstream s;
  if (v >= 1000) s << std::fixed << std::setprecision(0) << v;
  else s << std::fixed << std::setprecision(v >= 10 ? 1 : 2) << v;
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
    std::cout << json::serialize(json::object{{"workload", k.first},
                                              {"client", k.second},
                                              {"rounds", g.rounds},
                                              {"median", m}})
              << "\n";
  }

  int status = 0;
  json::array table;
  std::ofstream ratios(plot_dir + "/ratios.dat"), latency(plot_dir + "/latency.dat");
  ratios << "# label natscoro/raw target\n";
  latency << "# label natscoro_ms raw_ms\n";
  std::cout << "\n| workload | figure | natscoro | raw nats.c | natscoro/raw | target | met |\n"
            << "|---|---|---:|---:|---:|---|---|\n";
  for (const auto& r : rows) {
    const std::string w(1, r.workload);
    const auto ours = medians.find({w, "natscoro"});
    const auto raw = medians.find({w, "raw"});
    const bool raw_expected = workload_for(r.workload, false).raw_baseline;
    if (ours == medians.end() && raw == medians.end()) continue;  // not run this time
    if (ours == medians.end() || (raw == medians.end() && raw_expected)) {
      std::cerr << "summary: workload " << w << " lacks " << (ours == medians.end() ? "natscoro's" : "raw's")
                << " results\n";
      status = 1;
      continue;
    }
    const auto* nv = ours->second.if_contains(r.metric);
    if (nv == nullptr) continue;
    const double n = nv->as_double();
    std::optional<double> rv, ratio;
    if (const auto* v = raw != medians.end() ? raw->second.if_contains(r.metric) : nullptr) {
      rv = v->as_double();
      if (*rv > 0) ratio = n / *rv;
    }
    const auto met = judge(r, n, ratio);
    std::cout << "| " << w << " " << workload_for(r.workload, false).what << " | " << r.label << " | " << figure(n)
              << " | " << (rv ? figure(*rv) : "-") << " | " << (ratio ? figure(*ratio) : "-") << " | "
              << (r.target.empty() ? "" : r.target) << " | " << (met ? (*met ? "yes" : "**no**") : "") << " |\n";
    json::object row{{"workload", w}, {"figure", r.label}, {"natscoro", n}};
    if (rv) row["raw"] = *rv;
    if (ratio) row["ratio"] = *ratio;
    if (!r.target.empty()) row["target"] = r.target;
    if (met) row["met"] = *met;
    table.push_back(row);
    if (ratio && r.charted) {
      const bool ratio_target = r.how == rule::ratio_at_least || r.how == rule::ratio_at_most;
      ratios << '"' << w << " " << r.label << "\" " << *ratio << " " << (ratio_target ? r.value : NAN) << "\n";
    }
    if (r.metric.ends_with("_us") && rv)
      latency << '"' << w << " " << r.metric.substr(0, 3) << "\" " << n / 1000 << " " << *rv / 1000 << "\n";
  }

  json::object doc{{"generated", now_utc()}, {"machine", machine}, {"rows", table}};
  json::array runs;
  for (const auto& [k, m] : medians)
    runs.push_back(json::object{{"workload", k.first}, {"client", k.second}, {"rounds", groups.at(k).rounds}, {"median", m}});
  doc["medians"] = runs;
  std::ofstream(out_json) << json::serialize(doc) << "\n";
  return status;
}

}  // namespace bench

// What natscoro's objects count, for operators: counters, gauges and latency
// histograms of connections, publishers, consumers (with their runner) and
// outboxes, in the Prometheus text exposition format. metrics_server.hpp serves
// it over HTTP; any other exporter can take exposition() as it is.
//
//   natscoro::metrics m;
//   m.add("orders", publisher);
//   m.add("billing", consumer);   // its runner's counters too
//   std::string text = m.exposition();
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace natscoro {

class connection;
class publisher;
class consumer;
namespace detail {
class exposition;
class outbox_handle;
}  // namespace detail

class metrics {
 public:
  metrics() = default;
  metrics(const metrics&) = delete;
  metrics& operator=(const metrics&) = delete;

  /// Reports the object under the label `name` for as long as it exists (the
  /// registry does not keep it alive; once it is gone its lines go too). Safe from
  /// any thread, as is exposition().
  void add(std::string name, const connection& conn);
  void add(std::string name, const publisher& pub);
  /// The consumer instance and the counters of its current or last run().
  void add(std::string name, const consumer& cons);
  /// An outbox or a postgres_outbox.
  void add(std::string name, const detail::outbox_handle& box);

  /// Every metric family with its HELP and TYPE lines (text format 0.0.4;
  /// Content-Type "text/plain; version=0.0.4"). Names are natscoro_*; see
  /// docs/operations.md for each.
  std::string exposition() const;

 private:
  /// Writes one object's samples; false once the object is gone.
  using source = std::function<bool(detail::exposition&)>;
  void add_source(source s);

  mutable std::mutex mutex_;
  mutable std::vector<source> sources_;
};

}  // namespace natscoro

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

#include <chrono>
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

  /// What is unhealthy now, one line each: a registered connection without a link,
  /// an outbox whose oldest pending event is older than `max_outbox_age`. Empty: healthy.
  std::vector<std::string> problems(std::chrono::milliseconds max_outbox_age) const;

 private:
  /// Writes one object's samples; false once the object is gone.
  using source = std::function<bool(detail::exposition&)>;
  /// Adds what is unhealthy about one object to the list; false once the object is gone.
  using check = std::function<bool(std::chrono::milliseconds max_outbox_age, std::vector<std::string>&)>;
  void add_source(source s, check c = nullptr);

  mutable std::mutex mutex_;
  mutable std::vector<source> sources_;
  mutable std::vector<check> checks_;
};

}  // namespace natscoro

// Declarative streams and consumers: a topology read from JSON, planned against
// the server and applied idempotently.
#pragma once

#include <natscoro/diagnostics.hpp>
#include <natscoro/jetstream.hpp>
#include <natscoro/units.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/deferred.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace natscoro {

struct consumer_entry {
  std::string stream;
  consumer_config config;
};

struct topology {
  std::vector<stream_config> streams;
  std::vector<consumer_entry> consumers;
};

/// Parses a topology file's text: {"streams": [...], "consumers": [...]} with the
/// field names of stream_config and consumer_config (plus "stream" on a consumer),
/// durations as parse_duration() and sizes as parse_size() (or plain numbers).
/// Checks everything before anything is applied: names, required fields, types,
/// units, that no two streams' subjects overlap and that each consumer's stream is
/// in the file. Throws natscoro::error (errc::invalid_argument) whose what() says
/// where and what, e.g. `streams[1] "ORDERS": max_age: expected a duration like
/// "7d", got "7x"`. Unknown fields are errors.
topology parse_topology(std::string_view json_text);

/// parse_topology() of a file; the error names the file too.
topology load_topology(const std::string& path);

/// The same topology with every stream replicated `replicas` times (consumers
/// follow their stream): one file for a single development server and for a
/// production cluster ("natscoro apply FILE --replicas 3"). Throws natscoro::error
/// (errc::out_of_range) unless 1 <= replicas <= 5, what JetStream allows.
topology with_replicas(topology t, int replicas);

/// One line of a plan: what applying does (or did) to a stream or consumer.
struct topology_change {
  enum class kind { stream, consumer };
  kind what = kind::stream;
  std::string name;  ///< "STREAM" or "STREAM/consumer"
  ensure_result result = ensure_result::unchanged;
  std::string fields;  ///< for updates: "field: server X, wanted Y; ..."
};

namespace detail {
void async_apply_topology(const jetstream& js, topology t, bool dry_run,
                          boost::asio::any_completion_handler<void(error_code, std::vector<topology_change>)> handler);
}

/// Applies `t`: streams first, then consumers, each created, updated or left as it is.
/// First the whole plan is made (info of each, compared with the file); if any item
/// differs in what the server cannot change, nothing is applied.
/// Waits for: an info request per item, then a create or update per item that needs one.
/// Completion: `void(error_code, std::vector<topology_change>)`: the plan, as applied
///   (with `dry_run`, as it would be).
/// Errors: errc::config_mismatch (the log and the returned plan name the fields),
///   the server's errors (e.g. jetstream_errc::subjects_overlap with a stream not in
///   the file), nats_errc::timeout, errc::not_connected. The changes are returned up
///   to the one that failed.
/// Cancellation: terminal only: completes with operation_aborted at once; what was
///   applied stays applied, and the request in flight may still take effect.
template <class CompletionToken = natscoro::default_token_t>
auto apply_topology(const jetstream& js, topology t, bool dry_run, CompletionToken&& token = {}) {
  return boost::asio::async_initiate<CompletionToken, void(error_code, std::vector<topology_change>)>(
      [](auto handler, jetstream j, topology top, bool dry) {
        detail::async_apply_topology(j, std::move(top), dry, std::move(handler));
      },
      token, js, std::move(t), dry_run);
}

}  // namespace natscoro

// The handler runner's options and counters: consumer::run() calls a coroutine for
// each message with bounded concurrency, ordering per key, retries and a dead-letter queue.
#pragma once

#include <natscoro/consumer.hpp>
#include <natscoro/latency_histogram.hpp>
#include <natscoro/message.hpp>
#include <natscoro/retry_policy.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>

namespace natscoro {

/// Thrown by a handler when the message can never succeed: it is dead-lettered
/// at once, without further attempts.
class permanent_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Gives a message its ordering key: messages with the same non-empty key are
/// handled one at a time, in stream order.
using ordering_key_function = std::function<std::string(const message&)>;

/// The key is token `index` of the subject, counting from 0
/// ("auth.user.42.created" with index 2 gives "42"); empty when there is no such token.
ordering_key_function key_by_subject_token(std::size_t index);

struct dead_letter_options {
  /// The dead-letter stream; created (subjects "<subject_prefix>.>", file storage,
  /// limits retention) if missing.
  std::string stream{};
  /// A dead-lettered message goes to "<subject_prefix>.<original subject>".
  std::string subject_prefix = "dlq";
  /// Also dead-letter messages the server gives up on without a handler result
  /// (the process died on each delivery until the consumer's max_deliver ran out):
  /// the server's max-deliveries advisories for this consumer are kept in
  /// `advisory_stream` (created if missing) and the messages they name are moved.
  bool capture_max_deliveries = true;
  std::string advisory_stream = "NATSCORO_MAX_DELIVERIES";
  /// When the DLQ holds more than this many messages (checked after each
  /// dead-letter), `on_alert(count)` runs on the consumer's executor, once per
  /// crossing: again only after the count has gone back to the threshold. 0: never.
  std::uint64_t alert_threshold = 0;
  std::function<void(std::uint64_t messages)> on_alert{};
};

/// Idempotent handling: the ids of events handled successfully are recorded in a
/// JetStream key-value bucket, and a message whose event id is recorded is
/// acknowledged without calling the handler. Records survive restarts and are
/// shared by every instance of the consumer. What remains: a crash between the
/// handler's success and the record means the handler runs again for that event.
struct processed_id_options {
  /// The bucket (stream "KV_<bucket>", subjects "$KV.<bucket>.>", as nats.c and the
  /// nats CLI make them), created if missing. Keys are per consumer: one bucket can
  /// serve several. Letters, digits, '-' and '_'.
  std::string bucket{};
  /// How long an id is remembered: longer than a message can take to come back
  /// (ack_wait x max_deliver, outages, replays of the stream).
  std::chrono::seconds ttl{std::chrono::hours(24)};
  /// Replicas of the bucket when it is created (3 on a production cluster).
  int replicas = 1;
};

struct run_options {
  /// Handlers running at once, at most.
  std::size_t concurrency = 16;
  /// Empty: no ordering; failures are nak'ed with the retry delay.
  ordering_key_function ordering_key{};
  /// Attempts per message, counted from the server's delivery count (so a crash
  /// in between counts), and the delays between them.
  retry_policy retry{5, {std::chrono::seconds(1), std::chrono::seconds(5)}};
  /// Where messages go after their last attempt. Without one they are terminated
  /// and logged at error level, with the failure.
  std::optional<dead_letter_options> dead_letter{};
  /// How long running handlers get when run() is cancelled (consumer::drain()
  /// brings its own deadline).
  std::chrono::milliseconds drain_deadline{std::chrono::seconds(30)};
  /// Where handlers run, each on a strand of it; empty: the consumer's executor.
  boost::asio::any_io_executor handler_executor{};
  /// Skip events handled before (by event id, see processed_id_options). The
  /// store's failures do not stop handling: the event is handled (and acknowledged)
  /// as without a store, logged and counted in runner_stats::processed_id_failures.
  std::optional<processed_id_options> processed_ids{};
};

struct runner_stats {
  std::uint64_t handled = 0;               ///< handlers that succeeded (message acknowledged)
  std::uint64_t failed_attempts = 0;       ///< handler attempts that threw
  std::uint64_t retried = 0;               ///< attempts that will be (or were) made again
  std::uint64_t dead_lettered = 0;         ///< stored in the DLQ, then terminated
  std::uint64_t dead_letter_failures = 0;  ///< DLQ publishes that failed (original nak'ed)
  std::uint64_t terminated = 0;            ///< out of attempts with no DLQ configured
  std::uint64_t given_back = 0;            ///< nak'ed by a drain, not started or past the deadline
  std::uint64_t moved_by_advisory = 0;     ///< dead-lettered from a max-deliveries advisory
  /// Messages in the dead-letter stream, as last read: when the run starts, after
  /// each dead-letter, and every 10 s (an operator's replays lower it).
  std::uint64_t dead_letter_queue_messages = 0;
  std::uint64_t already_processed = 0;      ///< acknowledged without the handler: the event id was recorded
  std::uint64_t processed_id_failures = 0;  ///< lookups or records of the processed-id store that failed
  std::size_t in_flight = 0;                ///< handlers running now
  std::size_t in_flight_high_water = 0;     ///< the most handlers ever running at once
  std::size_t queued = 0;                   ///< received, waiting for their turn
  std::size_t lane_high_water = 0;          ///< the longest backlog one key has had
  /// From the stream storing a message to its handler succeeding (the server's clock
  /// against this host's: skew between them shows here).
  latency_histogram stream_to_handled;
};

}  // namespace natscoro

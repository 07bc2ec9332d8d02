// The configuration of a durable pull consumer, and the client-side options of a consumer.
#pragma once

#include <natscoro/envelope.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace natscoro {

enum class deliver_policy {
  all,                ///< from the first message the stream holds
  last,               ///< from the last message
  new_messages,       ///< only messages stored after the consumer is created
  last_per_subject,   ///< the last message of each subject, then new ones
  by_start_sequence,  ///< from consumer_config::start_sequence (replay)
  by_start_time,      ///< from consumer_config::start_time (replay)
};

enum class ack_policy {
  explicit_each,  ///< every message is acknowledged (ack, nak, term); what run() needs. The default
  none,           ///< nothing is acknowledged: delivered is done (replays, monitors); no redelivery
};

struct consumer_config {
  std::string durable{};  ///< the consumer's name (empty only for jetstream::ephemeral_consumer())
  std::string description{};
  std::string filter_subject{};  ///< empty: every subject of the stream
  deliver_policy deliver = deliver_policy::all;
  std::uint64_t start_sequence = 0;                                   ///< with by_start_sequence
  std::optional<std::chrono::system_clock::time_point> start_time{};  ///< with by_start_time
  ack_policy ack = ack_policy::explicit_each;
  std::chrono::nanoseconds ack_wait{std::chrono::seconds(30)};  ///< redelivery after this without ack
  int max_deliver = -1;                                         ///< -1: unlimited
  std::vector<std::chrono::nanoseconds> backoff{};              ///< redelivery delays (overrides ack_wait)
  int max_ack_pending = 1000;  ///< delivered but unacknowledged, at most (not sent with ack_policy::none)
  std::chrono::nanoseconds inactive_threshold{0};  ///< ephemeral consumers: removed after this idle
  int replicas = 0;                                ///< 0: as the stream
};

/// How a consumer object pulls (client side; the server does not know these).
struct consumer_options {
  /// Messages held received but not yet handed out by next(), at most. Pull requests ask only for free room.
  std::size_t capacity = 256;
  /// How long one pull request waits on the server.
  std::chrono::milliseconds pull_expiry{std::chrono::seconds(30)};
  /// The server's idle heartbeat while a pull request waits; two missed ones mean a fresh pull.
  std::chrono::milliseconds idle_heartbeat{std::chrono::seconds(5)};
  /// Update the consumer's configuration where it differs and the server allows it,
  /// instead of failing with the list of differences.
  bool update = false;
  /// How messages carry events: what msg.event(), the runner and the event router
  /// read (envelope.hpp). Messages that do not decode are dead-lettered by run().
  natscoro::envelope envelope = natscoro::envelope::cloudevents();
};

}  // namespace natscoro

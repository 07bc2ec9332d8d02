// Bounded replay: the messages a stream holds between two positions (sequence or
// time), read in stream order by an ephemeral ordered consumer that is deleted at
// the end. For rebuilding a projection, auditing a day, re-running an incident.
#pragma once

#include <natscoro/consumer_config.hpp>
#include <natscoro/diagnostics.hpp>
#include <natscoro/envelope.hpp>
#include <natscoro/jetstream.hpp>
#include <natscoro/message.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/deferred.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>

namespace natscoro {

namespace detail {
class replay_core;
}

/// A position in a stream: a stream sequence, or the time the stream stored a message.
using stream_position = std::variant<std::uint64_t, std::chrono::system_clock::time_point>;

struct replay_range {
  stream_position from = std::uint64_t{1};  ///< the first message: at or after this sequence or time
  /// The last message: at or before this sequence or time. The replay never goes
  /// past the stream's last message at open(): what is stored later is not part of it.
  stream_position to = std::uint64_t{UINT64_MAX};
  std::string filter_subject{};  ///< empty: every subject of the stream
};

struct replay_options {
  /// Messages held received but not yet handed out, at most (consumer_options::capacity).
  std::size_t capacity = 256;
  /// How next() reads events from messages.
  natscoro::envelope envelope = natscoro::envelope::cloudevents();
  /// The server deletes the consumer after this long without a pull: what remains
  /// if the process dies mid-replay. A replay that outlives it carries on with a new one.
  std::chrono::seconds inactive_threshold{30};
};

struct replay_stats {
  std::uint64_t delivered = 0;     ///< messages handed out by next()
  std::uint64_t restarts = 0;      ///< consumers re-created after a gap (messages lost in a reconnect) or their loss
  std::uint64_t end_sequence = 0;  ///< the last stream sequence the replay may reach
};

/// One replay. Cheap to copy; safe from any thread. Messages need
/// no acknowledgement (the consumer acknowledges nothing). Destroying the last
/// handle before the end deletes the consumer in the background.
class replay {
 public:
  replay() = default;

  /// Starts a replay of `range` on `stream`.
  ///
  /// Waits for: the stream's info (its last sequence becomes the end bound), then
  ///   the consumer's creation.
  /// Completion: `void(error_code, replay)`.
  /// Errors: errc::invalid_argument (an invalid stream name or filter, or `from`
  ///   after `to` when both are sequences or both times; logged),
  ///   jetstream_errc::stream_not_found, nats_errc::timeout, errc::not_connected.
  /// Cancellation: terminal only: completes with operation_aborted at once; a replay opened
  ///   afterwards is closed (its consumer deleted). Partial and total are ignored.
  template <boost::asio::completion_token_for<void(error_code, replay)> CompletionToken = natscoro::default_token_t>
  static auto open(const jetstream& js, std::string stream, replay_range range, replay_options opts = {},
                   CompletionToken&& token = {}) {
    return boost::asio::async_initiate<CompletionToken, void(error_code, replay)>(
        [](auto handler, jetstream j, std::string s, replay_range r, replay_options o) {
          async_open(std::move(j), std::move(s), std::move(r), std::move(o), std::move(handler));
        },
        token, js, std::move(stream), std::move(range), std::move(opts));
  }

  /// The next message of the range, in stream order, each once.
  ///
  /// Waits for: a message (pulling as capacity allows). A gap in the consumer's
  ///   deliveries (a reconnect lost some) or the consumer's loss starts a new
  ///   consumer after the last message handed out.
  /// Completion: `void(error_code, std::optional<message>)`; an empty optional at
  ///   the end of the range, once the consumer is deleted.
  /// Errors: jetstream_errc::stream_not_found (deleted meanwhile), nats_errc::timeout,
  ///   errc::not_connected.
  /// Cancellation: any type; completes with operation_aborted; nothing is lost
  ///   (a message that arrives afterwards stays for the next call).
  template <class CompletionToken = natscoro::default_token_t>
  auto next(CompletionToken&& token = {}) {
    return boost::asio::async_initiate<CompletionToken, void(error_code, std::optional<message>)>(
        [](auto handler, std::shared_ptr<detail::replay_core> c) { async_next(c, std::move(handler)); }, token, core_);
  }

  /// Ends the replay early: deletes the consumer.
  /// Waits for: the server's reply.
  /// Completion: `void(error_code)`.
  /// Errors: as for the JetStream API: nats_errc::timeout, errc::not_connected (none if
  ///   the replay had ended).
  /// Cancellation: terminal only: completes with operation_aborted at once; the close goes on.
  template <class CompletionToken = natscoro::default_token_t>
  auto close(CompletionToken&& token = {}) {
    return boost::asio::async_initiate<CompletionToken, void(error_code)>(
        [](auto handler, std::shared_ptr<detail::replay_core> c) { async_close(c, std::move(handler)); }, token, core_);
  }

  replay_stats stats() const;

  explicit replay(std::shared_ptr<void> owner, std::shared_ptr<detail::replay_core> core)
      : owner_(std::move(owner)), core_(std::move(core)) {}

 private:
  static void async_open(jetstream js, std::string stream, replay_range range, replay_options opts,
                         boost::asio::any_completion_handler<void(error_code, replay)> handler);
  static void async_next(const std::shared_ptr<detail::replay_core>& core,
                         boost::asio::any_completion_handler<void(error_code, std::optional<message>)> handler);
  static void async_close(const std::shared_ptr<detail::replay_core>& core,
                          boost::asio::any_completion_handler<void(error_code)> handler);

  std::shared_ptr<void> owner_;
  std::shared_ptr<detail::replay_core> core_;
};

}  // namespace natscoro

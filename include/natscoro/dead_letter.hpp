// The dead-letter queue's tools: list what failed and why, replay it.
#pragma once

#include <natscoro/diagnostics.hpp>
#include <natscoro/header_list.hpp>
#include <natscoro/jetstream.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/deferred.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace natscoro {

/// A message in the dead-letter stream, with the failure natscoro recorded.
struct dead_letter_entry {
  std::uint64_t sequence = 0;  ///< in the dead-letter stream
  std::string subject{};       ///< in the dead-letter stream ("<prefix>.<original subject>")
  std::string original_stream{};
  std::string original_subject{};
  std::uint64_t original_sequence = 0;
  std::string consumer{};
  std::uint64_t deliveries = 0;
  std::string error{};      ///< what the last attempt met
  std::string failed_at{};  ///< RFC 3339
  header_list headers{};    ///< all of them, the original ones included
  std::string data{};       ///< the original body, untouched
};

namespace detail {
class dead_letter_queue_core;
}

/// One dead-letter stream. Safe from any thread.
class dead_letter_queue {
 public:
  dead_letter_queue(const jetstream& js, std::string stream);

  /// The entries from `from_sequence` on, oldest first, at most `limit`.
  /// Waits for: one STREAM.MSG.GET request per entry (the server skips deleted ones).
  /// Completion: `void(error_code, std::vector<dead_letter_entry>)`.
  /// Errors: jetstream_errc::stream_not_found, errc::invalid_argument (a stream name
  ///   that is not a valid name), nats_errc::timeout, errc::not_connected.
  /// Cancellation: terminal only: completes with operation_aborted at once. Partial and total are ignored.
  template <class CompletionToken = natscoro::default_token_t>
  auto list(std::uint64_t from_sequence, std::size_t limit, CompletionToken&& token = {}) {
    return boost::asio::async_initiate<CompletionToken, void(error_code, std::vector<dead_letter_entry>)>(
        [](auto h, std::shared_ptr<detail::dead_letter_queue_core> c, std::uint64_t from, std::size_t n) {
          async_list(c, from, n, std::move(h));
        },
        token, core_, from_sequence, limit);
  }

  /// Publishes entry `sequence` back to its original subject and then deletes it
  /// from the dead-letter stream. Body and original headers are untouched (the
  /// CloudEvent keeps its id, so idempotent handlers still know it), except that the
  /// Natscoro- failure headers and every Nats- header are removed. It goes out under
  /// a new Nats-Msg-Id, recorded in the header Natscoro-Replay-Id (the original id
  /// would be dropped as a duplicate within the stream's duplicate window), with
  /// Natscoro-Replayed-From "<dlq>:<sequence>" and Nats-Expected-Stream.
  ///
  /// An entry is only as trustworthy as whoever may publish to the DLQ's subjects, so
  /// the target is checked against the server's configuration first: the original
  /// subject must be covered by the subjects of the entry's original stream (read
  /// with a stream info), and must not be a '$' (API, system) or _INBOX subject; the
  /// server then refuses to store it in any other stream. A refused entry stays in
  /// the DLQ for inspection.
  /// Waits for: the entry, the original stream's info, the PubAck, then the delete.
  /// Completion: `void(error_code, pub_ack)`: the republished message's PubAck.
  /// Errors: errc::replay_refused (the log says why), jetstream_errc::no_message_found
  ///   (no such entry), jetstream_errc::stream_not_found (its original stream is gone),
  ///   the publish's errors; a failed delete after the PubAck is its error too (the
  ///   entry stays, and replaying it again is safe only if handlers are idempotent).
  /// Cancellation: terminal only: completes with operation_aborted at once; what was
  ///   replayed stays replayed. Partial and total are ignored.
  template <class CompletionToken = natscoro::default_token_t>
  auto replay(std::uint64_t sequence, CompletionToken&& token = {}) {
    return boost::asio::async_initiate<CompletionToken, void(error_code, pub_ack)>(
        [](auto h, std::shared_ptr<detail::dead_letter_queue_core> c, std::uint64_t seq) {
          async_replay(c, seq, std::move(h));
        },
        token, core_, sequence);
  }

  /// Replays every entry there at the start (up to the DLQ's last sequence then),
  /// oldest first, one at a time: it holds one entry in memory, however long the DLQ.
  /// Entries it refuses (see replay()) are skipped and left in place; it stops at
  /// any other failure.
  /// Waits for: each entry's replay in turn (as replay()).
  /// Completion: `void(error_code, std::size_t replayed)`. Errors: errc::replay_refused
  ///   when every other entry was replayed but some were refused; otherwise as replay().
  /// Cancellation: terminal only: completes with operation_aborted at once; what was
  ///   replayed stays replayed. Partial and total are ignored.
  template <class CompletionToken = natscoro::default_token_t>
  auto replay_all(CompletionToken&& token = {}) {
    return boost::asio::async_initiate<CompletionToken, void(error_code, std::size_t)>(
        [](auto h, std::shared_ptr<detail::dead_letter_queue_core> c) { async_replay_all(c, std::move(h)); }, token,
        core_);
  }

 private:
  static void async_list(const std::shared_ptr<detail::dead_letter_queue_core>& core, std::uint64_t from,
                         std::size_t limit,
                         boost::asio::any_completion_handler<void(error_code, std::vector<dead_letter_entry>)> h);
  static void async_replay(const std::shared_ptr<detail::dead_letter_queue_core>& core, std::uint64_t sequence,
                           boost::asio::any_completion_handler<void(error_code, pub_ack)> h);
  static void async_replay_all(const std::shared_ptr<detail::dead_letter_queue_core>& core,
                               boost::asio::any_completion_handler<void(error_code, std::size_t)> h);

  std::shared_ptr<detail::dead_letter_queue_core> core_;
};

}  // namespace natscoro

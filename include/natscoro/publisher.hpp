// Publishing events to JetStream with a verified PubAck.
#pragma once

#include <natscoro/diagnostics.hpp>
#include <natscoro/event.hpp>
#include <natscoro/header_list.hpp>
#include <natscoro/jetstream.hpp>
#include <natscoro/latency_histogram.hpp>
#include <natscoro/retry_policy.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace natscoro {

struct publisher_options {
  std::string source{};          ///< CloudEvents "source" for events that have none
  std::string subject_prefix{};  ///< subject = subject_prefix + "." + event type, unless one is given
  /// Builds the subject from the event instead, unless one is given: literal text and
  /// {type}, {subject} (CloudEvents subject: the entity key), {organization} or
  /// {<extension>}, e.g. "orders.{subject}.{type}". Each but {type} fills one token.
  /// An invalid template makes every publish without a subject fail with
  /// errc::invalid_argument; a value that cannot fill its token, with invalid_subject.
  std::string subject_template{};
  event_encoding encoding = event_encoding::structured;
  bool require_organization = true;  ///< refuse events without organizationid (tenant)
  /// Publishes sent and not yet acknowledged, at most; past it publish() waits for room.
  std::size_t max_in_flight = 2048;
  std::chrono::milliseconds ack_timeout{5000};  ///< per attempt
  /// For timeouts, no responders and disconnects: 3 retries after 1 s, 2 s, 4 s (±20 %).
  retry_policy retry{4, {std::chrono::seconds(1), std::chrono::seconds(2), std::chrono::seconds(4)}};
};

/// Optimistic concurrency: the stream stores the event only if these hold.
struct publish_expectations {
  std::optional<std::string> stream{};                   ///< Nats-Expected-Stream
  std::optional<std::uint64_t> last_sequence{};          ///< Nats-Expected-Last-Sequence
  std::optional<std::uint64_t> last_subject_sequence{};  ///< Nats-Expected-Last-Subject-Sequence
  std::optional<std::string> last_event_id{};            ///< Nats-Expected-Last-Msg-Id
};

/// A message published byte for byte: for what is not a CloudEvent, or must keep
/// its body and headers untouched (dead-lettering, replay).
struct raw_message {
  std::string subject{};
  header_list headers{};
  std::string data{};
  /// Nats-Msg-Id: the stream stores the message once per id within its duplicate
  /// window (a Nats-Msg-Id among `headers` is replaced). Empty: a new UUID v4.
  std::string id{};
};

struct publisher_stats {
  std::uint64_t published = 0;     ///< publishes started
  std::uint64_t acknowledged = 0;  ///< PubAcks received (duplicates included)
  std::uint64_t duplicates = 0;    ///< PubAcks saying the stream had the event already
  std::uint64_t retried = 0;       ///< attempts after the first
  std::uint64_t failed = 0;        ///< publishes completed with an error
  std::size_t in_flight = 0;       ///< sent, no PubAck yet
  std::size_t waiting = 0;         ///< waiting for room in the window
  latency_histogram ack_latency;   ///< from publish() to its PubAck, retries included (acknowledged ones)
};

namespace detail {
class publisher_core;
class outbox_core;
struct prepared_publish;
struct access;
/// A publisher's counters from its core (metrics reads them while the core lives).
publisher_stats stats_of(const publisher_core& core);

}  // namespace detail

/// Publishes CloudEvents and completes each publish only on its PubAck.
/// Thread safety: every member may be called from any thread, on one publisher
/// concurrently (docs/threading.md). Destroying it fails what is still pending
/// with errc::closing (those events may still have been stored).
class publisher {
 public:
  publisher(const jetstream& js, publisher_options opts);
  ~publisher();
  publisher(publisher&&) noexcept;
  publisher& operator=(publisher&&) noexcept;

  boost::asio::any_io_executor get_executor() const;

  /// Publishes `evt` to `subject` (empty: subject_prefix + "." + evt.type).
  ///
  /// Before sending, in the call itself: an empty id gets a UUID v4, an empty
  /// source the publisher's, an unset time now; the event and the subject are
  /// validated, the event encoded and its size checked against the server's max_payload.
  /// Waits for: room in the window (max_in_flight), then the PubAck; an attempt
  ///   that times out (ack_timeout), finds no stream (no responders) or finds no
  ///   link (reconnecting: it is not written) is retried per `retry` with the same
  ///   Nats-Msg-Id, so the stream stores it once. When the link comes back, what
  ///   is in flight is sent again at once.
  /// Completion: `void(error_code, pub_ack)`.
  /// Errors, before sending: errc::invalid_event, errc::invalid_subject,
  ///   errc::payload_too_large, through the token like every failure; the
  ///   diagnostics name the attribute or the size (docs/errors.md).
  /// Errors, from the server: nats_errc::not_permitted (publish permission denied),
  ///   jetstream_errc::wrong_last_sequence / wrong_last_msg_id / stream_not_match
  ///   (an expectation failed), errc::not_connected (connection closed), errc::closing
  ///   (publisher destroyed). After the retries: errc::no_stream (no stream bound to
  ///   the subject), errc::publish_timeout, errc::not_connected (no link to a server
  ///   through the last attempt).
  /// Cancellation: while waiting for room in the window, any type (terminal,
  ///   partial, total): it completes with operation_aborted and is never sent.
  ///   Once sent, terminal only: the caller stops waiting (operation_aborted) and
  ///   the stream may still store it; partial and total are ignored, since nothing
  ///   can make it as if it had not been sent.
  template <boost::asio::completion_token_for<void(error_code, pub_ack)> CompletionToken = natscoro::default_token_t>
  auto publish(std::string subject, event evt, const publish_expectations& expect, CompletionToken&& token = {}) {
    auto prepared = prepare(std::move(subject), std::move(evt), expect);
    return boost::asio::async_initiate<CompletionToken, void(error_code, pub_ack)>(
        [](auto handler, std::shared_ptr<detail::publisher_core> core, std::shared_ptr<detail::prepared_publish> p) {
          async_publish(core, std::move(p), std::move(handler));
        },
        token, core_, std::move(prepared));
  }
  template <boost::asio::completion_token_for<void(error_code, pub_ack)> CompletionToken = natscoro::default_token_t>
  auto publish(std::string subject, event evt, CompletionToken&& token = {}) {
    return publish(std::move(subject), std::move(evt), publish_expectations{}, std::forward<CompletionToken>(token));
  }
  template <boost::asio::completion_token_for<void(error_code, pub_ack)> CompletionToken = natscoro::default_token_t>
  auto publish(event evt, CompletionToken&& token = {}) {
    return publish(std::string(), std::move(evt), publish_expectations{}, std::forward<CompletionToken>(token));
  }

  /// Publishes `msg` as it is, with the same guarantees as an event: a verified
  /// PubAck, retries with the same Nats-Msg-Id, the window.
  /// Waits for: room in the window, then the PubAck, as publish(event).
  /// Completion: `void(error_code, pub_ack)`.
  /// Errors: as publish(event), without event validation: errc::invalid_subject and
  ///   errc::payload_too_large are decided before sending.
  /// Cancellation: as publish(event).
  template <boost::asio::completion_token_for<void(error_code, pub_ack)> CompletionToken = natscoro::default_token_t>
  auto publish_raw(raw_message msg, CompletionToken&& token = {}) {
    auto prepared = prepare_raw(std::move(msg));
    return boost::asio::async_initiate<CompletionToken, void(error_code, pub_ack)>(
        [](auto handler, std::shared_ptr<detail::publisher_core> core, std::shared_ptr<detail::prepared_publish> p) {
          async_publish(core, std::move(p), std::move(handler));
        },
        token, core_, std::move(prepared));
  }

  /// Waits until the window has room: fewer than max_in_flight publishes sent and
  /// not yet acknowledged, and none waiting to be sent. A producer that pipelines
  /// (publishes with a callback instead of awaiting each PubAck) calls it before
  /// each publish, so what it has started stays bounded by the window:
  ///
  ///     for (auto& e : events) {
  ///       if (!pub.has_room()) co_await pub.wait_for_room();
  ///       pub.publish(std::move(e), on_pub_ack);
  ///     }
  ///     co_await pub.flush();
  ///
  /// (Asking has_room() first saves a trip through the executor per event while
  /// there is room: a third more throughput in benchmark A.) Once the window was
  /// full, waiters resume when a quarter of it is free again, all together.
  ///
  /// Waits for: a PubAck (or a failure) that frees a place, if the window is full.
  /// Completion: `void(error_code)`.
  /// Errors: errc::closing (the publisher was destroyed or its connection closed).
  /// Cancellation: any type; completes with operation_aborted.
  template <class CompletionToken = natscoro::default_token_t>
  auto wait_for_room(CompletionToken&& token = {}) {
    return boost::asio::async_initiate<CompletionToken, void(error_code)>(
        [](auto handler, std::shared_ptr<detail::publisher_core> core) {
          async_wait_for_room(core, std::move(handler));
        },
        token, core_);
  }

  /// Waits for: every publish started before this call to complete.
  /// Completion: `void(error_code)`.
  /// Errors: none of its own (each publish reports its own).
  /// Cancellation: terminal only: completes with operation_aborted at once; the publishes go on.
  template <class CompletionToken = natscoro::default_token_t>
  auto flush(CompletionToken&& token = {}) {
    return boost::asio::async_initiate<CompletionToken, void(error_code)>(
        [](auto handler, std::shared_ptr<detail::publisher_core> core) { async_flush(core, std::move(handler)); },
        token, core_);
  }

  /// Whether a publish started now is sent at once (or, on a closed connection,
  /// fails at once): fewer than max_in_flight publishes in flight and none
  /// waiting for room. On the connection's strand it is exact; from another
  /// thread it is the state as of the window's last change (a hint: the
  /// publish itself still waits if the window filled meanwhile).
  bool has_room() const;

  publisher_stats stats() const;

 private:
  friend class detail::outbox_core;  // stores what prepare() makes, relays it with publish_raw()
  friend struct detail::access;
  /// Everything a publish does before sending; a refusal is in the result's `error` and `detail`.
  std::shared_ptr<detail::prepared_publish> prepare(std::string subject, event evt, const publish_expectations& expect);
  std::shared_ptr<detail::prepared_publish> prepare_raw(raw_message msg);
  static void async_publish(const std::shared_ptr<detail::publisher_core>& core,
                            std::shared_ptr<detail::prepared_publish> prepared,
                            boost::asio::any_completion_handler<void(error_code, pub_ack)> handler);
  static void async_flush(const std::shared_ptr<detail::publisher_core>& core,
                          boost::asio::any_completion_handler<void(error_code)> handler);
  static void shut_down(std::shared_ptr<detail::publisher_core> core);
  static void async_wait_for_room(const std::shared_ptr<detail::publisher_core>& core,
                                  boost::asio::any_completion_handler<void(error_code)> handler);

  std::shared_ptr<detail::publisher_core> core_;
};

}  // namespace natscoro

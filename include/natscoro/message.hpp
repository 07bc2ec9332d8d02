// A message delivered by a JetStream consumer, and its acknowledgements.
#pragma once

#include <natscoro/header_list.hpp>
#include <natscoro/diagnostics.hpp>
#include <natscoro/connection.hpp>
#include <natscoro/event.hpp>
#include <natscoro/message_metadata.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/deferred.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace natscoro {

namespace detail {
struct message_state;
struct access;
}

enum class ack_kind { ack, nak, term, in_progress };

class message;
namespace detail {
/// Sends ack/nak/term/in-progress now and reports what nats.c said: the runner's
/// way to acknowledge, which needs no completion through the executor.
error_code acknowledge_now(const message& m, ack_kind kind, std::chrono::nanoseconds delay);
/// The runner's count of handler calls on this delivery (retries in the key's lane).
void set_calls_this_delivery(const message& m, int calls);
}  // namespace detail

/// A delivered message: cheap to copy (copies share the acknowledgement state).
/// Safe from any thread: of two threads settling one message, one sends (docs/threading.md).
class message {
 public:

  const std::string& subject() const;
  const header_list& headers() const;
  /// The first value of header `name` (case-insensitive), or empty.
  std::string header(std::string_view name) const;
  std::string_view data() const;
  const message_metadata& metadata() const;

  /// The event it carries, read by the consumer's envelope (consumer_options::envelope;
  /// CloudEvents, structured or binary mode, unless it says otherwise).
  /// Throws natscoro::error (errc::invalid_event, naming what is wrong) when it is not one;
  /// data() and headers() stay available.
  natscoro::event event() const;
  /// The same without throwing.
  error_code decode(natscoro::event& out, std::string& detail) const;

  /// Which attempt at this message this is, from 1: the server's deliveries before
  /// this one, plus the handler calls on this delivery (the runner retries in the
  /// key's lane without a redelivery). metadata().num_delivered counts deliveries only.
  int attempt() const;

  /// Whether ack(), nak() or term() was sent for this delivery.
  bool acknowledged() const;

  /// Acknowledges the message: the server will not deliver it again.
  /// Waits for: the ack to be written to the connection (not for the server's
  ///   confirmation; see ack_sync()). Completion: `void(error_code)`.
  /// Errors: errc::not_connected. Acknowledging twice is harmless: only the first
  ///   ack, nak or term is sent.
  /// Cancellation: none: it completes without waiting for anything.
  template <class CompletionToken = natscoro::default_token_t>
  auto ack(CompletionToken&& token = {}) {
    return send(ack_kind::ack, std::chrono::nanoseconds(0), std::forward<CompletionToken>(token));
  }
  /// Asks for redelivery, at once or after `delay`. Like ack() otherwise.
  template <class CompletionToken = natscoro::default_token_t>
  auto nak(std::chrono::nanoseconds delay = std::chrono::nanoseconds(0), CompletionToken&& token = {}) {
    return send(ack_kind::nak, delay, std::forward<CompletionToken>(token));
  }
  /// Stops redelivery for good (on a work-queue stream the message is deleted). Like ack() otherwise.
  template <class CompletionToken = natscoro::default_token_t>
  auto term(CompletionToken&& token = {}) {
    return send(ack_kind::term, std::chrono::nanoseconds(0), std::forward<CompletionToken>(token));
  }
  /// Resets the server's ack timer: still working on it. May be sent any number of times.
  template <class CompletionToken = natscoro::default_token_t>
  auto in_progress(CompletionToken&& token = {}) {
    return send(ack_kind::in_progress, std::chrono::nanoseconds(0), std::forward<CompletionToken>(token));
  }

  /// Acknowledges and waits for the server to confirm it (double ack).
  /// Completion: `void(error_code)`. Errors: nats_errc::timeout (no confirmation within
  ///   the JetStream request timeout), nats_errc::no_responders (the consumer is gone),
  ///   errc::not_connected.
  /// Cancellation: terminal only: completes with operation_aborted at once; the ack was
  ///   sent and may still be applied. Partial and total are ignored.
  template <class CompletionToken = natscoro::default_token_t>
  auto ack_sync(CompletionToken&& token = {}) {
    return boost::asio::async_initiate<CompletionToken, void(error_code)>(
        [](auto handler, std::shared_ptr<detail::message_state> s) { async_ack_sync(std::move(s), std::move(handler)); },
        token, state_);
  }

 private:
  friend struct detail::access;
  explicit message(std::shared_ptr<detail::message_state> state) : state_(std::move(state)) {}

  template <class CompletionToken>
  auto send(ack_kind kind, std::chrono::nanoseconds delay, CompletionToken&& token) {
    return boost::asio::async_initiate<CompletionToken, void(error_code)>(
        [](auto handler, std::shared_ptr<detail::message_state> s, ack_kind k, std::chrono::nanoseconds d) {
          async_send(std::move(s), k, d, std::move(handler));
        },
        token, state_, kind, delay);
  }
  static void async_send(std::shared_ptr<detail::message_state> state, ack_kind kind, std::chrono::nanoseconds delay,
                         boost::asio::any_completion_handler<void(error_code)> handler);
  static void async_ack_sync(std::shared_ptr<detail::message_state> state,
                             boost::asio::any_completion_handler<void(error_code)> handler);

  friend error_code detail::acknowledge_now(const message& m, ack_kind kind, std::chrono::nanoseconds delay);
  friend void detail::set_calls_this_delivery(const message& m, int calls);

  std::shared_ptr<detail::message_state> state_;
};

}  // namespace natscoro

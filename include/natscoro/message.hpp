// A message delivered by a JetStream consumer, and its acknowledgements.
#pragma once

#include <natscoro/connection.hpp>
#include <natscoro/diagnostics.hpp>
#include <natscoro/event.hpp>
#include <natscoro/header_list.hpp>
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
}  // namespace detail

enum class ack_kind { ack, nak, term, in_progress };

class message;
namespace detail {
/// The runner's count of handler calls on this delivery (retries in the key's lane).
void set_calls_this_delivery(const message& m, int calls);
/// The event decoded once and kept for later calls (message::event(), decode()),
/// without a copy of it; null with `ec` and `detail` when it does not decode.
std::shared_ptr<const natscoro::event> decoded_event(const message& m, error_code& ec, std::string& detail);
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
  /// Does not wait: the ack is written to the connection (nats.c sends it with its
  ///   next flush, within a millisecond), as nats.go's Ack() and nats.c's natsMsg_Ack
  ///   do; ack_sync() waits for the server's confirmation. No completion, no
  ///   suspension, no hop to the connection's strand: callable from any thread.
  /// Errors: throws natscoro::error (errc::not_connected: the connection is closed
  ///   or reconnecting, and nothing was written; the server redelivers after ack_wait); the overload with `error_code&`
  ///   sets it instead. Acknowledging twice is harmless: only the first ack, nak or term is sent.
  void ack() { settle(ack_kind::ack, {}); }
  void ack(error_code& ec) noexcept { ec = settle_now(ack_kind::ack, {}); }
  /// Asks for redelivery, at once or after `delay`. Like ack() otherwise.
  void nak(std::chrono::nanoseconds delay = std::chrono::nanoseconds(0)) { settle(ack_kind::nak, delay); }
  void nak(std::chrono::nanoseconds delay, error_code& ec) noexcept { ec = settle_now(ack_kind::nak, delay); }
  /// Stops redelivery for good (on a work-queue stream the message is deleted). Like ack() otherwise.
  void term() { settle(ack_kind::term, {}); }
  void term(error_code& ec) noexcept { ec = settle_now(ack_kind::term, {}); }
  /// Resets the server's ack timer: still working on it. May be sent any number of
  /// times, before the ack. Like ack() otherwise.
  void in_progress() { settle(ack_kind::in_progress, {}); }
  void in_progress(error_code& ec) noexcept { ec = settle_now(ack_kind::in_progress, {}); }

  /// Acknowledges and waits for the server to confirm it (double ack).
  /// Waits for: the server's reply to the ack (one round trip).
  /// Completion: `void(error_code)`. Errors: nats_errc::timeout (no confirmation within
  ///   the JetStream request timeout), nats_errc::no_responders (the consumer is gone),
  ///   errc::not_connected.
  /// Cancellation: terminal only: completes with operation_aborted at once; the ack was
  ///   sent and may still be applied. Partial and total are ignored.
  template <class CompletionToken = natscoro::default_token_t>
  auto ack_sync(CompletionToken&& token = {}) {
    return boost::asio::async_initiate<CompletionToken, void(error_code)>(
        [](auto handler, std::shared_ptr<detail::message_state> s) {
          async_ack_sync(std::move(s), std::move(handler));
        },
        token, state_);
  }

 private:
  friend struct detail::access;
  explicit message(std::shared_ptr<detail::message_state> state) : state_(std::move(state)) {}

  /// Writes the ack, nak, term or in-progress now: what nats.c said.
  error_code settle_now(ack_kind kind, std::chrono::nanoseconds delay) const noexcept;
  /// The same, throwing natscoro::error (with the message's sequence and subject).
  void settle(ack_kind kind, std::chrono::nanoseconds delay) const;
  static void async_ack_sync(std::shared_ptr<detail::message_state> state,
                             boost::asio::any_completion_handler<void(error_code)> handler);

  friend void detail::set_calls_this_delivery(const message& m, int calls);
  friend std::shared_ptr<const natscoro::event> detail::decoded_event(const message& m, error_code& ec,
                                                                      std::string& detail);

  std::shared_ptr<detail::message_state> state_;
};

}  // namespace natscoro

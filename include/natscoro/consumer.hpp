// A durable pull consumer: `while (auto m = co_await c.next())`.
#pragma once

#include <natscoro/consumer_config.hpp>
#include <natscoro/diagnostics.hpp>
#include <natscoro/message.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/deferred.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace natscoro {

namespace detail {
class consumer_core;
struct run_counters;
struct access;
}  // namespace detail

// The runner's options and counters (runner.hpp, which run() needs at the call).
struct run_options;
struct runner_stats;

/// The handler run() calls: throw to fail the attempt.
using message_handler = std::function<boost::asio::awaitable<void>(message&)>;

struct consumer_stats {
  std::uint64_t delivered = 0;  ///< messages received from the server
  std::uint64_t pulls = 0;      ///< pull requests sent
  std::uint64_t repulls = 0;    ///< pulls re-issued after a reconnect or missed heartbeats
  /// Messages from pull requests forgotten after a reconnect (the server still filled
  /// them) that found the capacity full: given back, redelivered a second later.
  std::uint64_t given_back_unrequested = 0;
  std::size_t held = 0;           ///< received, not yet handed out (at most consumer_options::capacity)
  std::size_t outstanding = 0;    ///< messages open pull requests may still bring
  std::uint64_t redelivered = 0;  ///< deliveries of messages delivered before (num_delivered > 1)
  /// The consumer's lag: messages in the stream not yet delivered to it, as the last
  /// delivery said (num_pending); 0 before the first.
  std::uint64_t pending = 0;
};

/// One instance of a durable pull consumer. Several instances (in one process or
/// many) on the same durable form a consumer group: the server shares the
/// messages between them. Cheap to copy; safe from any thread.
/// Destroying the last handle stops it (held messages are nak'ed); the durable
/// consumer stays on the server.
class consumer {
 public:
  consumer() = default;

  const std::string& stream() const;
  const std::string& name() const;
  /// The consumer's ack wait and max deliver (-1: unlimited) as the server reported them when binding.
  std::chrono::nanoseconds ack_wait() const;
  int max_deliver() const;
  consumer_stats stats() const;

  /// The next message.
  ///
  /// Waits for: a message held already, or the next one the server delivers
  ///   (pulling only as much as capacity allows; re-pulling after a reconnect or
  ///   missed heartbeats).
  /// Completion: `void(error_code, std::optional<message>)`; an empty optional once
  ///   drain() or stop() was called and nothing is left to hand out.
  /// Errors: jetstream_errc::consumer_not_found / stream_not_found (deleted
  ///   meanwhile), errc::not_connected (connection closed for good).
  /// Cancellation: any type; completes with operation_aborted; a message that
  ///   arrives afterwards stays for the next call (nothing is lost).
  template <class CompletionToken = natscoro::default_token_t>
  auto next(CompletionToken&& token = {}) {
    return boost::asio::async_initiate<CompletionToken, void(error_code, std::optional<message>)>(
        [](auto handler, std::shared_ptr<detail::consumer_core> c) { async_next(c, std::move(handler)); }, token,
        core_);
  }

  /// Up to `max` messages in one completion, for loops that handle many at a time
  /// (as nats.c's natsSubscription_Fetch and nats.go's Fetch are used): one
  /// completion instead of one per message.
  ///
  /// Waits for: as next(); it completes with everything held at that moment, up to
  ///   `max`, without waiting to fill the batch (what is held is bounded by
  ///   consumer_options::capacity).
  /// Completion: `void(error_code, std::vector<message>)`, in stream order; empty once
  ///   drain() or stop() was called and nothing is left to hand out.
  /// Errors: as next(); errc::invalid_argument when `max` is 0.
  /// Cancellation: as next(): any type; completes with operation_aborted and an empty
  ///   vector; what arrives afterwards stays for the next call.
  template <class CompletionToken = natscoro::default_token_t>
  auto next_batch(std::size_t max, CompletionToken&& token = {}) {
    return boost::asio::async_initiate<CompletionToken, void(error_code, std::vector<message>)>(
        [](auto handler, std::shared_ptr<detail::consumer_core> c, std::size_t n) {
          async_next_batch(c, n, std::move(handler));
        },
        token, core_, max);
  }

  /// Calls `handler` for each message until the consumer is drained.
  ///
  /// At most opts.concurrency handlers run at once, each on a strand of
  /// opts.handler_executor; messages with the same ordering key run one at a time
  /// in stream order. Success acks the message. A handler that throws is retried
  /// per opts.retry: with a key in its lane after the delay (later messages of the
  /// key wait; the server's ack timer is kept alive with in-progress), without one
  /// by nak with the delay. After the last attempt, on permanent_error, or when the
  /// message does not decode with the consumer's envelope, it is published to the dead-letter stream
  /// and only after that PubAck terminated; if that publish fails it is nak'ed.
  /// With opts.processed_ids, a message whose event id is recorded is acknowledged
  /// without calling the handler, and a success is recorded before the ack.
  /// What the runner holds is bounded by concurrency plus the consumer's capacity.
  /// Waits for: drain() (or cancellation), then for the runner to settle: queued
  ///   messages given back once the unsubscribe is confirmed (behind a running
  ///   message of the same key), running handlers until the drain's deadline, when
  ///   they are cancelled (terminal) and their messages nak'ed.
  /// Completion: `void(error_code)`.
  /// Errors: errc::invalid_argument (concurrency 0, a dead-letter stream name that
  ///   is not valid, or run() already in progress on this consumer),
  ///   jetstream_errc::consumer_not_found / stream_not_found, errc::not_connected
  ///   (whatever ended next()).
  /// Cancellation: terminal and partial: drains with opts.drain_deadline (what was
  ///   handled stays handled, the rest is given back), then completes with
  ///   operation_aborted. Total is ignored: handled messages cannot be unhandled.
  template <class CompletionToken = natscoro::default_token_t>
  auto run(message_handler handler, const run_options& opts, CompletionToken&& token = {}) {
    return boost::asio::async_initiate<CompletionToken, void(error_code)>(
        [](auto h, consumer self, message_handler f, auto o) {
          async_run(std::move(self), std::move(f), std::move(o), std::move(h));
        },
        token, *this, std::move(handler), opts);
  }

  /// The counters of the current (or last) run().
  runner_stats run_stats() const;

  /// Stops pulling; later next() calls complete with an empty optional.
  /// Waits for: the server to confirm the unsubscribe (one round trip, at most
  ///   `grace`); then what was received but not handed out is given back (nak'ed,
  ///   so another instance gets it at once; each give-back counts as a delivery on
  ///   the server). Messages already handed out stay the caller's to acknowledge.
  ///   With run() in progress, also for the runner to settle: its running handlers
  ///   get until `grace` has passed (see run()).
  /// Completion: `void(error_code)`.
  /// Errors: none of its own (it completes when the drain is done, whatever happened).
  /// Cancellation: terminal only: completes with operation_aborted at once; the drain goes on.
  template <class CompletionToken = natscoro::default_token_t>
  auto drain(std::chrono::milliseconds grace, CompletionToken&& token = {}) {
    return boost::asio::async_initiate<CompletionToken, void(error_code)>(
        [](auto handler, std::shared_ptr<detail::consumer_core> c, std::chrono::milliseconds g) {
          async_drain(c, g, std::move(handler));
        },
        token, core_, grace);
  }
  /// drain() with a grace of 30 s.
  template <class CompletionToken = natscoro::default_token_t>
  auto drain(CompletionToken&& token = {}) {
    return drain(std::chrono::seconds(30), std::forward<CompletionToken>(token));
  }

  /// Stops at once: held messages are given back and the subscription closed
  /// (what open pull requests still bring is redelivered after ack_wait).
  void stop();

 private:
  friend struct detail::access;
  explicit consumer(std::shared_ptr<void> owner, std::shared_ptr<detail::consumer_core> core);

  static void async_next(const std::shared_ptr<detail::consumer_core>& core,
                         boost::asio::any_completion_handler<void(error_code, std::optional<message>)> handler);
  static void async_next_batch(const std::shared_ptr<detail::consumer_core>& core, std::size_t max,
                               boost::asio::any_completion_handler<void(error_code, std::vector<message>)> handler);
  static void async_run(consumer self, message_handler handler, const run_options& opts,
                        boost::asio::any_completion_handler<void(error_code)> h);
  static void async_drain(const std::shared_ptr<detail::consumer_core>& core, std::chrono::milliseconds grace,
                          boost::asio::any_completion_handler<void(error_code)> handler);

  std::shared_ptr<void> owner_;  ///< stops the consumer when the last handle goes
  std::shared_ptr<detail::consumer_core> core_;
  std::shared_ptr<detail::run_counters> run_counters_;  ///< of the current or last run()
};

}  // namespace natscoro

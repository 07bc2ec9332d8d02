// A durable pull consumer: `while (auto m = co_await c.next())`.
#pragma once

#include <natscoro/consumer_config.hpp>
#include <natscoro/message.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/deferred.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

namespace natscoro {

namespace detail {
class consumer_core;
}

struct consumer_stats {
  std::uint64_t delivered = 0;   ///< messages received from the server
  std::uint64_t pulls = 0;       ///< pull requests sent
  std::uint64_t repulls = 0;     ///< pulls re-issued after a reconnect or missed heartbeats
  std::size_t held = 0;          ///< received, not yet handed out (at most consumer_options::capacity)
  std::size_t outstanding = 0;   ///< messages open pull requests may still bring
};

/// One instance of a durable pull consumer. Several instances (in one process or
/// many) on the same durable form a consumer group: the server shares the
/// messages between them. Cheap to copy; use it from the connection's strand.
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
  template <class CompletionToken = boost::asio::deferred_t>
  auto next(CompletionToken&& token = {}) {
    return boost::asio::async_initiate<CompletionToken, void(error_code, std::optional<message>)>(
        [](auto handler, std::shared_ptr<detail::consumer_core> c) { async_next(c, std::move(handler)); }, token,
        core_);
  }

  /// Stops pulling; later next() calls complete with an empty optional.
  /// Waits for: the server to confirm the unsubscribe (one round trip, at most
  ///   `grace`); then what was received but not handed out is given back (nak'ed,
  ///   so another instance gets it at once; each give-back counts as a delivery on
  ///   the server). Messages already handed out stay the caller's to acknowledge.
  ///   With run() in progress, also for the runner to settle: its running handlers
  ///   get until `grace` has passed (see run()).
  /// Completion: `void(error_code)`; no error of its own. Cancellation: none.
  template <class CompletionToken = boost::asio::deferred_t>
  auto drain(std::chrono::milliseconds grace, CompletionToken&& token = {}) {
    return boost::asio::async_initiate<CompletionToken, void(error_code)>(
        [](auto handler, std::shared_ptr<detail::consumer_core> c, std::chrono::milliseconds g) {
          async_drain(c, g, std::move(handler));
        },
        token, core_, grace);
  }
  /// drain() with a grace of 30 s.
  template <class CompletionToken = boost::asio::deferred_t>
  auto drain(CompletionToken&& token = {}) {
    return drain(std::chrono::seconds(30), std::forward<CompletionToken>(token));
  }

  /// Stops at once: held messages are given back and the subscription closed
  /// (what open pull requests still bring is redelivered after ack_wait).
  void stop();

  explicit consumer(std::shared_ptr<void> owner, std::shared_ptr<detail::consumer_core> core)
      : owner_(std::move(owner)), core_(std::move(core)) {}

 private:
  static void async_next(const std::shared_ptr<detail::consumer_core>& core,
                         boost::asio::any_completion_handler<void(error_code, std::optional<message>)> handler);
  static void async_drain(const std::shared_ptr<detail::consumer_core>& core, std::chrono::milliseconds grace,
                          boost::asio::any_completion_handler<void(error_code)> handler);

  std::shared_ptr<void> owner_;  ///< stops the consumer when the last handle goes
  std::shared_ptr<detail::consumer_core> core_;
};

}  // namespace natscoro

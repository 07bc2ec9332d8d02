// The state behind every handle of one connection: the nats.c connection and
// the bridge from nats.c's callback threads to the connection's executor.
#pragma once

#include <natscoro/connection.hpp>
#include <natscoro/detail/pending_operation.hpp>
#include <natscoro/detail/runtime.hpp>
#include <natscoro/detail/subscription_drains.hpp>
#include <natscoro/detail/wire.hpp>

#include <nats/nats.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

namespace natscoro::detail {

class connection_core : public std::enable_shared_from_this<connection_core> {
 public:
  using connect_operation = pending_operation<void(error_code, connection)>;
  using drain_operation = pending_operation<void(error_code)>;

  connection_core(boost::asio::any_io_executor ex, connect_options opts);
  ~connection_core();

  connection_core(const connection_core&) = delete;
  connection_core& operator=(const connection_core&) = delete;

  /// The strand every object built on the connection keeps its state on.
  const boost::asio::any_io_executor& executor() const noexcept { return executor_; }
  natsConnection* native() const noexcept { return nc_; }
  /// Where every message is written (see wire.hpp); safe from any thread.
  const detail::wire& wire() const noexcept { return wire_; }
  connection_status status() const;
  server_info info() const;
  /// Links restored after a loss (reconnected events), for metrics.
  std::uint64_t reconnects() const noexcept { return reconnects_.load(std::memory_order_relaxed); }

  /// Runs on the blocking pool: connects, then completes `op`.
  void connect_blocking(const std::shared_ptr<connect_operation>& op);

  /// Starts a drain; `op` completes once the connection is closed.
  void drain(std::chrono::milliseconds timeout, std::shared_ptr<drain_operation> op);

  /// Subscription drains in progress, which the connection's drain waits for.
  /// Shared: nats.c reports a subscription complete on its own thread.
  const std::shared_ptr<detail::subscription_drains>& subscriptions_draining() const noexcept {
    return subscription_drains_;
  }

  /// Flushes briefly and closes, on the blocking pool. Returns at once.
  void close_in_background();

  /// Writes what nats.c has buffered now instead of after its flusher's gathering
  /// delay (up to 1 ms; connect_options::send_asap off): for a message someone
  /// waits on while nothing else is being sent (a lone publish, a JetStream API
  /// request). Under load nothing calls it, and writes stay batched. Done on the
  /// blocking pool as a PING round trip (nats.c has no flush without one); one
  /// flush task per connection at most, which flushes again if asked meanwhile,
  /// and none for a second after a PONG did not come within 100 ms.
  void flush_soon();

  /// Objects built on the connection (publishers, consumers) follow its events
  /// through listeners, called on the executor after connect_options::on_event.
  /// Added and removed from any thread; a listener removed while an event is
  /// being reported may still receive that event.
  using listener = std::function<void(const connection_event&)>;
  std::uint64_t add_listener(listener l);
  void remove_listener(std::uint64_t id);

  /// Runs `f(core)` on the blocking pool. The executor is kept busy until the
  /// pool is done with this object, so that the object (and its copies of the
  /// executor) never outlive the execution context.
  template <class F>
  void on_blocking_pool(F f);

 private:
  static void on_disconnected(natsConnection* nc, void* closure);
  static void on_connected(natsConnection* nc, void* closure);
  static void on_reconnected(natsConnection* nc, void* closure);
  static void on_closed(natsConnection* nc, void* closure);
  static void on_lame_duck(natsConnection* nc, void* closure);
  static void on_error(natsConnection* nc, natsSubscription* sub, natsStatus status, void* closure);

  connection_event describe(natsConnection* nc, connection_event_kind kind);  // on a nats.c thread
  void post_event(connection_event ev);                                       // on a nats.c thread
  void handle_event(const connection_event& ev);                              // on the executor
  void handle_closed(connection_event ev);                                    // on the executor

  const boost::asio::any_io_executor executor_;
  const connect_options options_;
  natsConnection* nc_ = nullptr;
  detail::wire wire_;
  std::mutex url_mutex_;  // the connect (blocking pool) and nats.c's callback thread both write last_url_
  std::string last_url_;

  // Outstanding work on the executor from connect to close, so that it stays
  // alive for the events nats.c posts to it. Released by the closed callback.
  boost::asio::any_io_executor work_;
  // Keeps this object alive for nats.c's callbacks until the closed callback.
  std::shared_ptr<connection_core> self_;

  std::mutex listeners_mutex_;  // handles add and remove listeners from any thread
  std::map<std::uint64_t, listener> listeners_;
  std::uint64_t next_listener_ = 1;

  std::atomic<std::uint64_t> flush_requests_{0};   // since the running flush task last flushed
  std::atomic<std::int64_t> flush_rest_until_{0};  // steady_clock ticks; see flush_soon()
  std::atomic<bool> close_requested_{false};
  std::atomic<bool> draining_{false};
  std::atomic<std::uint64_t> reconnects_{0};
  std::atomic<bool> ever_connected_{false};  // false during a degraded start, until the first link
  std::atomic<bool> closed_{false};
  std::shared_ptr<detail::subscription_drains> subscription_drains_ = std::make_shared<detail::subscription_drains>();
  std::mutex drain_mutex_;
  std::vector<std::shared_ptr<drain_operation>> drains_;
  error_code drain_error_;
};

template <class F>
void connection_core::on_blocking_pool(F f) {
  runtime::instance().run_blocking(
      [self = shared_from_this(),
       work = boost::asio::prefer(executor_, boost::asio::execution::outstanding_work.tracked),
       f = std::move(f)]() mutable {
        f(*self);
        self.reset();  // before `work` goes with this lambda
      });
}

}  // namespace natscoro::detail

// The state of one consumer instance: pulling, holding, handing out, draining.
// Shared by the consumer handles and, as a drain participant, the runner.
#pragma once

#include <natscoro/consumer.hpp>
#include <natscoro/detail/nats_message.hpp>
#include <natscoro/detail/pending_operation.hpp>
#include <natscoro/detail/pull_protocol.hpp>
#include <natscoro/detail/reply_inbox.hpp>
#include <natscoro/detail/shared_stats.hpp>
#include <natscoro/jetstream.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace natscoro::detail {

using next_operation = pending_operation<void(error_code, std::optional<message>)>;
using batch_operation = pending_operation<void(error_code, std::vector<message>)>;
using drain_operation = pending_operation<void(error_code)>;
using steady = std::chrono::steady_clock;

/// Lives on the connection's strand; consumer handles dispatch onto it.
///
/// Draining: pulling stops and next() hands out nothing more; the inbox is
/// unsubscribed with a server round trip (what arrives meanwhile is held); only
/// then is everything held given back (nak), so the server cannot hand it straight
/// back to this instance's abandoned pull requests. With a runner attached, the
/// runner takes what is held and gives everything back itself (the server
/// redelivers in the order of the naks, so per-key order needs one hand doing it),
/// and the drain completes once the runner has settled. The consumer knows it
/// only as a drain participant.
class consumer_core : public std::enable_shared_from_this<consumer_core> {
 public:
  consumer_core(const jetstream& js, std::string stream, std::string name, consumer_options opts,
                const boost::json::value& info);

  error_code start();
  /// On the strand, from the initiating call: completes at once when a message is held.
  void next(next_operation::handler_type handler);
  /// On the strand, for a call made elsewhere: `op` has its cancellation connected.
  void next(const std::shared_ptr<next_operation>& op);
  /// The same for next_batch(max), `max` at least 1.
  void next_batch(std::size_t max, batch_operation::handler_type handler);
  void next_batch(std::size_t max, const std::shared_ptr<batch_operation>& op);
  /// The next held message, when one can be handed out now without waiting.
  std::optional<message> try_next();
  /// Up to `max` held messages that can be handed out now; empty if none.
  std::vector<message> try_next_batch(std::size_t max);
  void drain(std::chrono::milliseconds grace, const std::shared_ptr<drain_operation>& op);
  /// Stops pulling and unsubscribes; `grace` bounds the unsubscribe round trip.
  void start_draining(std::chrono::milliseconds grace);
  /// At once: gives back what is held and unsubscribes.
  void stop();

  /// Whoever holds messages of this consumer besides it (the runner) takes part in
  /// draining: `on_unsubscribed` runs once no more deliveries can come, with what the
  /// consumer holds, which the participant gives back itself (after what it queued,
  /// behind running messages of the same key). The drain completes after
  /// detach_drain_participant(). False if one is attached already.
  bool attach_drain_participant(std::function<void(std::vector<message> held)> on_unsubscribed);
  void detach_drain_participant();
  /// When handlers must be done by: the drain's deadline (now when stopped without one).
  steady::time_point drain_deadline() const { return drain_deadline_; }
  bool draining_or_stopped() const { return !protocol_.running(); }

  const jetstream& js() const { return js_; }
  const std::string& stream() const { return stream_; }
  const std::string& name() const { return name_; }
  std::chrono::nanoseconds ack_wait() const { return ack_wait_; }
  int max_deliver() const { return max_deliver_; }
  std::size_t capacity() const { return opts_.capacity; }
  consumer_stats stats() const { return stats_.snapshot(); }
  const boost::asio::any_io_executor& executor() const { return executor_; }

 private:
  /// A next() or next_batch() waiting for a message.
  struct waiter {
    std::shared_ptr<next_operation> one;
    std::shared_ptr<batch_operation> batch;
    std::size_t max = 1;
    bool pending() const { return one ? one->pending() : batch->pending(); }
  };

  void wait(waiter w);
  void on_inbox(std::uint64_t token, nats_msg_ptr msg);
  void on_status(std::uint64_t token, const std::string& status, const std::string& description);
  void on_connection_event(const connection_event& ev);
  void on_unsubscribed();
  /// Sends a pull request if credits allow, then publish_levels().
  void maybe_pull();
  void pull();
  /// What is held and outstanding, to stats().
  void publish_levels();
  void hand_out();
  /// The oldest held message that can be acknowledged (others are logged and dropped); null if none.
  std::shared_ptr<message_state> pop_held();
  /// Nak: redelivered after `delay` (0: at once).
  void give_back(natsMsg* msg, std::chrono::nanoseconds delay = std::chrono::nanoseconds(0));
  void give_back_held();
  std::vector<message> take_held();
  void fail(error_code ec, const std::string& detail);
  void schedule_tick();
  void finish_drain_if_done();
  void close_now();
  void on_tick();
  void settle_waiters();

  jetstream js_;
  connection conn_;
  std::shared_ptr<api_client> api_;
  std::string stream_;
  std::string name_;
  std::string next_subject_;
  consumer_options opts_;
  std::chrono::nanoseconds ack_wait_{std::chrono::seconds(30)};
  int max_deliver_ = -1;
  pull_protocol protocol_;
  std::shared_ptr<reply_inbox> inbox_;
  std::uint64_t listener_id_ = 0;
  std::deque<nats_msg_ptr> held_;  // at most opts_.capacity (pull_protocol)
  std::deque<waiter> waiters_;
  std::vector<std::shared_ptr<drain_operation>> drains_;
  steady::time_point drain_deadline_{};
  boost::asio::steady_timer tick_;
  std::function<void(std::vector<message>)> participant_unsubscribed_;  // until the participant has what is held
  error_code fatal_;
  std::string fatal_text_;  // what fail() logged: the diagnostics of later next() calls
  shared_stats<consumer_stats> stats_;
  boost::asio::any_io_executor executor_;  // the connection's strand
};

}  // namespace natscoro::detail

// The handler runner behind consumer::run(): intake from the consumer core,
// lanes and concurrency, attempts on the handler executor, failure routing
// (retry here, nak, dead-letter, terminate), drain and settling.
#pragma once

#include <natscoro/consumer.hpp>
#include <natscoro/detail/consumer_core.hpp>
#include <natscoro/detail/failure_policy.hpp>
#include <natscoro/detail/lane_scheduler.hpp>
#include <natscoro/detail/pending_operation.hpp>
#include <natscoro/detail/run_counters.hpp>
#include <natscoro/publisher.hpp>
#include <natscoro/runner.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace natscoro::detail {

class max_deliveries_mover;
class processed_id_store;

using run_operation = pending_operation<void(error_code)>;

/// How an attempt failed; empty when it succeeded.
using attempt_failure = std::optional<std::pair<failure_kind, std::string>>;

/// One run(): takes messages from the consumer core, schedules them on lanes,
/// runs handlers and settles each message. Lives on the connection's strand.
class runner_core : public std::enable_shared_from_this<runner_core> {
 public:
  const boost::asio::any_io_executor& executor() const { return ex_; }
  /// In the initiating call (cancellation slots are used from the thread that emits): any type drains.
  void connect_cancellation();
  /// Logs `problem` and fails the run with errc::invalid_argument, the text as its diagnostics.
  void refuse(const std::string& problem);
  runner_core(consumer cons, std::shared_ptr<consumer_core> core, std::shared_ptr<run_counters> counters,
              message_handler handler, run_options opts, std::shared_ptr<run_operation> op)
      : cons_(std::move(cons)),
        core_(std::move(core)),
        counters_(std::move(counters)),
        ex_(core_->js().get_executor()),
        handler_(std::move(handler)),
        opts_(std::move(opts)),
        handler_ex_(opts_.handler_executor ? opts_.handler_executor : ex_),
        lanes_(opts_.concurrency),
        op_(std::move(op)),
        keepalive_(ex_),
        deadline_(ex_),
        random_(std::random_device{}()) {}

  void start();

 private:
  struct slot {
    explicit slot(message m) : msg(std::move(m)) {}
    message msg;
    std::string key;
    error_code decode_error;
    std::string decode_detail;
    std::string event_id;        // the envelope's, for the processed-id store
    bool checked = false;        // looked up in the processed-id store (or no store)
    int attempts_here = 0;       // handler calls on this delivery
    bool running = false;        // the handler's coroutine is alive
    bool waiting_retry = false;  // paused in its lane until retry_timer fires
    bool settling = false;       // being dead-lettered
    bool abandoned = false;      // given back at the deadline; the coroutine may still be winding down
    std::unique_ptr<boost::asio::steady_timer> retry_timer;
    boost::asio::cancellation_signal cancel;
    boost::asio::any_io_executor strand;  // of handler_ex_, while the handler's coroutine is alive
  };

  void take();
  void on_next(error_code ec, std::optional<message> m);
  void accept(message m);
  void schedule();
  void run_attempt(std::uint64_t id);
  void on_attempt_done(std::uint64_t id, const attempt_failure& failure);
  void check_processed(std::uint64_t id);
  void acknowledge_handled(std::uint64_t id);
  void on_failure(std::uint64_t id, failure_kind kind, const std::string& text);
  void dead_letter(std::uint64_t id, const std::string& text);
  void publish_dead_letter(std::uint64_t id, const std::string& text, raw_message out, int cuts);
  void release(std::uint64_t id);
  void begin_stop();
  void on_unsubscribed(std::vector<message> held);
  void give_back_ready();
  void give_back(slot& s);
  void on_deadline();
  void arm_keepalive();
  /// Reads the dead-letter stream's size (at the start, after each dead-letter, and
  /// every dead_letter_observation_period) for runner_stats and the alert.
  void observe_dead_letter_queue();
  void check_alert(std::uint64_t dead_letter_messages);
  void check_settled();
  void update_gauges();

  consumer cons_;  // keeps the consumer alive while the run lasts
  std::shared_ptr<consumer_core> core_;
  std::shared_ptr<run_counters> counters_;  // the consumer's: run_stats() reads them after the run
  boost::asio::any_io_executor ex_;
  message_handler handler_;
  run_options opts_;
  boost::asio::any_io_executor handler_ex_;
  // Strands of handler_ex_ that run no handler now, for the next attempts: a strand
  // per attempt cost its creation and a type-erased wrapper (allocations) each time.
  // At most as many as attempts ran at once.
  std::vector<boost::asio::any_io_executor> idle_strands_;
  lane_scheduler lanes_;
  std::shared_ptr<run_operation> op_;
  std::map<std::uint64_t, std::unique_ptr<slot>> slots_;  // ordered: arrival order for give-backs
  std::uint64_t next_id_ = 1;
  std::size_t queue_limit_ = 0;
  bool taking_ = false;
  bool stopping_ = false;
  bool unsubscribed_ = false;
  bool cancelled_ = false;
  bool finished_ = false;
  bool alerted_ = false;
  static constexpr std::chrono::seconds dead_letter_observation_period{10};
  std::chrono::steady_clock::time_point dead_letter_observed_{};
  std::size_t dead_letters_pending_ = 0;
  error_code end_error_;
  std::shared_ptr<publisher> dlq_;
  std::shared_ptr<max_deliveries_mover> mover_;
  std::shared_ptr<processed_id_store> processed_;
  bool mover_running_ = false;
  boost::asio::steady_timer keepalive_;
  boost::asio::steady_timer deadline_;
  std::mt19937_64 random_;
  std::shared_ptr<runner_core> self_;  // from start() until the run completes
};

}  // namespace natscoro::detail

// What every outbox does, whatever its store: group commits, the relay, its
// statistics and its age alert, and closing. The store (SQLite file, PostgreSQL
// table) is used only on the outbox's own thread; the rest lives on the
// connection's executor.
#pragma once

#include <natscoro/detail/outbox_store.hpp>
#include <natscoro/detail/pending_operation.hpp>
#include <natscoro/detail/prepared_publish.hpp>
#include <natscoro/detail/shared_stats.hpp>
#include <natscoro/outbox.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace natscoro::detail {

class outbox_core : public std::enable_shared_from_this<outbox_core> {
 public:
  using done_operation = pending_operation<void(error_code)>;
  using store_opener = std::function<std::unique_ptr<outbox_store>(error_code&, std::string&)>;

  struct settings {
    std::string name;  ///< how the logs call this outbox (a path, a database and table)
    outbox_relay_options relay;
    std::uint64_t max_bytes = 0;  ///< 0: no quota
    /// Other writers share the store (PostgreSQL): the pending count is read from
    /// it again this often, and the relay looks for work at least this often.
    std::chrono::milliseconds shared_store_poll{0};
  };

  outbox_core(const jetstream& js, settings s, store_opener open_store);
  ~outbox_core();

  /// Opens the store on the outbox's thread, then starts the relay.
  void open(std::function<void(error_code)> done);
  /// Stores an event (group commit); completes once it is durable.
  void publish(std::string subject, event evt, const std::shared_ptr<done_operation>& op);
  void close(const std::shared_ptr<done_operation>& op);
  void close_in_background();
  outbox_stats stats() const;
  /// New records may be in the store (PostgreSQL NOTIFY): the relay looks now.
  void wake();
  /// Runs `f` when the outbox starts closing (before the relay stops).
  void on_stop(std::function<void()> f) { on_stop_ = std::move(f); }

  /// `evt` filled, validated and encoded as publisher::publish() does. Any thread.
  std::shared_ptr<prepared_publish> prepare(std::string subject, event evt);
  const std::string& name() const { return settings_.name; }
  const boost::asio::any_io_executor& get_executor() const { return executor_; }

  /// Runs `work` on the outbox's thread, then `done(result)` on the executor.
  template <class Work, class Done>
  void on_store_thread(Work work, Done done) {
    auto back = boost::asio::prefer(executor_, boost::asio::execution::outstanding_work.tracked);
    boost::asio::post(store_io_, [work = std::move(work), done = std::move(done), back]() mutable {
      auto result = work();
      boost::asio::post(back,
                        [done = std::move(done), result = std::move(result)]() mutable { done(std::move(result)); });
    });
  }

 private:
  struct waiting {
    outbox_record record;
    std::shared_ptr<done_operation> op;
  };
  struct pass_result;
  struct claimed;
  template <class T>
  class store_future;

  void commit();
  void on_committed(std::vector<waiting> batch, error_code ec, const std::string& detail);
  void stop();
  void finish_close();
  boost::asio::awaitable<void> relay();
  std::shared_ptr<store_future<claimed>> start_claim();
  std::shared_ptr<store_future<bool>> settle(std::shared_ptr<pass_result> results);
  boost::asio::awaitable<void> pause(std::chrono::milliseconds d);
  std::chrono::milliseconds next_backoff(std::chrono::milliseconds last) const;
  void watch_age();
  void refresh_summary();
  void close_store_thread();

  settings settings_;
  store_opener open_store_;
  connection conn_;
  boost::asio::any_io_executor executor_;
  publisher pub_;
  boost::asio::steady_timer wake_;       // the relay's idle wait and back-off; cancelled to wake it
  boost::asio::steady_timer age_timer_;  // watch_age()
  std::function<void()> on_stop_;
  bool work_available_ = true;
  bool relay_running_ = false;
  bool stopping_ = false;
  bool closed_ = false;
  bool closing_store_ = false;
  bool idle_ = false;  // the relay waits for work (not a back-off)
  bool alerted_ = false;
  bool committing_ = false;
  bool summarizing_ = false;
  std::chrono::steady_clock::time_point next_summary_{};  // refresh_summary() not before
  std::vector<waiting> queue_;
  std::uint64_t queued_bytes_ = 0;
  struct counters {
    outbox_stats stats;
    std::int64_t oldest_created_ns = 0;  // of the oldest pending event; 0: none
  };
  shared_stats<counters> counters_;
  std::vector<std::shared_ptr<done_operation>> close_waiters_;

  // The outbox's own thread, and the store it alone touches.
  boost::asio::io_context store_io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> store_work_;
  std::unique_ptr<outbox_store> store_;
  std::thread store_thread_;
};

}  // namespace natscoro::detail

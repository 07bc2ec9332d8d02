// Process-wide state natscoro shares between connections.
//
// - nats.c is opened once (nats_Open) and uses one global message-delivery
//   pool, so a thousand subscriptions do not mean a thousand threads.
// - nats.c's blocking calls (connect, flush, close) never run on an executor
//   thread: they run on this pool of `blocking_threads` threads. Work reaches it
//   only from operations the application started, so its queue is bounded by them.
//
// At exit the pool is joined (pending closes finish) and nats.c is closed.
#pragma once

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

#include <utility>

namespace natscoro::detail {

class runtime {
 public:
  static constexpr int blocking_threads = 2;

  static runtime& instance();

  /// Runs `f` on the blocking pool.
  template <class F>
  void run_blocking(F&& f) {
    boost::asio::post(pool_, std::forward<F>(f));
  }

  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

 private:
  runtime();
  ~runtime();
  boost::asio::thread_pool pool_{blocking_threads};
};

}  // namespace natscoro::detail

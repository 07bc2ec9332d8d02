// Keeps a connection's drain from overlapping the drain of one of its
// subscriptions. With nats.c 3.4.1's shared delivery pool, both post a "drain"
// to the subscription's delivery worker; the worker takes the second one for a
// close and releases the subscription twice (a use after free, then a double
// free: seen as a crash when a consumer's drain was followed at once by the
// connection's). So a subscription drain is counted from its start to nats.c's
// completion callback, and the connection drains only once none is counted;
// from then on no subscription drain starts (the connection's drain covers it).
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

namespace natscoro::detail {

class subscription_drains {
 public:
  /// A subscription drain may start: counted until end(). False once the
  /// connection drains (the subscription is drained with it).
  bool begin() {
    std::lock_guard lock(mutex_);
    if (connection_draining_) return false;
    ++running_;
    return true;
  }

  /// A drain counted by begin() is over: nats.c reported the subscription complete,
  /// or it did not start the drain.
  void end() {
    {
      std::lock_guard lock(mutex_);
      --running_;
    }
    idle_.notify_all();
  }

  /// For the connection's drain, on a thread that may block: waits until no
  /// subscription drain runs, then refuses new ones. False if one still runs at
  /// `deadline` (new ones are refused all the same).
  bool close_when_idle(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    const bool idle = idle_.wait_until(lock, deadline, [this] { return running_ == 0; });
    connection_draining_ = true;
    return idle;
  }

 private:
  std::mutex mutex_;
  std::condition_variable idle_;
  int running_ = 0;
  bool connection_draining_ = false;
};

}  // namespace natscoro::detail

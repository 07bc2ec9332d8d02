// Counters kept on the connection's strand and read from any thread: every
// public stats() returns a snapshot of one of these.
#pragma once

#include <mutex>
#include <utility>

namespace natscoro::detail {

template <class Stats>
class shared_stats {
 public:
  /// Runs `f(stats)` under the lock. An uncontended lock costs tens of nanoseconds,
  /// against microseconds of work per message.
  template <class F>
  void update(F&& f) {
    std::lock_guard lock(mutex_);
    std::forward<F>(f)(value_);
  }

  Stats snapshot() const {
    std::lock_guard lock(mutex_);
    return value_;
  }

 private:
  mutable std::mutex mutex_;
  Stats value_{};
};

}  // namespace natscoro::detail

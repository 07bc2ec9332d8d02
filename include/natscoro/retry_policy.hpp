// How often and how late a failed attempt is tried again.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

namespace natscoro {

struct retry_policy {
  /// Attempts in all, the first included (4 = the first try and 3 retries).
  int max_attempts = 4;
  /// Delay before retry n (n from 1) is backoff[n-1]; past the end, the last
  /// delay doubles each time, up to max_delay. Empty: retry at once.
  std::vector<std::chrono::milliseconds> backoff{std::chrono::seconds(1)};
  std::chrono::milliseconds max_delay{std::chrono::seconds(30)};
  /// Each delay is drawn uniformly from [delay * (1 - jitter), delay * (1 + jitter)].
  double jitter = 0.2;

  /// The delay before retry `retry` (1 = the first retry) with no jitter applied.
  std::chrono::milliseconds nominal_delay(int retry) const;
  /// The delay with jitter; `unit_random` is a number in [0, 1).
  std::chrono::milliseconds delay(int retry, double unit_random) const;
};

}  // namespace natscoro

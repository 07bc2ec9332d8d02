// A distribution of durations in fixed buckets, as Prometheus histograms keep
// them: the publisher's PubAck latency, the runner's latency from stream to
// handled. Part of the stats structs; metrics.hpp exposes it.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace natscoro {

struct latency_histogram {
  /// The buckets' upper bounds in seconds, from 500 us to 10 s; one more bucket
  /// holds what is above the last.
  static constexpr std::array<double, 14> bounds{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                 0.1,    0.25,  0.5,    1.0,   2.5,  5.0,   10.0};
  /// How many fell in each bucket (not cumulative): buckets[i] counts durations
  /// above bounds[i-1] and up to bounds[i]; the last, those above every bound.
  std::array<std::uint64_t, bounds.size() + 1> buckets{};
  std::uint64_t count = 0;
  double sum_seconds = 0;

  void record(std::chrono::nanoseconds d) noexcept {
    const double seconds = std::chrono::duration<double>(d).count();
    std::size_t i = 0;
    while (i < bounds.size() && seconds > bounds[i]) ++i;
    ++buckets[i];
    ++count;
    sum_seconds += seconds;
  }
};

}  // namespace natscoro

// The Prometheus text exposition format (0.0.4), with no I/O: metric families
// with their HELP and TYPE lines, samples with escaped label values, and
// histograms with cumulative buckets. metrics.cpp fills one per scrape.
#pragma once

#include <natscoro/latency_histogram.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace natscoro::detail {

class exposition {
 public:
  using labels = std::vector<std::pair<std::string_view, std::string_view>>;

  void counter(std::string_view name, std::string_view help, const labels& l, double value);
  void gauge(std::string_view name, std::string_view help, const labels& l, double value);
  /// `name`_bucket{le=...} (cumulative), `name`_sum and `name`_count.
  void histogram(std::string_view name, std::string_view help, const labels& l, const latency_histogram& h);

  /// Every family, in the order each was first given, its samples together.
  std::string text() const;

  /// A label value as the format wants it: backslash, double quote and line feed escaped.
  static std::string escaped(std::string_view value);

 private:
  struct family {
    std::string name, help, type, samples;
  };
  family& family_of(std::string_view name, std::string_view help, std::string_view type);
  static std::string sample(std::string_view name, const labels& l, double value);

  std::vector<family> families_;
};

}  // namespace natscoro::detail

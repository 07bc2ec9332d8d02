#include <natscoro/units.hpp>

#include <boost/algorithm/string/predicate.hpp>

#include <algorithm>
#include <cctype>
#include <iterator>
#include <limits>

namespace natscoro {

std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text) {
  using namespace std::chrono;
  static const std::pair<std::string_view, nanoseconds> units[] = {
      {"ns", nanoseconds(1)}, {"us", microseconds(1)}, {"ms", milliseconds(1)}, {"s", seconds(1)},
      {"m", minutes(1)},      {"h", hours(1)},         {"d", hours(24)}};
  if (text.empty()) return std::nullopt;
  nanoseconds total{0};
  std::size_t i = 0;
  while (i < text.size()) {
    std::int64_t n = 0;
    const std::size_t digits_start = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      if (n > std::numeric_limits<std::int64_t>::max() / 10 - 10) return std::nullopt;
      n = n * 10 + (text[i++] - '0');
    }
    const std::size_t unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    if (i == digits_start || unit_start == digits_start || unit_start == i) return std::nullopt;
    const auto unit = text.substr(unit_start, i - unit_start);
    const auto* u = std::find_if(std::begin(units), std::end(units), [&](const auto& e) { return e.first == unit; });
    if (u == std::end(units)) return std::nullopt;
    if (n > std::numeric_limits<std::int64_t>::max() / u->second.count()) return std::nullopt;
    const auto part = n * u->second;
    if (total > nanoseconds::max() - part) return std::nullopt;  // the parts add up past the range
    total += part;
  }
  return total;
}

std::optional<std::int64_t> parse_size(std::string_view text) {
  static const std::pair<std::string_view, std::int64_t> units[] = {
      {"", 1}, {"B", 1}, {"KB", 1LL << 10}, {"MB", 1LL << 20}, {"GB", 1LL << 30}, {"TB", 1LL << 40}};
  std::size_t i = 0;
  std::int64_t n = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
    if (n > std::numeric_limits<std::int64_t>::max() / 10 - 10) return std::nullopt;
    n = n * 10 + (text[i++] - '0');
  }
  if (i == 0) return std::nullopt;
  const auto unit = text.substr(i);
  const auto* u = std::find_if(std::begin(units), std::end(units),
                               [&](const auto& e) { return boost::algorithm::iequals(e.first, unit); });
  if (u == std::end(units) || n > std::numeric_limits<std::int64_t>::max() / u->second) return std::nullopt;
  return n * u->second;
}

std::string format_duration(std::chrono::nanoseconds d) {
  using namespace std::chrono;
  if (d.count() == 0) return "0s";
  if (d.count() < 0) {
    if (d == nanoseconds::min()) return std::to_string(d.count()) + "ns";  // no positive counterpart
    return "-" + format_duration(-d);
  }
  static const std::pair<const char*, nanoseconds> units[] = {
      {"d", hours(24)},        {"h", hours(1)},         {"m", minutes(1)},     {"s", seconds(1)},
      {"ms", milliseconds(1)}, {"us", microseconds(1)}, {"ns", nanoseconds(1)}};
  std::string out;
  for (const auto& [name, unit] : units) {
    if (d < unit) continue;
    out += std::to_string(d / unit) + name;
    d %= unit;
  }
  return out;
}

std::string format_size(std::int64_t bytes) {
  if (bytes < 0) return std::to_string(bytes);
  static const std::pair<const char*, std::int64_t> units[] = {
      {"TB", 1LL << 40}, {"GB", 1LL << 30}, {"MB", 1LL << 20}, {"KB", 1LL << 10}};
  for (const auto& [name, factor] : units)
    if (bytes >= factor && bytes % factor == 0) return std::to_string(bytes / factor) + name;
  return std::to_string(bytes) + "B";
}

}  // namespace natscoro

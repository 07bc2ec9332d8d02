// libFuzzer target: the duration, size and RFC 3339 time parsers. A time that parses
// must format and parse back to the same instant (to the microsecond).
#include <natscoro/event.hpp>
#include <natscoro/topology.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (const auto d = natscoro::parse_duration(text); d && d->count() < 0) std::abort();
  if (const auto s = natscoro::parse_size(text); s && *s < 0) std::abort();
  if (const auto t = natscoro::parse_rfc3339(text)) {
    const auto again = natscoro::parse_rfc3339(natscoro::format_rfc3339(*t));
    if (!again ||
        std::chrono::floor<std::chrono::microseconds>(*again) != std::chrono::floor<std::chrono::microseconds>(*t))
      std::abort();
  }
  return 0;
}

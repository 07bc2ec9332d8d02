#include <natscoro/detail/trace_parent.hpp>

#include <boost/uuid/random_generator.hpp>
#include <boost/uuid/uuid.hpp>

#include <algorithm>

namespace natscoro::detail {
namespace {

bool lower_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool all_zero(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == '0'; });
}

// `digits` random lower-case hex digits (at most 32), never all zero.
std::string random_hex(std::size_t digits) {
  thread_local boost::uuids::random_generator generate;
  static constexpr char hex[] = "0123456789abcdef";
  for (;;) {
    const boost::uuids::uuid u = generate();
    std::string out;
    for (const auto byte : u) {
      out += hex[byte >> 4];
      out += hex[byte & 0x0f];
    }
    out.resize(digits);
    if (!all_zero(out)) return out;
  }
}

}  // namespace

std::optional<trace_parent> trace_parent::parse(std::string_view text) {
  // 2 + 1 + 32 + 1 + 16 + 1 + 2
  if (text.size() != 55 || text[2] != '-' || text[35] != '-' || text[52] != '-') return std::nullopt;
  trace_parent t{std::string(text.substr(3, 32)), std::string(text.substr(36, 16)), std::string(text.substr(53, 2))};
  if (text.substr(0, 2) != "00" || !lower_hex(t.trace_id) || !lower_hex(t.parent_id) || !lower_hex(t.flags) ||
      all_zero(t.trace_id) || all_zero(t.parent_id))
    return std::nullopt;
  return t;
}

trace_parent trace_parent::fresh() { return {random_hex(32), random_hex(16), "01"}; }

trace_parent trace_parent::child() const { return {trace_id, random_hex(16), flags}; }

}  // namespace natscoro::detail

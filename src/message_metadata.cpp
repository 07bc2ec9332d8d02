#include <natscoro/message_metadata.hpp>

#include <array>
#include <charconv>

namespace natscoro {
namespace {

// The dot-separated tokens of an ack subject, without an allocation: the newest
// form has 12; a subject with more is not one.
struct tokens {
  std::array<std::string_view, 12> at;
  std::size_t size = 0;
  std::string_view operator[](std::size_t i) const { return at[i]; }
};

std::optional<tokens> split(std::string_view s) {
  tokens t;
  std::size_t start = 0;
  for (;;) {
    if (t.size == t.at.size()) return std::nullopt;
    const auto dot = s.find('.', start);
    t.at[t.size++] = s.substr(start, dot - start);
    if (dot == std::string_view::npos) return t;
    start = dot + 1;
  }
}

bool number(std::string_view s, std::uint64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && ec == std::errc{} && p == s.data() + s.size();
}

}  // namespace

std::optional<message_metadata> message_metadata::parse(std::string_view ack_subject) {
  const auto split_subject = split(ack_subject);
  if (!split_subject) return std::nullopt;
  const tokens& t = *split_subject;
  if (t.size < 9 || t[0] != "$JS" || t[1] != "ACK") return std::nullopt;
  // The old form has exactly 9 tokens; the new one inserts domain and account hash (and may append a token).
  std::size_t first = 2;
  message_metadata md;
  if (t.size >= 11) {
    first = 4;
    if (t[2] != "_") md.domain = std::string(t[2]);
  } else if (t.size != 9) {
    return std::nullopt;
  }
  md.stream = std::string(t[first]);
  md.consumer = std::string(t[first + 1]);
  std::uint64_t nanos = 0;
  if (md.stream.empty() || md.consumer.empty() || !number(t[first + 2], md.num_delivered) ||
      !number(t[first + 3], md.stream_sequence) || !number(t[first + 4], md.consumer_sequence) ||
      !number(t[first + 5], nanos) || !number(t[first + 6], md.num_pending))
    return std::nullopt;
  md.timestamp = std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(nanos)));
  return md;
}

}  // namespace natscoro

#include <natscoro/message_metadata.hpp>

#include <charconv>
#include <vector>

namespace natscoro {
namespace {

std::vector<std::string_view> split(std::string_view s) {
  std::vector<std::string_view> tokens;
  std::size_t start = 0;
  for (;;) {
    const auto dot = s.find('.', start);
    tokens.push_back(s.substr(start, dot - start));
    if (dot == std::string_view::npos) return tokens;
    start = dot + 1;
  }
}

bool number(std::string_view s, std::uint64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && ec == std::errc{} && p == s.data() + s.size();
}

}  // namespace

std::optional<message_metadata> message_metadata::parse(std::string_view ack_subject) {
  const auto t = split(ack_subject);
  if (t.size() < 9 || t[0] != "$JS" || t[1] != "ACK") return std::nullopt;
  // The old form has exactly 9 tokens; the new one inserts domain and account hash (and may append a token).
  std::size_t first = 2;
  message_metadata md;
  if (t.size() >= 11) {
    first = 4;
    if (t[2] != "_") md.domain = std::string(t[2]);
  } else if (t.size() != 9) {
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

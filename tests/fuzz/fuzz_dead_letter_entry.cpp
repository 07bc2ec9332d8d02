// libFuzzer target: reading a DLQ entry back from a STREAM.MSG.GET reply (JSON,
// base64, NATS header block), the replay check and the replayed message. An entry is
// written by whoever may publish to the DLQ's subjects: a refused replay is fine, a
// replay to a subject the check should have refused is a bug.
#include <natscoro/detail/dead_letter_format.hpp>
#include <natscoro/detail/names.hpp>
#include <natscoro/detail/stored_message.hpp>

#include <boost/json/parse.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace d = natscoro::detail;
  boost::system::error_code ec;
  const auto reply = boost::json::parse(std::string_view(reinterpret_cast<const char*>(data), size), ec);
  if (ec) return 0;
  d::stored_message m;
  std::string detail;
  if (d::parse_stored_message(reply, m, detail)) return 0;
  const auto entry = d::read_dead_letter_entry(std::move(m));
  if (d::check_replay_target(entry, {"orders.>", "billing.*"}, detail)) return 0;
  const auto out = d::replay_message(entry, "DLQ");
  if (!d::valid_publish_subject(out.subject) || d::reserved_subject(out.subject) ||
      !(d::subject_matches(out.subject, "orders.>") || d::subject_matches(out.subject, "billing.*")))
    std::abort();
  for (const auto& [name, value] : out.headers)
    if (name.starts_with("Nats-") && name != "Nats-Expected-Stream") std::abort();
  return 0;
}

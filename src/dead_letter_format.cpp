#include <natscoro/detail/dead_letter_format.hpp>
#include <natscoro/detail/log_text.hpp>
#include <natscoro/detail/names.hpp>
#include <natscoro/detail/nats_message.hpp>

#include <boost/algorithm/string/predicate.hpp>

#include <algorithm>
#include <charconv>

namespace natscoro::detail {

namespace {

// Header values cannot hold line breaks; a failure's text may be long.
std::string header_safe(std::string text) {
  std::replace_if(text.begin(), text.end(), [](char c) { return c == '\r' || c == '\n'; }, ' ');
  constexpr std::size_t limit = 1024;
  if (text.size() > limit) text = text.substr(0, limit) + "...";
  return text;
}

}  // namespace

raw_message dead_letter_message(const std::string& subject_prefix, header_list headers, std::string data,
                                const failure_record& failure) {
  std::erase_if(headers, [](const auto& h) {
    return boost::algorithm::istarts_with(h.first, dead_letter_headers::prefix) ||
           boost::algorithm::iequals(h.first, "Nats-Msg-Id");
  });
  headers.emplace_back(dead_letter_headers::original_stream, failure.stream);
  headers.emplace_back(dead_letter_headers::original_subject, failure.subject);
  headers.emplace_back(dead_letter_headers::original_sequence, std::to_string(failure.sequence));
  headers.emplace_back(dead_letter_headers::consumer, failure.consumer);
  headers.emplace_back(dead_letter_headers::deliveries, std::to_string(failure.deliveries));
  headers.emplace_back(dead_letter_headers::error,
                       header_safe(failure.error.empty() ? "unknown failure" : failure.error));
  headers.emplace_back(dead_letter_headers::failed_at, format_rfc3339(event::clock::now()));
  raw_message out;
  out.subject = subject_prefix + "." + failure.subject;
  out.headers = std::move(headers);
  out.data = std::move(data);
  out.id = "dlq-" + failure.stream + "-" + std::to_string(failure.sequence);
  return out;
}

std::optional<raw_message> truncated_dead_letter(raw_message message, std::size_t max_size) {
  constexpr std::size_t id_room = 128;  // "Nats-Msg-Id: dlq-<stream>-<sequence>"
  const bool cut_before = std::any_of(message.headers.begin(), message.headers.end(), [](const auto& h) {
    return boost::algorithm::iequals(h.first, dead_letter_headers::truncated);
  });
  if (!cut_before) message.headers.emplace_back(dead_letter_headers::truncated, std::to_string(message.data.size()));
  const std::size_t headers = wire_payload_size(message.headers, {}) + id_room;
  if (max_size == 0) {
    message.data.clear();
    return message;
  }
  if (headers > max_size) return std::nullopt;
  message.data.resize(std::min(message.data.size(), max_size - headers));
  return message;
}

dead_letter_entry read_dead_letter_entry(stored_message m) {
  auto header = [&](std::string_view name) {
    for (const auto& [k, v] : m.headers)
      if (boost::algorithm::iequals(k, name)) return v;
    return std::string();
  };
  auto number = [&](std::string_view name) {
    const auto text = header(name);
    std::uint64_t v = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    return ec == std::errc{} && end == text.data() + text.size() ? v : 0;
  };
  dead_letter_entry e;
  e.sequence = m.sequence;
  e.subject = std::move(m.subject);
  e.original_stream = header(dead_letter_headers::original_stream);
  e.original_subject = header(dead_letter_headers::original_subject);
  e.original_sequence = number(dead_letter_headers::original_sequence);
  e.consumer = header(dead_letter_headers::consumer);
  e.deliveries = number(dead_letter_headers::deliveries);
  e.error = header(dead_letter_headers::error);
  e.failed_at = header(dead_letter_headers::failed_at);
  e.headers = std::move(m.headers);
  e.data = std::move(m.data);
  return e;
}

error_code check_replay_target(const dead_letter_entry& entry, const std::vector<std::string>& stream_subjects,
                               std::string& detail) {
  auto refuse = [&](std::string why) {
    detail = "dead-letter entry #" + std::to_string(entry.sequence) + ": " + std::move(why) + "; not replayed";
    return make_error_code(errc::replay_refused);
  };
  const auto& subject = entry.original_subject;
  if (subject.empty()) return refuse("no Natscoro-Original-Subject header (not written by natscoro)");
  if (!valid_publish_subject(subject))
    return refuse("original subject \"" + printable(subject) + "\" is not a subject");
  if (reserved_subject(subject))
    return refuse("original subject \"" + printable(subject) + "\" is a server or reply subject");
  for (const auto& pattern : stream_subjects)
    if (subject_matches(subject, pattern)) return {};
  return refuse("original subject \"" + printable(subject) + "\" is not among the subjects of stream " +
                printable(entry.original_stream));
}

raw_message replay_message(const dead_letter_entry& entry, const std::string& dead_letter_stream) {
  raw_message out;
  out.subject = entry.original_subject;
  out.data = entry.data;
  out.id = new_event_id();
  out.headers = entry.headers;
  std::erase_if(out.headers, [](const auto& h) {
    return boost::algorithm::istarts_with(h.first, dead_letter_headers::prefix) ||
           boost::algorithm::istarts_with(h.first, "Nats-");
  });
  out.headers.emplace_back("Nats-Expected-Stream", entry.original_stream);
  out.headers.emplace_back(dead_letter_headers::replay_id, out.id);
  out.headers.emplace_back(dead_letter_headers::replayed_from,
                           dead_letter_stream + ":" + std::to_string(entry.sequence));
  return out;
}

}  // namespace natscoro::detail

#include <natscoro/detail/envelope_codec.hpp>
#include <natscoro/detail/log_text.hpp>
#include <natscoro/detail/trace_parent.hpp>
#include <natscoro/event.hpp>

#include <boost/uuid/random_generator.hpp>
#include <boost/uuid/uuid_io.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <cstdio>
#include <optional>

#include <pthread.h>

namespace natscoro {
namespace {

// Attribute names the CloudEvents spec and natscoro already use; an extension may not take them.
constexpr std::array<std::string_view, 14> known_attributes = {
    "specversion", "id",   "source",      "type",           "time",          "datacontenttype", "subject",
    "dataschema",  "data", "data_base64", "organizationid", "schemaversion", "correlationid",   "causationid"};

// Digits only: no sign (from_chars would take "-1" as an hour).
template <class Int>
bool parse_int(std::string_view s, Int& out) {
  if (s.empty() || s.front() < '0' || s.front() > '9') return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size();
}

// Counts forks: a forked child must not repeat its parent's ids from a copied
// generator state. Counted by an atfork hook, because getpid() is a system call.
std::atomic<unsigned> fork_generation{0};

unsigned current_fork_generation() {
  static const int hooked = ::pthread_atfork(nullptr, nullptr, [] { fork_generation.fetch_add(1); });
  (void)hooked;
  return fork_generation.load(std::memory_order_relaxed);
}
}  // namespace

bool valid_extension_name(std::string_view name) {
  return !name.empty() && name.size() <= 20 &&
         std::all_of(name.begin(), name.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); });
}

std::string new_event_id() {
  // A Mersenne Twister per thread, seeded in full from the OS once (Boost's
  // default generator asks the kernel for every id: a system call per event),
  // and again in a forked child.
  thread_local std::optional<boost::uuids::random_generator_mt19937> generator;
  thread_local unsigned seeded_in = 0;
  if (const unsigned generation = current_fork_generation(); !generator || seeded_in != generation) {
    generator.emplace();
    seeded_in = generation;
  }
  return boost::uuids::to_string((*generator)());
}

event event::make(std::string type, std::string organization) {
  event e;
  e.id = new_event_id();
  e.type = std::move(type);
  e.organizationid = std::move(organization);
  e.time = std::chrono::time_point_cast<std::chrono::microseconds>(clock::now());
  return e;
}

event event::follow_up(std::string next_type) const {
  event e = make(std::move(next_type), organizationid);
  e.correlationid = correlationid ? correlationid : std::optional<std::string>(id);
  e.causationid = id;
  if (const auto it = extensions.find("traceparent"); it != extensions.end())
    if (const auto parent = detail::trace_parent::parse(it->second)) {
      e.extensions["traceparent"] = parent->child().text();
      if (const auto state = extensions.find("tracestate"); state != extensions.end())
        e.extensions["tracestate"] = state->second;
    }
  return e;
}

void event::start_trace() {
  if (!extensions.contains("traceparent")) extensions["traceparent"] = detail::trace_parent::fresh().text();
}

error_code event::validate(std::string& detail, bool require_organization) const {
  auto fail = [&](std::string text) {
    detail = std::move(text);
    return make_error_code(errc::invalid_event);
  };
  if (specversion != "1.0") return fail("attribute 'specversion' must be \"1.0\", not \"" + specversion + "\"");
  if (id.empty()) return fail("attribute 'id' is empty");
  if (source.empty()) return fail("attribute 'source' is empty");
  if (type.empty()) return fail("attribute 'type' is empty");
  if (time == clock::time_point{}) return fail("attribute 'time' is not set");
  if (datacontenttype.empty()) return fail("attribute 'datacontenttype' is empty");
  if (subject && subject->empty()) return fail("attribute 'subject' is present but empty");
  if (dataschema && dataschema->empty()) return fail("attribute 'dataschema' is present but empty");
  if (require_organization && organizationid.empty()) return fail("attribute 'organizationid' (tenant) is empty");
  if (schemaversion.empty()) return fail("attribute 'schemaversion' is empty");
  for (const auto& [name, value] : extensions) {
    if (!valid_extension_name(name))
      return fail("extension attribute name '" + name + "' is invalid (lower-case letters and digits, at most 20)");
    if (std::find(known_attributes.begin(), known_attributes.end(), name) != known_attributes.end())
      return fail("extension attribute '" + name + "' collides with a standard attribute");
    if (name == "traceparent" && !natscoro::detail::trace_parent::parse(value))
      return fail("extension attribute 'traceparent' is not a W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>): \"" +
                  natscoro::detail::printable(value, 80) + "\"");
  }
  return {};
}

void event::check(bool require_organization) const {
  std::string detail;
  if (auto ec = validate(detail, require_organization)) throw error(ec, detail);
}

std::string format_rfc3339(event::clock::time_point t) {
  using namespace std::chrono;
  const auto us = time_point_cast<microseconds>(t);
  const auto days = floor<std::chrono::days>(us);
  const year_month_day ymd{days};
  const hh_mm_ss hms{us - days};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%06lldZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()), static_cast<long long>(hms.subseconds().count()));
  return buf;
}

std::optional<event::clock::time_point> parse_rfc3339(std::string_view s) {
  using namespace std::chrono;
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':')
    return std::nullopt;
  int y = 0;
  unsigned mo = 0, d = 0;
  int h = 0, mi = 0, se = 0;
  if (!parse_int(s.substr(0, 4), y) || !parse_int(s.substr(5, 2), mo) || !parse_int(s.substr(8, 2), d) ||
      !parse_int(s.substr(11, 2), h) || !parse_int(s.substr(14, 2), mi) || !parse_int(s.substr(17, 2), se))
    return std::nullopt;
  const year_month_day ymd{year{y}, month{mo}, day{d}};
  if (!ymd.ok() || h > 23 || mi > 59 || se > 60) return std::nullopt;
  std::size_t pos = 19;
  microseconds frac{0};
  if (pos < s.size() && s[pos] == '.') {
    const std::size_t start = ++pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
    if (pos == start) return std::nullopt;
    std::string digits(s.substr(start, std::min<std::size_t>(pos - start, 6)));
    digits.resize(6, '0');
    long long v = 0;
    if (!parse_int(std::string_view(digits), v)) return std::nullopt;
    frac = microseconds{v};
  }
  minutes offset{0};
  if (pos >= s.size()) return std::nullopt;
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if ((s[pos] == '+' || s[pos] == '-') && s.size() - pos == 6 && s[pos + 3] == ':') {
    int oh = 0, om = 0;
    if (!parse_int(s.substr(pos + 1, 2), oh) || !parse_int(s.substr(pos + 4, 2), om) || oh > 23 || om > 59)
      return std::nullopt;
    offset = hours{oh} + minutes{om};
    if (s[pos] == '-') offset = -offset;
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  const auto utc = sys_days{ymd} + hours{h} + minutes{mi} + seconds{se} + frac - offset;
  // The clock counts nanoseconds in 64 bits: about 1677-09-21 to 2262-04-11.
  using clock = event::clock;
  if (utc < time_point_cast<microseconds>(clock::time_point::min()) + seconds(1) ||
      utc > time_point_cast<microseconds>(clock::time_point::max()) - seconds(1))
    return std::nullopt;
  return time_point_cast<clock::duration>(utc);
}

std::string to_structured_json(const event& e) { return detail::encode_event(e, event_encoding::structured).body; }

}  // namespace natscoro

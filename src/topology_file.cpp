// Reading a topology from JSON: every field known, every value checked.
#include <natscoro/detail/names.hpp>
#include <natscoro/topology.hpp>

#include <boost/algorithm/string/predicate.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <map>
#include <set>
#include <sstream>

namespace natscoro {
namespace json = boost::json;

namespace {

[[noreturn]] void refuse(const std::string& where, const std::string& what) {
  throw error(make_error_code(errc::invalid_argument), where + ": " + what);
}

std::string kind_of(const json::value& v) {
  switch (v.kind()) {
    case json::kind::string:
      return "\"" + std::string(v.as_string()) + "\"";
    case json::kind::array:
      return "an array";
    case json::kind::object:
      return "an object";
    case json::kind::bool_:
      return v.as_bool() ? "true" : "false";
    case json::kind::null:
      return "null";
    default:
      return json::serialize(v);
  }
}

// The largest value of `Int` that JSON numbers here may take (the server's fields are int64 at most).
template <class Int>
constexpr std::int64_t largest() {
  return static_cast<std::int64_t>(
      std::min<std::uint64_t>(std::numeric_limits<Int>::max(), std::numeric_limits<std::int64_t>::max()));
}

// Reads the fields of one JSON object into a configuration; every field must be known.
class field_reader {
 public:
  field_reader(std::string where, const json::object& o) : where_(std::move(where)), o_(o) {}

  void text(const char* key, std::string& out, bool required = false) {
    const auto* v = find(key, required);
    if (!v) return;
    if (!v->is_string() || v->as_string().empty()) fail(key, "expected a non-empty string, got " + kind_of(*v));
    out = std::string(v->as_string());
  }
  /// A whole number from `min` to `max` (by default, what `Int` holds).
  template <class Int>
  void integer(const char* key, Int& out, std::int64_t min, std::int64_t max = largest<Int>()) {
    const auto* v = find(key, false);
    if (!v) return;
    if (!v->is_int64() && !v->is_uint64()) fail(key, "expected a whole number, got " + kind_of(*v));
    const bool too_large = v->is_uint64() ? v->as_uint64() > static_cast<std::uint64_t>(max) : v->as_int64() > max;
    if (too_large || (v->is_int64() && v->as_int64() < min))
      fail(key, "expected a whole number from " + std::to_string(min) + " to " + std::to_string(max) + ", got " +
                    json::serialize(*v));
    out = static_cast<Int>(v->to_number<std::int64_t>());
  }
  void flag(const char* key, bool& out) {
    const auto* v = find(key, false);
    if (!v) return;
    if (!v->is_bool()) fail(key, "expected true or false, got " + kind_of(*v));
    out = v->as_bool();
  }
  void duration(const char* key, std::chrono::nanoseconds& out) {
    const auto* v = find(key, false);
    if (!v) return;
    out = duration_of(key, *v);
  }
  void durations(const char* key, std::vector<std::chrono::nanoseconds>& out) {
    const auto* v = find(key, false);
    if (!v) return;
    if (!v->is_array()) fail(key, "expected an array of durations, got " + kind_of(*v));
    for (const auto& d : v->as_array()) out.push_back(duration_of(key, d));
  }
  // A size: "1GB" and the like, a number of bytes, or -1 for no limit; at most what `Int` holds.
  template <class Int>
  void size(const char* key, Int& out) {
    const auto* v = find(key, false);
    if (!v) return;
    const bool negative = v->is_int64() && v->as_int64() < -1;
    if (!negative && (v->is_int64() || v->is_uint64())) return integer(key, out, -1);
    const auto n = v->is_string() ? parse_size(v->as_string()) : std::nullopt;
    if (!n) fail(key, "expected a size like \"1GB\" (KB, MB, GB are 1024-based) or -1, got " + kind_of(*v));
    if (*n > std::numeric_limits<Int>::max())
      fail(key, kind_of(*v) + " is more than the largest size the field holds, " +
                    std::to_string(std::numeric_limits<Int>::max()) + " bytes");
    out = static_cast<Int>(*n);
  }
  template <class Enum>
  void choice(const char* key, Enum& out, std::initializer_list<std::pair<std::string_view, Enum>> options) {
    const auto* v = find(key, false);
    if (!v) return;
    std::string names;
    for (const auto& [name, value] : options) {
      if (v->is_string() && v->as_string() == name) return void(out = value);
      names += (names.empty() ? "\"" : ", \"") + std::string(name) + "\"";
    }
    fail(key, "expected one of " + names + ", got " + kind_of(*v));
  }
  void subjects(const char* key, std::vector<std::string>& out, bool required) {
    const auto* v = find(key, required);
    if (!v) return;
    if (!v->is_array() || v->as_array().empty())
      fail(key, "expected a non-empty array of subjects, got " + kind_of(*v));
    for (const auto& s : v->as_array()) {
      if (!s.is_string() || s.as_string().empty()) fail(key, "expected subjects, got " + kind_of(s));
      out.emplace_back(s.as_string());
      subject_checked(key, out.back());
    }
  }
  void subject(const char* key, std::string& out) {
    text(key, out);
    if (!out.empty()) subject_checked(key, out);
  }
  /// Fails on a field none of the calls above asked for.
  void no_other_fields() const {
    for (const auto& [key, value] : o_)
      if (!known_.contains(std::string(key))) refuse(where_, "unknown field \"" + std::string(key) + "\"");
  }
  [[noreturn]] void fail(const char* key, const std::string& what) const {
    refuse(where_, std::string(key) + ": " + what);
  }

 private:
  const json::value* find(const char* key, bool required) {
    known_.insert(key);
    const auto* v = o_.if_contains(key);
    if (!v && required) refuse(where_, std::string("missing \"") + key + "\"");
    return v;
  }
  void subject_checked(const char* key, const std::string& subject) const {
    std::string detail;
    if (detail::check_filter_subject("subject", subject, detail)) fail(key, detail);
  }
  std::chrono::nanoseconds duration_of(const char* key, const json::value& v) const {
    const auto d = v.is_string() ? parse_duration(v.as_string()) : std::nullopt;
    if (!d) fail(key, "expected a duration like \"30s\" or \"7d\", got " + kind_of(v));
    return *d;
  }

  std::string where_;
  const json::object& o_;
  std::set<std::string> known_;
};

stream_config read_stream(const json::value& v, std::size_t index) {
  std::string where = "streams[" + std::to_string(index) + "]";
  if (!v.is_object()) refuse(where, "expected an object, got " + kind_of(v));
  const auto& o = v.as_object();
  if (const auto* n = o.if_contains("name"); n && n->is_string()) where += " \"" + std::string(n->as_string()) + "\"";
  field_reader r(where, o);
  stream_config c;
  r.text("name", c.name, true);
  if (!detail::valid_name(c.name)) r.fail("name", "not a valid stream name (no '.', '*', '>', spaces)");
  r.subjects("subjects", c.subjects, true);
  r.text("description", c.description);
  r.choice("retention", c.retention,
           {{"limits", retention_policy::limits},
            {"interest", retention_policy::interest},
            {"workqueue", retention_policy::work_queue},
            {"work_queue", retention_policy::work_queue}});
  r.choice("storage", c.storage, {{"file", storage_type::file}, {"memory", storage_type::memory}});
  r.duration("max_age", c.max_age);
  r.size("max_bytes", c.max_bytes);
  r.integer("max_msgs", c.max_msgs, -1);
  r.size("max_msg_size", c.max_msg_size);
  r.integer("max_msgs_per_subject", c.max_msgs_per_subject, -1);
  r.choice("discard", c.discard, {{"old", discard_policy::old_messages}, {"new", discard_policy::new_messages}});
  r.integer("replicas", c.replicas, 1, 5);
  r.duration("duplicate_window", c.duplicate_window);
  r.flag("allow_rollup", c.allow_rollup);
  r.flag("deny_delete", c.deny_delete);
  r.flag("deny_purge", c.deny_purge);
  r.no_other_fields();
  return c;
}

consumer_entry read_consumer(const json::value& v, std::size_t index) {
  std::string where = "consumers[" + std::to_string(index) + "]";
  if (!v.is_object()) refuse(where, "expected an object, got " + kind_of(v));
  const auto& o = v.as_object();
  const auto* s = o.if_contains("stream");
  const auto* d = o.if_contains("durable");
  if (s && s->is_string() && d && d->is_string())
    where += " \"" + std::string(s->as_string()) + "/" + std::string(d->as_string()) + "\"";
  field_reader r(where, o);
  consumer_entry e;
  auto& c = e.config;
  r.text("stream", e.stream, true);
  r.text("durable", c.durable, true);
  if (!detail::valid_name(c.durable)) r.fail("durable", "not a valid consumer name (no '.', '*', '>', spaces)");
  r.text("description", c.description);
  r.subject("filter_subject", c.filter_subject);
  r.choice("deliver", c.deliver,
           {{"all", deliver_policy::all},
            {"last", deliver_policy::last},
            {"new", deliver_policy::new_messages},
            {"last_per_subject", deliver_policy::last_per_subject},
            {"by_start_sequence", deliver_policy::by_start_sequence},
            {"by_start_time", deliver_policy::by_start_time}});
  r.integer("start_sequence", c.start_sequence, 1);
  std::string start_time;
  r.text("start_time", start_time);
  if (!start_time.empty()) {
    c.start_time = parse_rfc3339(start_time);
    if (!c.start_time) r.fail("start_time", "expected an RFC 3339 time from 1678 to 2261, got \"" + start_time + "\"");
  }
  r.duration("ack_wait", c.ack_wait);
  r.integer("max_deliver", c.max_deliver, -1);
  r.durations("backoff", c.backoff);
  r.integer("max_ack_pending", c.max_ack_pending, -1);
  r.integer("replicas", c.replicas, 0, 5);
  r.no_other_fields();
  if (c.deliver == deliver_policy::by_start_sequence && c.start_sequence == 0)
    r.fail("start_sequence", "required with \"deliver\": \"by_start_sequence\"");
  if (c.deliver == deliver_policy::by_start_time && !c.start_time)
    r.fail("start_time", "required with \"deliver\": \"by_start_time\"");
  if (!c.backoff.empty() && c.max_deliver > 0 && static_cast<int>(c.backoff.size()) >= c.max_deliver)
    r.fail("backoff", std::to_string(c.backoff.size()) + " delays need max_deliver above " +
                          std::to_string(c.backoff.size()) + " (the server's rule), got " +
                          std::to_string(c.max_deliver));
  return e;
}

}  // namespace

topology parse_topology(std::string_view json_text) {
  boost::system::error_code ec;
  const json::value doc = json::parse(json_text, ec);
  if (ec) refuse("the topology", "not valid JSON (" + ec.message() + ")");
  if (!doc.is_object()) refuse("the topology", "expected an object with \"streams\" and \"consumers\"");
  topology t;
  for (const auto& [key, value] : doc.as_object()) {
    if (key != "streams" && key != "consumers") refuse("the topology", "unknown field \"" + std::string(key) + "\"");
    if (!value.is_array()) refuse(std::string(key), "expected an array, got " + kind_of(value));
  }
  if (const auto* streams = doc.as_object().if_contains("streams"))
    for (std::size_t i = 0; i < streams->as_array().size(); ++i)
      t.streams.push_back(read_stream(streams->as_array()[i], i));
  if (const auto* consumers = doc.as_object().if_contains("consumers"))
    for (std::size_t i = 0; i < consumers->as_array().size(); ++i)
      t.consumers.push_back(read_consumer(consumers->as_array()[i], i));

  std::map<std::string, std::size_t> names;
  for (std::size_t i = 0; i < t.streams.size(); ++i) {
    const auto& s = t.streams[i];
    const std::string where = "streams[" + std::to_string(i) + "] \"" + s.name + "\"";
    if (!names.emplace(s.name, i).second) refuse(where, "a second stream of that name");
    for (std::size_t j = 0; j < i; ++j)
      for (const auto& mine : s.subjects)
        for (const auto& theirs : t.streams[j].subjects)
          if (detail::subjects_overlap(mine, theirs))
            refuse(where,
                   "subjects: \"" + mine + "\" overlaps \"" + theirs + "\" of stream \"" + t.streams[j].name + "\"");
  }
  std::set<std::pair<std::string, std::string>> consumers;
  for (std::size_t i = 0; i < t.consumers.size(); ++i) {
    const auto& c = t.consumers[i];
    const std::string where = "consumers[" + std::to_string(i) + "] \"" + c.stream + "/" + c.config.durable + "\"";
    if (!names.contains(c.stream)) refuse(where, "stream: \"" + c.stream + "\" is not among the streams of the file");
    if (!consumers.emplace(c.stream, c.config.durable).second) refuse(where, "a second consumer of that name");
  }
  return t;
}

topology with_replicas(topology t, int replicas) {
  if (replicas < 1 || replicas > 5)
    throw error(make_error_code(errc::out_of_range),
                "replicas: expected 1 to 5 (what JetStream allows), got " + std::to_string(replicas));
  for (auto& stream : t.streams) stream.replicas = replicas;
  for (auto& c : t.consumers) c.config.replicas = 0;  // as the stream
  return t;
}

topology load_topology(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw error(make_error_code(errc::invalid_argument), path + ": cannot be read");
  std::stringstream text;
  text << in.rdbuf();
  try {
    return parse_topology(text.str());
  } catch (const error& e) {
    throw error(e.code(), path + ": " + e.detail());
  }
}

}  // namespace natscoro

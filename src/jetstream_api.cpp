#include <natscoro/detail/jetstream_api.hpp>
#include <natscoro/units.hpp>

#include <natscoro/event.hpp>

#include <boost/json.hpp>

#include <algorithm>

namespace natscoro::detail {
namespace json = boost::json;

error_code api_error(const json::value& reply, std::string& description) {
  const auto* obj = reply.if_object();
  const auto* err = obj ? obj->if_contains("error") : nullptr;
  if (err == nullptr || !err->is_object()) return {};
  const auto& e = err->as_object();
  int code = 0;
  if (const auto* v = e.if_contains("err_code"); v && v->is_int64())
    code = static_cast<int>(v->as_int64());
  else if (const auto* c = e.if_contains("code"); c && c->is_int64())
    code = static_cast<int>(c->as_int64());
  if (const auto* d = e.if_contains("description"); d && d->is_string()) description = std::string(d->as_string());
  return jetstream_error(code);
}

error_code parse_pub_ack(std::string_view body, pub_ack& out, std::string& detail) {
  // A PubAck is a few dozen bytes: parsed in a stack buffer, it costs no allocation.
  unsigned char scratch_buffer[1024];
  json::monotonic_resource scratch(scratch_buffer, sizeof scratch_buffer);
  boost::system::error_code ec;
  const json::value reply = json::parse(body, ec, &scratch);
  if (ec || !reply.is_object()) {
    detail = "the PubAck is not a JSON object: " + std::string(body.substr(0, 200));
    return make_error_code(nats_errc::protocol_error);
  }
  if (auto err = api_error(reply, detail)) return err;
  const auto& o = reply.as_object();
  const auto* stream = o.if_contains("stream");
  const auto* seq = o.if_contains("seq");
  if (stream == nullptr || !stream->is_string() || seq == nullptr || !(seq->is_int64() || seq->is_uint64())) {
    detail = "the PubAck lacks stream or seq: " + std::string(body.substr(0, 200));
    return make_error_code(nats_errc::protocol_error);
  }
  out.stream = std::string(stream->as_string());
  out.sequence = seq->is_uint64() ? seq->as_uint64() : static_cast<std::uint64_t>(seq->as_int64());
  const auto* dup = o.if_contains("duplicate");
  out.duplicate = dup != nullptr && dup->is_bool() && dup->as_bool();
  if (const auto* d = o.if_contains("domain"); d && d->is_string()) out.domain = std::string(d->as_string());
  return {};
}

json::object to_json(const stream_config& cfg) {
  json::object o;
  o["name"] = cfg.name;
  json::array subjects;
  for (const auto& s : cfg.subjects) subjects.emplace_back(s);
  o["subjects"] = std::move(subjects);
  if (!cfg.description.empty()) o["description"] = cfg.description;
  o["retention"] = cfg.retention == retention_policy::limits     ? "limits"
                   : cfg.retention == retention_policy::interest ? "interest"
                                                                 : "workqueue";
  o["storage"] = cfg.storage == storage_type::file ? "file" : "memory";
  o["max_age"] = cfg.max_age.count();
  o["max_bytes"] = cfg.max_bytes;
  o["max_msgs"] = cfg.max_msgs;
  o["max_msg_size"] = cfg.max_msg_size;
  o["discard"] = cfg.discard == discard_policy::old_messages ? "old" : "new";
  o["num_replicas"] = cfg.replicas;
  o["duplicate_window"] = cfg.duplicate_window.count();
  o["max_msgs_per_subject"] = cfg.max_msgs_per_subject;
  o["allow_rollup_hdrs"] = cfg.allow_rollup;
  o["deny_delete"] = cfg.deny_delete;
  o["deny_purge"] = cfg.deny_purge;
  return o;
}

namespace {

std::string_view deliver_policy_name(deliver_policy p) {
  switch (p) {
    case deliver_policy::all:
      return "all";
    case deliver_policy::last:
      return "last";
    case deliver_policy::new_messages:
      return "new";
    case deliver_policy::last_per_subject:
      return "last_per_subject";
    case deliver_policy::by_start_sequence:
      return "by_start_sequence";
    case deliver_policy::by_start_time:
      return "by_start_time";
  }
  return "all";
}

// Numbers compare by value whatever their JSON representation (int64 or uint64).
bool same(const json::value& a, const json::value& b) {
  if (a.is_number() && b.is_number()) {
    boost::system::error_code ea, eb;
    const auto x = a.to_number<double>(ea), y = b.to_number<double>(eb);
    return !ea && !eb && x == y;
  }
  return a == b;
}

}  // namespace

json::object to_json(const consumer_config& cfg) {
  json::object o;
  if (!cfg.durable.empty()) {
    o["durable_name"] = cfg.durable;
    o["name"] = cfg.durable;
  }
  if (!cfg.description.empty()) o["description"] = cfg.description;
  if (!cfg.filter_subject.empty()) o["filter_subject"] = cfg.filter_subject;
  o["deliver_policy"] = deliver_policy_name(cfg.deliver);
  if (cfg.deliver == deliver_policy::by_start_sequence) o["opt_start_seq"] = cfg.start_sequence;
  if (cfg.deliver == deliver_policy::by_start_time && cfg.start_time)
    o["opt_start_time"] = format_rfc3339(*cfg.start_time);
  o["ack_policy"] = cfg.ack == ack_policy::none ? "none" : "explicit";
  // With a backoff the server takes its first delay as ack_wait; say so, or every compare differs.
  o["ack_wait"] = cfg.backoff.empty() ? cfg.ack_wait.count() : cfg.backoff.front().count();
  o["max_deliver"] = cfg.max_deliver;
  if (!cfg.backoff.empty()) {
    json::array b;
    for (auto d : cfg.backoff) b.emplace_back(d.count());
    o["backoff"] = std::move(b);
  }
  if (cfg.ack != ack_policy::none) o["max_ack_pending"] = cfg.max_ack_pending;  // the server refuses it otherwise
  o["replay_policy"] = "instant";
  if (cfg.inactive_threshold.count() > 0) o["inactive_threshold"] = cfg.inactive_threshold.count();
  if (cfg.replicas > 0) o["num_replicas"] = cfg.replicas;
  return o;
}

std::vector<config_difference> compare(const consumer_config& wanted, const json::object& server) {
  // What nats-server 2.9 lets an update change; the rest is fixed at creation.
  static constexpr std::string_view updatable[] = {"description",     "ack_wait",     "max_deliver",       "backoff",
                                                   "max_ack_pending", "num_replicas", "inactive_threshold"};
  std::vector<config_difference> out;
  const json::object mine = to_json(wanted);
  for (const auto& [key, value] : mine) {
    if (key == "name") continue;  // echoed as durable_name
    const json::value* theirs = server.if_contains(key);
    const json::value absent;
    if (theirs != nullptr && same(*theirs, value)) continue;
    if (key == "opt_start_time" && theirs != nullptr && theirs->is_string() && value.is_string() &&
        parse_rfc3339(theirs->as_string()) == parse_rfc3339(value.as_string()))
      continue;  // same instant, other precision or offset
    const bool can_update =
        std::find(std::begin(updatable), std::end(updatable), std::string_view(key)) != std::end(updatable);
    out.push_back({std::string(key), json::serialize(theirs ? *theirs : absent), json::serialize(value), can_update});
  }
  return out;
}

std::vector<config_difference> compare(const stream_config& wanted, const json::object& server) {
  static constexpr std::string_view fixed[] = {"storage", "retention"};
  std::vector<config_difference> out;
  const json::object mine = to_json(wanted);
  for (const auto& [key, value] : mine) {
    json::value theirs = server.contains(key) ? server.at(key) : json::value();
    if (theirs.is_null() && key == "description") theirs = "";  // omitted when empty
    if (theirs.is_null() && value.is_bool()) theirs = false;    // omitted when false
    if (key == "subjects" && theirs.is_array()) {
      auto sorted = [](const json::value& v) {
        std::vector<std::string> out;
        for (const auto& s : v.as_array())
          if (s.is_string()) out.emplace_back(s.as_string());
        std::sort(out.begin(), out.end());
        return out;
      };
      if (sorted(theirs) == sorted(value)) continue;
    } else if (same(theirs, value)) {
      continue;
    }
    bool can_update = std::find(std::begin(fixed), std::end(fixed), std::string_view(key)) == std::end(fixed);
    if ((key == "deny_delete" || key == "deny_purge") && theirs.is_bool() && theirs.as_bool()) can_update = false;
    out.push_back({std::string(key), json::serialize(theirs), json::serialize(value), can_update});
  }
  return out;
}

namespace {

// A configuration value as an operator writes it: durations and sizes in units.
std::string shown_value(std::string_view field, const std::string& json_text) {
  static constexpr std::string_view durations[] = {"max_age", "duplicate_window", "ack_wait", "inactive_threshold"};
  static constexpr std::string_view sizes[] = {"max_bytes", "max_msg_size"};
  const bool duration = std::find(std::begin(durations), std::end(durations), field) != std::end(durations);
  const bool size = std::find(std::begin(sizes), std::end(sizes), field) != std::end(sizes);
  boost::system::error_code ec;
  const json::value v = json::parse(json_text, ec);
  if (ec) return json_text;
  const auto as_duration = [](const json::value& n) {
    boost::system::error_code nec;
    const auto count = n.to_number<std::int64_t>(nec);
    return nec ? json::serialize(n) : format_duration(std::chrono::nanoseconds(count));
  };
  if (duration && v.is_number()) return as_duration(v);
  if (field == "backoff" && v.is_array()) {
    std::string out;
    for (const auto& step : v.as_array()) out += (out.empty() ? "" : ", ") + as_duration(step);
    return "[" + out + "]";
  }
  if (size && v.is_number()) {
    const auto n = v.to_number<std::int64_t>(ec);
    return ec ? json_text : format_size(n);
  }
  return json_text;
}

}  // namespace

std::string describe(const std::vector<config_difference>& differences) {
  std::string out;
  for (const auto& d : differences)
    out += (out.empty() ? "" : "; ") + d.field + ": server " + shown_value(d.field, d.server) + ", wanted " +
           shown_value(d.field, d.wanted) + (d.updatable ? "" : " (cannot be changed)");
  return out;
}

namespace {

std::int64_t int_of(const json::object& o, std::string_view key, std::int64_t fallback) {
  const auto* v = o.if_contains(key);
  boost::system::error_code ec;
  const auto n = v ? v->to_number<std::int64_t>(ec) : fallback;
  return v && !ec ? n : fallback;
}

std::string string_of(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

bool bool_of(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v && v->is_bool() && v->as_bool();
}

}  // namespace

stream_config stream_config_from_json(const json::object& o) {
  stream_config c;
  c.name = string_of(o, "name");
  if (const auto* subjects = o.if_contains("subjects"); subjects && subjects->is_array())
    for (const auto& sub : subjects->as_array())
      if (sub.is_string()) c.subjects.emplace_back(sub.as_string());
  c.description = string_of(o, "description");
  const auto retention = string_of(o, "retention");
  c.retention = retention == "interest"    ? retention_policy::interest
                : retention == "workqueue" ? retention_policy::work_queue
                                           : retention_policy::limits;
  c.storage = string_of(o, "storage") == "memory" ? storage_type::memory : storage_type::file;
  c.max_age = std::chrono::nanoseconds(int_of(o, "max_age", 0));
  c.max_bytes = int_of(o, "max_bytes", -1);
  c.max_msgs = int_of(o, "max_msgs", -1);
  c.max_msg_size = static_cast<std::int32_t>(int_of(o, "max_msg_size", -1));
  c.max_msgs_per_subject = int_of(o, "max_msgs_per_subject", -1);
  c.discard = string_of(o, "discard") == "new" ? discard_policy::new_messages : discard_policy::old_messages;
  c.replicas = static_cast<int>(int_of(o, "num_replicas", 1));
  c.duplicate_window = std::chrono::nanoseconds(int_of(o, "duplicate_window", 0));
  c.allow_rollup = bool_of(o, "allow_rollup_hdrs");
  c.deny_delete = bool_of(o, "deny_delete");
  c.deny_purge = bool_of(o, "deny_purge");
  return c;
}

consumer_config consumer_config_from_json(const json::object& o) {
  consumer_config c;
  c.durable = string_of(o, "durable_name");
  if (c.durable.empty()) c.durable = string_of(o, "name");
  c.description = string_of(o, "description");
  c.filter_subject = string_of(o, "filter_subject");
  const auto deliver = string_of(o, "deliver_policy");
  for (auto p : {deliver_policy::all, deliver_policy::last, deliver_policy::new_messages,
                 deliver_policy::last_per_subject, deliver_policy::by_start_sequence, deliver_policy::by_start_time})
    if (deliver == deliver_policy_name(p)) c.deliver = p;
  c.start_sequence = static_cast<std::uint64_t>(int_of(o, "opt_start_seq", 0));
  if (auto t = string_of(o, "opt_start_time"); !t.empty()) c.start_time = parse_rfc3339(t);
  if (string_of(o, "ack_policy") == "none") c.ack = ack_policy::none;
  c.ack_wait = std::chrono::nanoseconds(int_of(o, "ack_wait", 0));
  c.max_deliver = static_cast<int>(int_of(o, "max_deliver", -1));
  if (const auto* b = o.if_contains("backoff"); b && b->is_array())
    for (const auto& d : b->as_array()) c.backoff.emplace_back(d.to_number<std::int64_t>());
  c.max_ack_pending = static_cast<int>(int_of(o, "max_ack_pending", -1));
  c.inactive_threshold = std::chrono::nanoseconds(int_of(o, "inactive_threshold", 0));
  c.replicas = static_cast<int>(int_of(o, "num_replicas", 0));
  return c;
}

}  // namespace natscoro::detail

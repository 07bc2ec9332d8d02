#include <natscoro/detail/jetstream_api.hpp>

#include <boost/json.hpp>

namespace natscoro::detail {
namespace json = boost::json;

error_code api_error(const json::value& reply, std::string& description) {
  const auto* obj = reply.if_object();
  const auto* err = obj ? obj->if_contains("error") : nullptr;
  if (err == nullptr || !err->is_object()) return {};
  const auto& e = err->as_object();
  int code = 0;
  if (const auto* v = e.if_contains("err_code"); v && v->is_int64()) code = static_cast<int>(v->as_int64());
  else if (const auto* c = e.if_contains("code"); c && c->is_int64()) code = static_cast<int>(c->as_int64());
  if (const auto* d = e.if_contains("description"); d && d->is_string()) description = std::string(d->as_string());
  return jetstream_error(code);
}

error_code parse_pub_ack(std::string_view body, pub_ack& out, std::string& detail) {
  boost::system::error_code ec;
  const json::value reply = json::parse(body, ec);
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
  return o;
}

bool valid_stream_name(std::string_view name) {
  if (name.empty() || name.size() > 255) return false;
  for (char c : name)
    if (c == '.' || c == '*' || c == '>' || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '/' || c == '\\')
      return false;
  return true;
}

}  // namespace natscoro::detail

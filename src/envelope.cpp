#include <natscoro/detail/envelope_codec.hpp>
#include <natscoro/envelope.hpp>

#include <boost/json.hpp>

#include <utility>

namespace natscoro {
namespace json = boost::json;

namespace {

error_code invalid(std::string& detail, std::string text) {
  detail = std::move(text);
  return make_error_code(errc::invalid_event);
}

// The attributes plain_json() and raw() take from the message rather than the body.
void infer(const inferred_attributes& from, const envelope_input& in, event& e) {
  std::string_view type = in.subject;
  for (std::size_t i = 0; i < from.type_skip_tokens && !type.empty(); ++i) {
    const auto dot = type.find('.');
    type = dot == std::string_view::npos ? std::string_view() : type.substr(dot + 1);
  }
  e.type = std::string(type);
  const std::string* id = from.id_header.empty() ? nullptr : detail::find_header(in.headers, from.id_header);
  e.id = id != nullptr && !id->empty() ? *id : in.metadata.stream + "/" + std::to_string(in.metadata.stream_sequence);
  e.source = from.source.empty() ? in.metadata.stream : from.source;
  e.time = in.metadata.timestamp;
  e.schemaversion.clear();
}

// RFC 6901: empty (the whole document, which no mapping means), or "/"-separated
// tokens where '~' is only ever "~0" or "~1".
bool valid_pointer(std::string_view p) {
  if (p.empty() || p.front() != '/') return false;
  for (std::size_t i = 0; i < p.size(); ++i)
    if (p[i] == '~' && (i + 1 == p.size() || (p[i + 1] != '0' && p[i + 1] != '1'))) return false;
  return true;
}

const json::value* find(const json::value& doc, const std::string& pointer) {
  if (pointer.empty()) return nullptr;
  boost::system::error_code ec;
  const json::value* v = doc.find_pointer(pointer, ec);
  return ec ? nullptr : v;
}

class json_mapping_decoder {
 public:
  explicit json_mapping_decoder(json_envelope_fields f) : fields_(std::move(f)) {
    auto check = [](const std::string& what, const std::string& pointer) {
      if (!pointer.empty() && !valid_pointer(pointer))
        throw error(make_error_code(errc::invalid_argument),
                    "json_envelope_fields::" + what + " \"" + pointer + "\" is not a JSON Pointer (\"/a/b\")");
    };
    if (fields_.id.empty() || fields_.type.empty())
      throw error(make_error_code(errc::invalid_argument), "json_envelope_fields: id and type must be mapped");
    for (const auto& [name, pointer] : named()) check(name, *pointer);
    check("data", fields_.data);
    check("time", fields_.time);
    for (const auto& [name, pointer] : fields_.extensions) {
      if (!valid_extension_name(name))
        throw error(make_error_code(errc::invalid_argument), "json_envelope_fields::extensions: \"" + name +
                                                                 "\" is not an extension name (a-z, 0-9, at most 20)");
      check("extensions[" + name + "]", pointer);
    }
  }

  error_code operator()(const envelope_input& in, event& out, std::string& detail) const {
    boost::system::error_code ec;
    const json::value doc = detail::parse_json(in.body, ec);
    if (ec) return invalid(detail, "body is not JSON (" + ec.message() + ")");
    if (!doc.is_object()) return invalid(detail, "body is not a JSON object");
    event e;
    e.schemaversion.clear();
    auto text = [&](const std::string& name, const std::string& pointer, bool required) -> error_code {
      const json::value* v = find(doc, pointer);
      if (v == nullptr || v->is_null()) {
        if (required) return invalid(detail, name + " is missing (" + pointer + ")");
        return {};
      }
      if (!v->is_string()) return invalid(detail, name + " (" + pointer + ") is not a string");
      if (!detail::set_attribute(e, name, std::string(v->as_string()), detail))
        return make_error_code(errc::invalid_event);
      return {};
    };
    if (auto err = text("id", fields_.id, true)) return err;
    if (auto err = text("type", fields_.type, true)) return err;
    for (const auto& [name, pointer] : named())
      if (auto err = text(name, *pointer, false)) return err;
    for (const auto& [name, pointer] : fields_.extensions)
      if (auto err = text(name, pointer, false)) return err;
    e.time = in.metadata.timestamp;
    if (auto err = text("time", fields_.time, false)) return err;
    if (e.source.empty()) e.source = in.metadata.stream;
    if (const json::value* data = find(doc, fields_.data)) e.data = *data;
    out = std::move(e);
    return {};
  }

 private:
  std::vector<std::pair<std::string, const std::string*>> named() const {
    return {{"source", &fields_.source},
            {"subject", &fields_.subject},
            {"organizationid", &fields_.organizationid},
            {"schemaversion", &fields_.schemaversion},
            {"correlationid", &fields_.correlationid},
            {"causationid", &fields_.causationid}};
  }

  json_envelope_fields fields_;
};

}  // namespace

envelope::envelope(std::string name, decode_function decode)
    : state_(std::make_shared<const state>(state{std::move(name), std::move(decode)})) {
  if (!state_->decode)
    throw error(make_error_code(errc::invalid_argument), "envelope \"" + state_->name + "\" has no decode function");
}

error_code envelope::decode(const envelope_input& in, event& out, std::string& detail) const {
  event e;
  if (auto ec = state_->decode(in, e, detail)) return ec;
  if (auto ec = detail::check_received(e, detail)) return ec;
  out = std::move(e);
  return {};
}

envelope envelope::cloudevents() {
  // Every consumer_options starts with one: shared rather than allocated each time.
  static const envelope shared("cloudevents", [](const envelope_input& in, event& out, std::string& detail) {
    return detail::decode_event(in.headers, in.body, out, detail);
  });
  return shared;
}

envelope envelope::plain_json(inferred_attributes from) {
  return envelope("plain_json", [from = std::move(from)](const envelope_input& in, event& out, std::string& detail) {
    boost::system::error_code ec;
    json::value data = detail::parse_json(in.body, ec);
    if (ec) return invalid(detail, "body is not JSON (" + ec.message() + ")");
    event e;
    infer(from, in, e);
    e.data = std::move(data);
    out = std::move(e);
    return error_code{};
  });
}

envelope envelope::raw(inferred_attributes from) {
  return envelope("raw", [from = std::move(from)](const envelope_input& in, event& out, std::string&) {
    event e;
    infer(from, in, e);
    const std::string* type = detail::find_header(in.headers, "Content-Type");
    e.datacontenttype = type != nullptr && !type->empty() ? *type : "application/octet-stream";
    e.data = json::string(in.body);
    out = std::move(e);
    return error_code{};
  });
}

envelope envelope::json_mapping(json_envelope_fields fields) {
  return envelope("json_mapping", json_mapping_decoder(std::move(fields)));
}

}  // namespace natscoro

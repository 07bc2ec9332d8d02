#include <natscoro/detail/envelope_codec.hpp>

#include <boost/beast/core/detail/base64.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <optional>

namespace natscoro::detail {
namespace json = boost::json;
namespace {

constexpr std::string_view ce_prefix = "ce-";

bool is_json_content(std::string_view type) {
  const auto base = type.substr(0, type.find(';'));
  return base == "application/json" || base == "text/json" ||
         (base.size() > 5 && base.substr(base.size() - 5) == "+json");
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return std::tolower(x) == std::tolower(y); });
}

// Visits every attribute of `e` except data, as (name, text) pairs.
template <class F>
void for_each_attribute(const event& e, F f) {
  f("specversion", e.specversion);
  f("id", e.id);
  f("source", e.source);
  f("type", e.type);
  if (e.time != event::clock::time_point{}) f("time", format_rfc3339(e.time));
  f("datacontenttype", e.datacontenttype);
  if (e.subject) f("subject", *e.subject);
  if (e.dataschema) f("dataschema", *e.dataschema);
  if (!e.organizationid.empty()) f("organizationid", e.organizationid);
  f("schemaversion", e.schemaversion);
  if (e.correlationid) f("correlationid", *e.correlationid);
  if (e.causationid) f("causationid", *e.causationid);
  for (const auto& [k, v] : e.extensions) f(k, v);
}

error_code decode_structured(std::string_view body, event& out, std::string& detail) {
  auto fail = [&](std::string text) {
    detail = std::move(text);
    return make_error_code(errc::invalid_event);
  };
  // The document lives only while its attributes are copied out: parsed in a stack
  // buffer (it outgrows it only for large events), it costs an allocation for the
  // data it keeps, not one per attribute.
  unsigned char scratch_buffer[4096];
  json::monotonic_resource scratch(scratch_buffer, sizeof scratch_buffer);
  boost::system::error_code ec;
  json::value doc = parse_json(body, ec, &scratch);
  if (ec) return fail("body is not JSON (" + ec.message() + ")");
  if (!doc.is_object()) return fail("body is not a JSON object");
  event e;
  e.datacontenttype.clear();
  e.schemaversion.clear();
  e.specversion.clear();
  for (auto& [key, value] : doc.as_object()) {
    const std::string name(key);
    if (name == "data") {
      e.data = json::value(value, json::storage_ptr());  // out of the scratch buffer
      continue;
    }
    if (name == "data_base64") {
      std::string bytes;
      if (!value.is_string() || !decode_base64(value.as_string(), bytes))
        return fail("attribute 'data_base64' is not base64");
      e.data = json::string(bytes);
      continue;
    }
    if (!value.is_string()) return fail("attribute '" + name + "' is not a string");
    if (!set_attribute(e, name, std::string(value.as_string()), detail)) return make_error_code(errc::invalid_event);
  }
  if (e.datacontenttype.empty()) e.datacontenttype = "application/json";
  if (auto err = check_received(e, detail)) return err;
  out = std::move(e);
  return {};
}

error_code decode_binary(const header_list& headers, std::string_view body, event& out, std::string& detail) {
  event e;
  e.schemaversion.clear();
  for (const auto& [key, raw] : headers) {
    if (key.size() <= ce_prefix.size() || !iequals(std::string_view(key).substr(0, ce_prefix.size()), ce_prefix))
      continue;
    std::string name = key.substr(ce_prefix.size());
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    std::string value;
    if (!percent_decode(raw, value)) {
      detail = "header '" + key + "' has a malformed percent-encoding";
      return make_error_code(errc::invalid_event);
    }
    if (!set_attribute(e, name, std::move(value), detail)) return make_error_code(errc::invalid_event);
  }
  if (const auto* ct = find_header(headers, "Content-Type")) e.datacontenttype = *ct;
  if (is_json_content(e.datacontenttype)) {
    if (!body.empty()) {
      boost::system::error_code ec;
      e.data = parse_json(body, ec);
      if (ec) {
        detail = "data is declared " + e.datacontenttype + " but is not JSON (" + ec.message() + ")";
        return make_error_code(errc::invalid_event);
      }
    }
  } else {
    e.data = json::string(body);
  }
  if (auto err = check_received(e, detail)) return err;
  out = std::move(e);
  return {};
}

}  // namespace

json::value parse_json(std::string_view text, boost::system::error_code& ec, json::storage_ptr storage) {
  json::parse_options options;
  options.max_depth = max_json_depth;
  return json::parse(text, ec, std::move(storage), options);
}

const std::string* find_header(const header_list& headers, std::string_view name) {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return &v;
  return nullptr;
}

bool set_attribute(event& e, const std::string& name, std::string value, std::string& detail) {
  if (name == "specversion")
    e.specversion = std::move(value);
  else if (name == "id")
    e.id = std::move(value);
  else if (name == "source")
    e.source = std::move(value);
  else if (name == "type")
    e.type = std::move(value);
  else if (name == "time") {
    auto t = parse_rfc3339(value);
    if (!t) {
      detail = "attribute 'time' is not RFC 3339: \"" + value + "\"";
      return false;
    }
    e.time = *t;
  } else if (name == "datacontenttype")
    e.datacontenttype = std::move(value);
  else if (name == "subject")
    e.subject = std::move(value);
  else if (name == "dataschema")
    e.dataschema = std::move(value);
  else if (name == "organizationid")
    e.organizationid = std::move(value);
  else if (name == "schemaversion")
    e.schemaversion = std::move(value);
  else if (name == "correlationid")
    e.correlationid = std::move(value);
  else if (name == "causationid")
    e.causationid = std::move(value);
  else
    e.extensions[name] = std::move(value);
  return true;
}

error_code check_received(const event& e, std::string& detail) {
  auto fail = [&](std::string text) {
    detail = std::move(text);
    return make_error_code(errc::invalid_event);
  };
  if (e.specversion != "1.0") return fail("attribute 'specversion' is \"" + e.specversion + "\", not \"1.0\"");
  if (e.id.empty()) return fail("attribute 'id' is missing");
  if (e.source.empty()) return fail("attribute 'source' is missing");
  if (e.type.empty()) return fail("attribute 'type' is missing");
  return {};
}

encoded_event encode_event(const event& e, event_encoding encoding) {
  encoded_event out;
  if (encoding == event_encoding::structured) {
    // The document exists only to be serialized: built in a stack buffer (it
    // outgrows it only for large data), it costs no allocation per attribute.
    unsigned char scratch_buffer[4096];
    json::monotonic_resource scratch(scratch_buffer, sizeof scratch_buffer);
    json::object doc(&scratch);
    doc.reserve(16);
    for_each_attribute(e, [&](std::string_view name, const std::string& value) { doc[name] = value; });
    if (!e.data.is_null()) doc["data"] = e.data;
    out.body = json::serialize(doc);
    out.headers.reserve(2);  // and the publisher's Nats-Msg-Id
    out.headers.emplace_back("Content-Type", std::string(structured_content_type));
    return out;
  }
  for_each_attribute(e, [&](std::string_view name, const std::string& value) {
    if (name == "datacontenttype") return;  // travels as Content-Type
    out.headers.emplace_back(std::string(ce_prefix) + std::string(name), percent_encode(value));
  });
  out.headers.emplace_back("Content-Type", e.datacontenttype);
  if (is_json_content(e.datacontenttype)) {
    if (!e.data.is_null()) out.body = json::serialize(e.data);
  } else if (e.data.is_string()) {
    out.body = std::string(e.data.as_string());
  } else if (!e.data.is_null()) {
    out.body = json::serialize(e.data);
  }
  return out;
}

error_code decode_event(const header_list& headers, std::string_view body, event& out, std::string& detail) {
  if (find_header(headers, "ce-specversion") != nullptr) return decode_binary(headers, body, out, detail);
  return decode_structured(body, out, detail);
}

std::string percent_encode(std::string_view text) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (c <= 0x20 || c >= 0x7F || c == '"' || c == '%') {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 0xF];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

bool percent_decode(std::string_view text, std::string& out) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  out.clear();
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return false;  // "%" or "%X" at the end
    const int hi = nibble(text[i + 1]), lo = nibble(text[i + 2]);
    if (hi < 0 || lo < 0) return false;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return true;
}

bool decode_base64(std::string_view text, std::string& out) {
  namespace base64 = boost::beast::detail::base64;
  if (text.size() % 4 != 0) return false;
  out.resize(base64::decoded_size(text.size()));
  const auto [written, read] = base64::decode(out.data(), text.data(), text.size());
  // Beast's decoder stops at the first character outside the alphabet: all but at most two '=' must be read.
  const auto padding = text.substr(read);
  if (padding.size() > 2 || padding.find_first_not_of('=') != std::string_view::npos) return false;
  out.resize(written);
  return true;
}

}  // namespace natscoro::detail

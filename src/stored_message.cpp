#include <natscoro/detail/access.hpp>
#include <natscoro/detail/api_client.hpp>
#include <natscoro/detail/stored_message.hpp>
#include <natscoro/logging.hpp>

#include <boost/json.hpp>

namespace natscoro::detail {

bool parse_headers(std::string_view block, header_list& out, std::string& detail) {
  out.clear();
  if (block.empty()) return true;
  constexpr std::string_view version = "NATS/1.0";
  if (!block.starts_with(version)) {
    detail = "headers do not start with NATS/1.0";
    return false;
  }
  auto line_end = block.find("\r\n");
  if (line_end == std::string_view::npos) {
    detail = "headers have no line end";
    return false;
  }
  for (auto start = line_end + 2; start < block.size(); start = line_end + 2) {
    line_end = block.find("\r\n", start);
    if (line_end == std::string_view::npos) {
      detail = "a header line has no line end";
      return false;
    }
    const auto line = block.substr(start, line_end - start);
    if (line.empty()) return true;  // the blank line that ends the block
    const auto colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos) {
      detail = "a header line has no name";
      return false;
    }
    auto value = line.substr(colon + 1);
    value.remove_prefix(std::min(value.find_first_not_of(" \t"), value.size()));
    out.emplace_back(std::string(line.substr(0, colon)), std::string(value));
  }
  detail = "headers are not ended by a blank line";
  return false;
}

error_code parse_stored_message(const boost::json::value& reply, stored_message& out, std::string& detail) {
  auto fail = [&](std::string text) {
    detail = "stored message: " + std::move(text);
    return make_error_code(errc::invalid_event);
  };
  const auto* obj = reply.if_object();
  const auto* msg = obj ? obj->if_contains("message") : nullptr;
  if (msg == nullptr || !msg->is_object()) return fail("the reply has no \"message\" object");
  const auto& m = msg->as_object();
  const auto* subject = m.if_contains("subject");
  const auto* seq = m.if_contains("seq");
  if (subject == nullptr || !subject->is_string()) return fail("no subject");
  if (seq == nullptr || !(seq->is_uint64() || (seq->is_int64() && seq->as_int64() > 0))) return fail("no sequence");
  stored_message s;
  s.subject = std::string(subject->as_string());
  s.sequence = seq->is_uint64() ? seq->as_uint64() : static_cast<std::uint64_t>(seq->as_int64());
  if (const auto* data = m.if_contains("data")) {
    if (!data->is_string() || !decode_base64(data->as_string(), s.data)) return fail("data is not base64");
  }
  if (const auto* hdrs = m.if_contains("hdrs")) {
    std::string block;
    if (!hdrs->is_string() || !decode_base64(hdrs->as_string(), block)) return fail("hdrs is not base64");
    if (!parse_headers(block, s.headers, detail)) return fail(detail);
  }
  out = std::move(s);
  return {};
}

void fetch_stored_message(const jetstream& js, const std::string& stream, std::uint64_t sequence, bool or_next,
                          stored_message_handler handler) {
  boost::json::object body;
  body["seq"] = sequence;
  if (or_next) body["next_by_subj"] = ">";
  access::api(js)->request("STREAM.MSG.GET", {stream}, boost::json::serialize(body),
                           [handler = std::move(handler)](error_code ec, boost::json::value reply) {
                             if (ec) return handler(ec, {});
                             stored_message m;
                             std::string detail;
                             ec = parse_stored_message(reply, m, detail);
                             if (ec) logger()->error("{}", detail);
                             handler(ec, std::move(m));
                           });
}

}  // namespace natscoro::detail

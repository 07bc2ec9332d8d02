// The CloudEvents envelope on a NATS message, both modes of the NATS protocol
// binding. Pure functions: no I/O, unit-tested without a server.
#pragma once

#include <natscoro/event.hpp>
#include <natscoro/header_list.hpp>

#include <boost/json/value.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace natscoro::detail {

struct encoded_event {
  header_list headers;
  std::string body;
};

inline constexpr std::string_view structured_content_type = "application/cloudevents+json";

/// Encodes `e` (which should have passed event::validate()).
encoded_event encode_event(const event& e, event_encoding encoding);

/// Decodes a received message: binary mode when a "ce-specversion" header is
/// present, structured mode otherwise (with or without its Content-Type header).
/// On failure returns errc::invalid_event and says why in `detail`.
error_code decode_event(const header_list& headers, std::string_view body, event& out, std::string& detail);

/// The pieces of decoding the other envelopes (envelope.hpp) share.
/// JSON text parsed with natscoro's depth limit.
boost::json::value parse_json(std::string_view text, boost::system::error_code& ec,
                              boost::json::storage_ptr storage = {});
/// The first header `name` (case-insensitive), or null.
const std::string* find_header(const header_list& headers, std::string_view name);
/// Sets CloudEvents attribute `name` from its text (an unknown name is an
/// extension); false, with `detail`, for a value that is not acceptable.
bool set_attribute(event& e, const std::string& name, std::string value, std::string& detail);
/// What every received event must have: specversion 1.0, id, source and type.
error_code check_received(const event& e, std::string& detail);

/// Percent-encoding of header values for binary mode: space, '"', '%', and
/// everything outside printable ASCII become %XX (UTF-8 bytes).
std::string percent_encode(std::string_view text);
/// The inverse; false on a malformed escape.
bool percent_decode(std::string_view text, std::string& out);

/// Strict base64 (RFC 4648, with padding), as in "data_base64" and the JetStream
/// API's stored messages; false on anything else.
bool decode_base64(std::string_view text, std::string& out);

/// How deep JSON natscoro reads may nest (Boost.JSON's own default is 32, which
/// refuses data that real producers send; the parser does not recurse).
inline constexpr std::size_t max_json_depth = 512;

}  // namespace natscoro::detail

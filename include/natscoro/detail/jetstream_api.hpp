// JetStream API messages: JSON in and out. Pure functions, unit-tested without a server.
#pragma once

#include <natscoro/jetstream.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <string>
#include <string_view>

namespace natscoro::detail {

/// The "error" of an API reply, as an error code (jetstream_category) and the
/// server's description; no error for a reply without one.
error_code api_error(const boost::json::value& reply, std::string& description);

/// Parses a PubAck (`{"stream":..,"seq":..,"duplicate":..}` or an error reply).
error_code parse_pub_ack(std::string_view body, pub_ack& out, std::string& detail);

boost::json::object to_json(const stream_config& cfg);

/// Whether `name` may name a stream (or consumer): non-empty, no '.', '*', '>', whitespace or path separators.
bool valid_stream_name(std::string_view name);

}  // namespace natscoro::detail

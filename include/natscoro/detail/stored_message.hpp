// Reading a message a stream stores, by sequence, through the JetStream API
// ($JS.API.STREAM.MSG.GET), for dead-lettering and the DLQ tools. The reply is
// read by pure functions: it comes from a stream, whose content anyone allowed to
// publish to it chose, so every field is checked.
#pragma once

#include <natscoro/detail/envelope_codec.hpp>
#include <natscoro/jetstream.hpp>

#include <boost/json/value.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace natscoro::detail {

struct stored_message {
  std::string subject;
  std::uint64_t sequence = 0;
  header_list headers;
  std::string data;
};

/// Parses a NATS header block ("NATS/1.0\r\nName: value\r\n...\r\n\r\n"); false
/// (with `detail`) on a malformed one.
bool parse_headers(std::string_view block, header_list& out, std::string& detail);

/// Reads a STREAM.MSG.GET reply's "message": subject, seq, hdrs and data (base64).
/// errc::invalid_event with `detail` when it is malformed.
error_code parse_stored_message(const boost::json::value& reply, stored_message& out, std::string& detail);

using stored_message_handler = std::function<void(error_code, stored_message)>;

/// Fetches message `sequence` of `stream`, or with `or_next` the first one at or
/// after it (one request however many were deleted). Completes on the connection's
/// executor. Errors: jetstream_errc::no_message_found (none there, or none after it),
/// jetstream_errc::stream_not_found, errc::invalid_argument (a stream name that is
/// not valid_name()), errc::invalid_event (a reply that cannot be read),
/// nats_errc::timeout, errc::not_connected.
void fetch_stored_message(const jetstream& js, const std::string& stream, std::uint64_t sequence, bool or_next,
                          stored_message_handler handler);

}  // namespace natscoro::detail

// Reading one message a stream stores, by sequence (for dead-lettering and the DLQ tools).
#pragma once

#include <natscoro/connection.hpp>
#include <natscoro/detail/nats_message.hpp>
#include <natscoro/detail/pending_operation.hpp>

#include <cstdint>
#include <string>

namespace natscoro::detail {

using stored_message_operation = pending_operation<void(error_code, nats_msg_ptr)>;

/// Fetches message `sequence` of `stream` with nats.c's js_GetMsg (headers and
/// data decoded by nats.c) on the blocking pool; completes on the connection's executor.
/// Errors: jetstream_errc::no_message_found (deleted or never stored),
///   jetstream_errc::stream_not_found, nats_errc::timeout, errc::not_connected.
void fetch_stored_message(const connection& conn, const std::string& api_prefix, const std::string& stream,
                          std::uint64_t sequence, stored_message_operation::handler_type handler);

}  // namespace natscoro::detail

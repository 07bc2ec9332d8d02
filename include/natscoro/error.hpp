// Error codes and the exception natscoro throws.
//
// Three categories:
//   - nats_category():      statuses of nats.c (natsStatus), e.g. no server, authorization failed, TLS;
//   - jetstream_category(): JetStream API error codes ("err_code" in the server's JSON replies);
//   - library_category():   natscoro's own conditions (errc).
// Asynchronous operations complete with `void(error_code, T)`; awaited with
// asio::deferred they throw boost::system::system_error. Where natscoro throws
// by itself it throws natscoro::error, whose what() carries the detail (the
// server's text, the offending attribute).
#pragma once

#include <natscoro/version.hpp>  // checks the language standard (most headers include this one)

#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>

#include <ostream>
#include <string>
#include <type_traits>

namespace natscoro {

using error_code = boost::system::error_code;

/// natscoro's own conditions.
enum class errc {
  not_connected = 1,     ///< the connection is closed or not established
  invalid_argument,      ///< an option or argument is not acceptable (the log says which)
  invalid_subject,       ///< a subject that NATS would refuse
  payload_too_large,     ///< the message exceeds the server's max_payload
  invalid_event,         ///< an event that is not a valid CloudEvent
  publish_timeout,       ///< no PubAck within the ack timeout, after every retry
  no_stream,             ///< no stream is bound to the subject
  closing,               ///< the object is being drained or closed
  invalid_url,           ///< a server URL that cannot be parsed
  config_mismatch,       ///< a stream or consumer exists with another configuration (the log lists the fields)
  replay_refused,        ///< a dead-letter entry names a subject it may not be replayed to (the log says why)
  out_of_range,          ///< a number or time outside what can be represented or what the server accepts
  outbox_full,           ///< the outbox's quota (or its disk) is full: the event was not stored
  outbox_corrupt,        ///< the outbox file is not a database, or is damaged (the log says how)
  database_unavailable,  ///< the outbox's database cannot be reached (the detail carries libpq's reason)
  database_error,        ///< the outbox's database refused a statement (the detail carries its message)
};

/// The nats.c statuses natscoro reports. Values are those of nats.c's natsStatus
/// (checked at compile time), so any other status also lands in nats_category().
enum class nats_errc {
  protocol_error = 2,
  io_error = 3,
  connection_closed = 5,
  no_server = 6,  ///< server unreachable (nothing listening, DNS, refused)
  connection_disconnected = 10,
  authorization_failed = 11,  ///< wrong user, password, token, credentials
  not_permitted = 12,         ///< permissions violation
  address_missing = 14,       ///< bad URL
  invalid_subject = 15,
  invalid_argument = 16,
  max_payload = 21,
  timeout = 26,
  ssl_error = 29,  ///< TLS handshake or certificate verification failed
  no_server_support = 30,
  not_yet_connected = 31,
  no_responders = 34,
};

/// JetStream API error codes ("err_code") natscoro reacts to; others keep their number.
enum class jetstream_errc {
  consumer_not_found = 10014,
  no_message_found = 10037,    ///< no message at that sequence (deleted or never stored)
  message_too_large = 10054,   ///< larger than the stream's max_msg_size
  stream_name_in_use = 10058,  ///< a stream of that name exists with another configuration
  stream_not_found = 10059,
  stream_not_match = 10060,     ///< the expected stream is not the one bound to the subject
  subjects_overlap = 10065,     ///< the subjects overlap those of another stream
  wrong_last_msg_id = 10070,    ///< expected last message id did not match
  wrong_last_sequence = 10071,  ///< expected last sequence (of the stream or of the subject) did not match
  jetstream_not_enabled = 10076,
};

const boost::system::error_category& library_category() noexcept;
const boost::system::error_category& nats_category() noexcept;
const boost::system::error_category& jetstream_category() noexcept;

inline error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), library_category()}; }
inline error_code make_error_code(nats_errc e) noexcept { return {static_cast<int>(e), nats_category()}; }
inline error_code make_error_code(jetstream_errc e) noexcept { return {static_cast<int>(e), jetstream_category()}; }

/// Prints "category:value message", as for error_code (so codes read well in logs and test output).
template <class Enum>
  requires(std::is_same_v<Enum, errc> || std::is_same_v<Enum, nats_errc> || std::is_same_v<Enum, jetstream_errc>)
std::ostream& operator<<(std::ostream& os, Enum e) {
  return os << make_error_code(e) << ' ' << make_error_code(e).message();
}

/// Turns a nats.c status (natsStatus, as int) into an error code; 0 (NATS_OK) gives no error.
inline error_code nats_error(int status) noexcept {
  return status == 0 ? error_code{} : error_code{status, nats_category()};
}

/// Turns a JetStream API "err_code" into an error code.
inline error_code jetstream_error(int err_code) noexcept { return {err_code, jetstream_category()}; }

/// The exception natscoro throws: an error code plus the detail that explains it.
class error : public boost::system::system_error {
 public:
  error(error_code ec, const std::string& detail) : system_error(ec, detail), detail_(detail) {}
  explicit error(error_code ec) : system_error(ec) {}
  /// What went wrong, without the code's own message that what() appends.
  const std::string& detail() const noexcept { return detail_; }

 private:
  std::string detail_;
};

}  // namespace natscoro

namespace boost::system {
template <>
struct is_error_code_enum<natscoro::errc> : std::true_type {};
template <>
struct is_error_code_enum<natscoro::nats_errc> : std::true_type {};
template <>
struct is_error_code_enum<natscoro::jetstream_errc> : std::true_type {};
}  // namespace boost::system

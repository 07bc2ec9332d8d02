// What may reach a log line or an operator's terminal. Text from the network,
// a stream or a file can hold line breaks (fake log lines) and escape sequences
// (terminal control); URLs can hold passwords and tokens. natscoro's logger
// passes every line through safe_log_text(), and the CLI's human output through
// printable(). Pure functions.
#pragma once

#include <string>
#include <string_view>

namespace natscoro::detail {

/// `text` fit for a log line or a terminal: control characters (CR, LF, ESC, ...)
/// and DEL as \xNN, the C1 controls of UTF-8 as \u00NN; at most `limit` bytes of
/// the input, then "...(N bytes)". Other UTF-8 is kept. Applied twice, it changes
/// nothing more (the logger applies it to lines that quote printable() text).
std::string printable(std::string_view text, std::size_t limit = 256);

/// `text` with the user information of every URL in it ("nats://user:secret@host",
/// "tls://token@host") replaced: "nats://user:***@host", "tls://***@host".
std::string redact_credentials(std::string_view text);

/// redact_credentials() then printable(), with room for long lines.
std::string safe_log_text(std::string_view text);

}  // namespace natscoro::detail

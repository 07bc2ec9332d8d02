// The rules for what natscoro puts into a subject: stream and consumer names,
// subjects to publish to, subject filters. Every name and subject that reaches
// the wire is checked by these functions (the JetStream API client refuses a
// request whose names fail them), so a name from a file, a command line or a
// message cannot add tokens to a subject or inject protocol. Pure functions.
#pragma once

#include <natscoro/error.hpp>

#include <string>
#include <string_view>

namespace natscoro::detail {

/// The longest stream or consumer name nats-server accepts.
inline constexpr std::size_t max_name_length = 255;

/// Whether `name` may name a stream or consumer: 1-255 bytes, none of them a
/// control character, whitespace, '.', '*', '>', '/' or '\'.
bool valid_name(std::string_view name);

/// Whether `subject` can be published to: non-empty tokens separated by dots, no
/// control characters, no whitespace, no wildcards.
bool valid_publish_subject(std::string_view subject);

/// Whether `filter` is a subject or a pattern: as a publish subject, but a token
/// may be the wildcard "*", and the last may be ">".
bool valid_filter_subject(std::string_view filter);

/// Whether `subject` (no wildcards) matches `filter` (wildcards allowed).
bool subject_matches(std::string_view subject, std::string_view filter);

/// Whether some subject matches both patterns.
bool subjects_overlap(std::string_view a, std::string_view b);

/// Whether `subject` belongs to the server or a client's replies rather than to
/// an application: "$JS.…", "$SYS.…", "$KV.…" and every other '$' subject, "_INBOX.…".
bool reserved_subject(std::string_view subject);

/// errc::invalid_argument with "<what> \"<name>\" is not a valid name (...)" in
/// `detail` if `name` is not valid_name(); no error otherwise.
error_code check_name(std::string_view what, std::string_view name, std::string& detail);

/// errc::invalid_subject with "<what> \"<subject>\" is not a subject (...)" in
/// `detail` if `subject` is not valid_filter_subject(); no error otherwise.
error_code check_filter_subject(std::string_view what, std::string_view subject, std::string& detail);

}  // namespace natscoro::detail

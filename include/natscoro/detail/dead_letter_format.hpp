// What a dead-letter message holds, shared by the writer (the runner, the
// max-deliveries mover) and the reader (dead_letter_queue, the CLI): the
// Natscoro-* headers, how an entry is read back, and what a replay may publish.
#pragma once

#include <natscoro/dead_letter.hpp>
#include <natscoro/detail/stored_message.hpp>
#include <natscoro/publisher.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace natscoro::detail {

/// Where a dead-lettered message came from and why it failed.
struct failure_record {
  std::string stream;
  std::string subject;
  std::uint64_t sequence = 0;
  std::string consumer;
  std::uint64_t deliveries = 0;
  std::string error;
};

/// Headers natscoro adds to a dead-lettered message (and removes on replay), and to a replayed one.
namespace dead_letter_headers {
inline constexpr std::string_view prefix = "Natscoro-";
inline constexpr const char* original_stream = "Natscoro-Original-Stream";
inline constexpr const char* original_subject = "Natscoro-Original-Subject";
inline constexpr const char* original_sequence = "Natscoro-Original-Sequence";
inline constexpr const char* consumer = "Natscoro-Consumer";
inline constexpr const char* deliveries = "Natscoro-Deliveries";
inline constexpr const char* error = "Natscoro-Error";
inline constexpr const char* failed_at = "Natscoro-Failed-At";
inline constexpr const char* truncated = "Natscoro-Truncated";
inline constexpr const char* replay_id = "Natscoro-Replay-Id";
inline constexpr const char* replayed_from = "Natscoro-Replayed-From";
}  // namespace dead_letter_headers

/// The DLQ message: "<prefix>.<original subject>", body and original headers
/// untouched, plus the Natscoro-Original-Stream/-Subject/-Sequence, -Consumer,
/// -Deliveries, -Error and -Failed-At headers (replacing any from an earlier round).
/// Its Nats-Msg-Id names the original stream and sequence, so dead-lettering the
/// same message twice (a term lost in a crash) stores it once.
raw_message dead_letter_message(const std::string& subject_prefix, header_list headers, std::string data,
                                const failure_record& failure);

/// `message` cut down to fit `max_size` bytes on the wire, with room for the
/// Nats-Msg-Id the publisher adds: its body truncated, and the header
/// Natscoro-Truncated giving the body's original size. `max_size` 0: the body goes
/// entirely (for a limit that is not known). Empty when even the headers do not fit. For a failure too large to
/// dead-letter as it is: its headers and the start of its body are better than an endless redelivery.
std::optional<raw_message> truncated_dead_letter(raw_message message, std::size_t max_size);

/// Reads a DLQ message back: its Natscoro-* headers as the entry's fields (numbers
/// that are not numbers read as 0), all headers and the body as they are.
dead_letter_entry read_dead_letter_entry(stored_message m);

/// Whether `entry` may be replayed to its original subject. Anyone allowed to
/// publish to the DLQ's subjects can write an entry, so it is checked against what
/// the operator configured: the subject must be one a client can publish to, not a
/// '$' or _INBOX subject, and covered by one of `stream_subjects` (those of the
/// entry's original stream, read from the server). errc::replay_refused with `detail`.
error_code check_replay_target(const dead_letter_entry& entry, const std::vector<std::string>& stream_subjects,
                               std::string& detail);

/// The message a replay publishes: body and original headers, without the
/// Natscoro-* failure headers and without any Nats-* header (an entry must not
/// roll up or purge a subject, nor expect what held at its first publish), plus
/// Nats-Expected-Stream (the server refuses it if another stream would store it),
/// Natscoro-Replay-Id and Natscoro-Replayed-From "<dlq>:<sequence>".
raw_message replay_message(const dead_letter_entry& entry, const std::string& dead_letter_stream);

}  // namespace natscoro::detail

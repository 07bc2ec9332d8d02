// The dead-letter stream's messages: how they are written and read back, what a
// replay may do with them, and the mover that dead-letters what the server gave
// up on (max-deliveries advisories).
#pragma once

#include <natscoro/consumer.hpp>
#include <natscoro/dead_letter.hpp>
#include <natscoro/detail/envelope_codec.hpp>
#include <natscoro/detail/stored_message.hpp>
#include <natscoro/jetstream.hpp>
#include <natscoro/publisher.hpp>
#include <natscoro/runner.hpp>

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

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

/// Headers natscoro adds to a dead-lettered message (and removes on replay).
inline constexpr std::string_view dead_letter_header_prefix = "Natscoro-";

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
/// entirely (for a limit that is not known). Empty when even the headers do not fit. For a failure too large to dead-letter as it is: its headers and
/// the start of its body are better than an endless redelivery.
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

/// The dead-letter publisher's options: a bounded number of quick attempts (a
/// failed DLQ publish leaves the original to be redelivered).
publisher_options dead_letter_publisher_options();

/// Creates the DLQ stream if it is missing: "<prefix>.>", file storage, limits.
stream_config dead_letter_stream_config(const dead_letter_options& opts);

/// Creates `cfg` if no stream of that name exists; an existing one is left as it is
/// (an operator may have configured the DLQ or advisory stream with other limits).
void create_stream_if_missing(const jetstream& js, const stream_config& cfg, std::function<void(error_code)> done);

/// Consumes the max-deliveries advisories of one consumer (kept in
/// dead_letter_options::advisory_stream by a durable consumer of its own) and
/// dead-letters the messages they name, fetched by sequence. Lives on the
/// connection's executor.
class max_deliveries_mover : public std::enable_shared_from_this<max_deliveries_mover> {
 public:
  max_deliveries_mover(jetstream js, std::string stream, std::string consumer, dead_letter_options opts,
                       std::shared_ptr<publisher> dlq, std::function<void()> on_moved);
  void start();
  /// Stops taking advisories; `on_stopped` runs once the one in hand is done.
  void stop(std::chrono::milliseconds grace, std::function<void()> on_stopped);

 private:
  void bind();
  void take();
  void move(message advisory);
  void move_out_of_deliveries(message advisory, std::uint64_t sequence, std::uint64_t deliveries);
  void retry_or_give_up(error_code ec, const std::string& what);
  void finish_advisory(message& advisory, bool done);
  void drain_advisories();
  void maybe_stopped();

  jetstream js_;
  std::string stream_;
  std::string consumer_;
  dead_letter_options opts_;
  std::shared_ptr<publisher> dlq_;
  std::function<void()> on_moved_;
  boost::asio::steady_timer retry_timer_;  // a start that met a passing failure
  natscoro::consumer advisories_;
  bool stopping_ = false;
  bool binding_ = false;  // ensuring the advisory stream, binding its consumer
  bool bound_ = false;    // advisories_ is live (until drained)
  bool moving_ = false;   // one advisory in hand
  std::chrono::milliseconds grace_{0};
  std::function<void()> on_stopped_;
};

}  // namespace natscoro::detail

// Where a bounded replay stands, and what each delivery or quiet spell means:
// the ordered-consumer rules, with no I/O (unit-tested without a server).
#pragma once

#include <natscoro/consumer_config.hpp>
#include <natscoro/message_metadata.hpp>
#include <natscoro/replay.hpp>

#include <cstdint>
#include <string>

namespace natscoro::detail {

class replay_cursor {
 public:
  /// `stream_last_sequence`: the stream's last sequence at open, the end bound at the latest.
  replay_cursor(replay_range range, std::uint64_t stream_last_sequence);

  /// Empty when the range makes sense, else what is wrong with it.
  std::string check() const;
  /// Nothing can be in the range: it starts after the end bound.
  bool empty() const;
  std::uint64_t end_sequence() const { return end_sequence_; }
  std::uint64_t last_handed_out() const { return last_stream_sequence_; }

  /// The configuration of the next consumer: from the range's start, or after
  /// the last message handed out; acknowledging nothing.
  consumer_config next_consumer(std::chrono::nanoseconds inactive_threshold) const;
  /// A new consumer starts counting its deliveries from 1.
  void restarted() {
    last_consumer_sequence_ = 0;
    suspected_gap_at_ = 0;
  }

  enum class verdict {
    hand_out,       ///< in the range
    hand_out_last,  ///< in the range, and nothing after it can be
    past_end,       ///< beyond the end bound: the replay is over, this one is not part of it
    gap,            ///< deliveries were lost (a reconnect): restart after the last one handed out
  };
  verdict on_delivery(const message_metadata& md);

  enum class quiet_verdict { wait, finished, gap };
  /// No delivery for a while; the server says the consumer has `pending` messages
  /// left and has made `delivered` deliveries. Lost deliveries are declared after
  /// two quiet spells with the same count (one may be a message still on its way).
  quiet_verdict on_quiet(std::uint64_t pending, std::uint64_t delivered);

 private:
  bool beyond_end(const message_metadata& md) const;

  replay_range range_;
  std::uint64_t end_sequence_;
  std::uint64_t last_stream_sequence_ = 0;
  std::uint64_t last_consumer_sequence_ = 0;
  std::uint64_t suspected_gap_at_ = 0;
};

}  // namespace natscoro::detail

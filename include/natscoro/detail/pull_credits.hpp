// The flow control of a pull consumer, with no I/O.
//
// The client holds at most `capacity` messages received but not handed out.
// Pull requests ask only for room not yet promised: capacity - held - outstanding,
// where `outstanding` is what open requests may still bring. A new request goes
// out when at least half the capacity is free (or nothing is outstanding), so
// requests are few and large, yet the buffer never overflows.
//
// Messages fill the oldest open request first (the server serves requests in
// order). A request ends when filled, when the server says so (status 408
// request timeout, 409 e.g. max ack pending exceeded, 404 no messages), or when
// it expires; after a reconnect or missed heartbeats all are forgotten (reset).
//
// A forgotten request may still be alive on the server: nats.c re-subscribes the
// inbox after a reconnect, so the server goes on filling requests it holds for it.
// Its messages cannot be told apart (a delivered message carries its stream
// subject, not the request's), so they fill the newest requests' credit, and the
// newest requests' messages then arrive unrequested. One that finds no room is
// refused, to be given back (nak) and redelivered: the bound holds whatever the
// server sends.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>

namespace natscoro::detail {

class pull_credits {
 public:
  using clock = std::chrono::steady_clock;

  explicit pull_credits(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  std::size_t capacity() const noexcept { return capacity_; }
  std::size_t held() const noexcept { return held_; }
  std::size_t outstanding() const noexcept { return outstanding_; }
  std::size_t open_requests() const noexcept { return requests_.size(); }

  /// How many messages to ask for now; 0 means send no request.
  std::size_t request_size() const noexcept;

  /// A request for `batch` messages, expiring at `expires`, was sent; returns its id.
  std::uint64_t on_request_sent(std::size_t batch, clock::time_point expires);

  /// A message arrived: it fills the oldest open request and is held. With no
  /// request open for it, it is held if there is room, else refused: false, and
  /// the caller gives it back.
  bool on_message();

  /// A held message was handed out, or given back to the server (nak on drain).
  void on_released() noexcept;

  /// The server ended request `id` (status 408, 409, 404); what it had not filled is no longer expected.
  void on_request_ended(std::uint64_t id);

  /// Forgets requests that expired before `now` (their end status may have been lost).
  void expire(clock::time_point now);

  /// The link was lost or heartbeats stopped: no open request can be trusted.
  void reset() noexcept;

 private:
  struct request {
    std::uint64_t id;
    std::size_t remaining;
    clock::time_point expires;
  };
  std::size_t capacity_;
  std::size_t held_ = 0;
  std::size_t outstanding_ = 0;
  std::uint64_t next_id_ = 1;
  std::deque<request> requests_;
};

/// Says when a pull consumer has heard nothing (no message, no heartbeat) for too long.
class heartbeat_watchdog {
 public:
  using clock = std::chrono::steady_clock;

  /// `missed`: how many heartbeat intervals of silence are tolerated.
  explicit heartbeat_watchdog(std::chrono::milliseconds interval, int missed = 2)
      : allowed_silence_(interval * missed) {}

  void on_activity(clock::time_point now) noexcept { last_ = now; }
  /// When silence becomes suspicious.
  clock::time_point deadline() const noexcept { return last_ + allowed_silence_; }
  bool expired(clock::time_point now) const noexcept { return now > deadline(); }

 private:
  std::chrono::milliseconds allowed_silence_;
  clock::time_point last_{};
};

}  // namespace natscoro::detail

// The pull protocol of one consumer instance, with no I/O: when to ask the
// server for messages and how many (pull_credits), what each status reply means,
// what a lost link and a silent server do to the open requests, and the phases
// of a drain. consumer_core (src/consumer.cpp) owns one on the connection's
// strand: it writes the requests, gives back what it is told to, and completes
// the waiting calls.
//
// Phases: running, then draining (no more pulls or hand-outs; the inbox is being
// unsubscribed), then stopped. A drain completes once unsubscribed and, when a
// drain participant (the runner) holds messages too, once it has detached.
#pragma once

#include <natscoro/detail/pull_credits.hpp>
#include <natscoro/error.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace natscoro::detail {

class pull_protocol {
 public:
  using clock = std::chrono::steady_clock;

  struct settings {
    std::size_t capacity = 1;                    // messages held at most
    std::chrono::milliseconds pull_expiry{};     // how long the server keeps a request open
    std::chrono::milliseconds idle_heartbeat{};  // how often the server reports an open request alive
  };

  explicit pull_protocol(settings s);

  // ---- pulling

  /// Pulling starts with the first call for a message.
  void start_pulling() noexcept { pulling_ = true; }

  struct request {
    std::uint64_t id;  // the reply token: statuses name it
    std::string body;  // the CONSUMER.MSG.NEXT request
  };
  /// The request to send now, if one is due: running, pulling, not paused after
  /// a refusal, and enough room free (pull_credits).
  std::optional<request> next_request(clock::time_point now);
  /// A request could not be written: nothing it asked for will come.
  void on_request_unsent(std::uint64_t id) { credits_.on_request_ended(id); }

  // ---- what arrives

  enum class arrival {
    hold,             // keep it for the next hand-out (while draining: until unsubscribed)
    give_back_later,  // no room (from a request forgotten after a reconnect): nak it with a delay
  };
  /// A delivery (a message with an ack subject) arrived before the consumer stopped
  /// (after, the consumer gives it back at once).
  arrival on_delivery(clock::time_point now);
  /// Any reply arrived (a delivery or a status): the server is alive.
  void on_activity(clock::time_point now) noexcept { watchdog_.on_activity(now); }
  /// A held message was handed out or given back.
  void on_released() noexcept { credits_.on_released(); }

  struct status_action {
    enum class kind {
      none,            // a heartbeat
      pull,            // the request ended normally: pull again
      fail,            // the consumer is unusable: `ec`, `detail`
      check_consumer,  // nobody answered: ask whether the consumer (or its stream) still exists
      pause,           // refused for now (max ack pending, leadership change): pull again after a pause
    };
    kind what = kind::none;
    error_code ec;
    std::string detail;
  };
  /// A status reply to request `id`: "100" heartbeat, "404" no messages, "408"
  /// request expired, "409" with a reason, "503" no responders.
  status_action on_status(std::uint64_t id, std::string_view status, std::string_view description,
                          clock::time_point now);

  /// The link came back: nats.c does not resend pull requests, so the open ones are gone.
  void on_link_restored() noexcept { credits_.reset(); }
  /// Periodic (every idle_heartbeat): forgets expired requests. True when the
  /// server has been silent too long with requests open: they are forgotten too.
  bool on_tick(clock::time_point now);

  // ---- phases

  bool running() const noexcept { return phase_ == phase::running; }
  bool stopped() const noexcept { return phase_ == phase::stopped; }
  /// Running to draining; false if it was not running.
  bool begin_drain() noexcept;
  /// To stopped (from any phase); false if stopped already.
  bool stop() noexcept;

  /// What to do with what is held once no more deliveries can come.
  enum class held_goes {
    to_participant,  // the participant attached before: it takes them, and gives them back itself
    back,            // give them back (nak)
  };
  /// The inbox is unsubscribed; nullopt if it was already.
  std::optional<held_goes> on_unsubscribed() noexcept;
  bool unsubscribed() const noexcept { return unsubscribed_; }
  /// A drain participant joins; false if one is attached. `*held_now` says
  /// whether it takes what is held at once (already unsubscribed).
  bool attach_participant(bool* held_now) noexcept;
  void detach_participant() noexcept { participant_ = participant::none; }

  enum class drain_step { none, stop, complete };
  /// What finishes a drain now: stop (draining and unsubscribed), or complete the
  /// drain calls (stopped and no participant left).
  drain_step next_drain_step() const noexcept;

  std::size_t outstanding() const noexcept { return credits_.outstanding(); }
  std::chrono::milliseconds silence_allowed() const noexcept { return 2 * settings_.idle_heartbeat; }

 private:
  enum class phase { running, draining, stopped };
  enum class participant { none, waiting_for_held, served };

  settings settings_;
  pull_credits credits_;
  heartbeat_watchdog watchdog_;
  phase phase_ = phase::running;
  bool pulling_ = false;
  bool unsubscribed_ = false;
  participant participant_ = participant::none;
  clock::time_point paused_until_{};
};

}  // namespace natscoro::detail

// The publisher's window, with no I/O: which publishes are in flight and which
// wait for room, when each attempt runs out, what a write's outcome, a reply, a
// deadline or a regained link means for each, and when waiting producers may
// resume. publisher_core (src/publisher.cpp) owns one on its strand: it writes
// what the window says to write, completes what it says is done, and arms one
// timer for next_deadline().
//
// A publish is in flight from its first write until it completes; it holds a
// place in the window all that time, also while it waits out a retry's backoff
// or a link that is down. Replies are correlated by token.
#pragma once

#include <natscoro/error.hpp>
#include <natscoro/retry_policy.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace natscoro::detail {

/// How one write of a publish went, in the window's terms.
enum class write_outcome {
  written,    // handed to the connection: its PubAck is awaited
  no_link,    // not written (reconnecting) or dropped with the link: written again when the link is back
  closed,     // the connection is closed: fails now
  too_large,  // refused for its size: fails now
  failed,     // another error: retried
};

/// What the window decided about one publish.
struct publish_verdict {
  enum class kind {
    wait,      // nothing to do now
    retry,     // an attempt failed and another is scheduled (after `delay`): worth a warning
    complete,  // done: take() it and complete it with `ec` (success when !ec)
  };
  kind what = kind::wait;
  error_code ec;
  std::string detail;                 // why, for the log and the diagnostics
  std::chrono::milliseconds delay{};  // retry: the backoff
};

template <class Payload>
class publish_window {
 public:
  using clock = std::chrono::steady_clock;
  using token = std::uint64_t;

  struct entry {
    token id = 0;
    std::string subject;
    Payload payload;
    int attempt = 1;
    bool resend_pending = false;  // waiting out a backoff delay, not a PubAck
    bool awaiting_link = false;   // its last write did not reach the server
    clock::time_point due{};      // when the current attempt or backoff runs out
  };

  publish_window(std::size_t max_in_flight, std::chrono::milliseconds ack_timeout, retry_policy retry,
                 std::uint64_t seed)
      : max_in_flight_(max_in_flight == 0 ? 1 : max_in_flight),
        ack_timeout_(ack_timeout),
        retry_(std::move(retry)),
        random_(seed) {}

  std::size_t in_flight() const noexcept { return in_flight_.size(); }
  std::size_t waiting() const noexcept { return waiting_.size(); }
  bool has_room() const noexcept { return in_flight_.size() < max_in_flight_ && waiting_.empty(); }
  /// Nothing in flight and nothing waiting: a flush may complete.
  bool idle() const noexcept { return in_flight_.empty() && waiting_.empty(); }

  /// The token admit() gives next (its reply subject is built before).
  token next_token() const noexcept { return next_token_; }

  /// A new publish. In flight at once when there is room (returned, to be
  /// written), else it waits its turn (nullptr): the caller waits with it.
  entry* admit(std::string subject, Payload payload) {
    entry e;
    e.id = next_token_++;
    e.subject = std::move(subject);
    e.payload = std::move(payload);
    if (has_room()) return &in_flight_.emplace(e.id, std::move(e)).first->second;
    waiting_.push_back(std::move(e));
    return nullptr;
  }

  /// The next waiting publish, now in flight, when a place is free (to be
  /// written, or dropped if its caller gave up meanwhile); nullptr otherwise.
  entry* next_waiting() {
    if (waiting_.empty() || in_flight_.size() >= max_in_flight_) return nullptr;
    entry e = std::move(waiting_.front());
    waiting_.pop_front();
    const token id = e.id;
    return &in_flight_.emplace(id, std::move(e)).first->second;
  }

  entry* find(token id) {
    auto it = in_flight_.find(id);
    return it == in_flight_.end() ? nullptr : &it->second;
  }

  /// Removes a publish that is done (or dropped) and hands it back.
  std::optional<entry> take(token id) {
    auto it = in_flight_.find(id);
    if (it == in_flight_.end()) return std::nullopt;
    entry e = std::move(it->second);
    in_flight_.erase(it);
    deadlines_.erase({e.due, e.id});
    return e;
  }

  /// Removes everything still waiting for a place, oldest first (shutdown).
  std::deque<entry> take_waiting() { return std::exchange(waiting_, {}); }
  /// The tokens in flight, oldest first (shutdown).
  std::vector<token> tokens() const {
    std::vector<token> ids;
    for (const auto& [id, e] : in_flight_) ids.push_back(id);
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  /// What a write of `e` (just made) came to.
  publish_verdict on_written(entry& e, write_outcome outcome, error_code ec, std::string detail,
                             clock::time_point now) {
    e.resend_pending = false;
    e.awaiting_link = outcome == write_outcome::no_link;
    switch (outcome) {
      case write_outcome::written:
      case write_outcome::no_link:  // its attempt runs out meanwhile; on_link_restored() writes it again
        schedule(e, now + ack_timeout_);
        return {};
      case write_outcome::closed:
      case write_outcome::too_large:
        return {publish_verdict::kind::complete, ec, std::move(detail), {}};
      case write_outcome::failed:
        break;
    }
    return retry_or_fail(e, ec, std::move(detail), now);
  }

  /// The server's reply to `id`: no responders (no stream listens), the stream
  /// not available yet (JetStream 503), or a final answer (a PubAck or an error).
  enum class reply { no_responders, unavailable, final };
  publish_verdict on_reply(token id, reply what, error_code ec, std::string detail, clock::time_point now) {
    entry* e = find(id);
    if (e == nullptr) return {};  // a late reply to a publish already completed
    if (what == reply::final) return {publish_verdict::kind::complete, ec, std::move(detail), {}};
    if (e->resend_pending) return {};  // already waiting to retry
    return retry_or_fail(*e, ec, std::move(detail), now);
  }

  /// Attempts and backoffs that ran out by `now`, in deadline order: for each,
  /// write it again (its backoff is over: `write`) or what the timeout means.
  struct expiry {
    token id;
    bool write;
    publish_verdict verdict;
  };
  std::vector<expiry> on_deadline(clock::time_point now) {
    std::vector<expiry> out;
    while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
      const token id = deadlines_.begin()->second;
      deadlines_.erase(deadlines_.begin());
      entry* e = find(id);
      if (e == nullptr) continue;
      e->due = {};
      if (e->resend_pending) {
        out.push_back({id, true, {}});
      } else if (e->awaiting_link) {
        out.push_back({id, false,
                       retry_or_fail(*e, make_error_code(errc::not_connected),
                                     "no link to a server for " + std::to_string(ack_timeout_.count()) + " ms", now)});
      } else {
        out.push_back({id, false,
                       retry_or_fail(*e, make_error_code(errc::publish_timeout),
                                     "no PubAck within " + std::to_string(ack_timeout_.count()) + " ms", now)});
      }
    }
    return out;
  }

  std::optional<clock::time_point> next_deadline() const {
    if (deadlines_.empty()) return std::nullopt;
    return deadlines_.begin()->first;
  }

  /// The link is back (or came for the first time): what to write again at once,
  /// oldest first. What was written before the loss may have lost its reply, what
  /// was not written never went; Nats-Msg-Id makes a second copy harmless. Those
  /// waiting out a backoff keep waiting.
  std::vector<token> on_link_restored() const {
    std::vector<token> ids;
    for (const auto& [id, e] : in_flight_)
      if (!e.resend_pending) ids.push_back(id);
    std::sort(ids.begin(), ids.end());
    return ids;
  }

  /// The server refused a publish to `subject` (a permissions violation names
  /// only the subject): the oldest publish in flight to it, if any.
  std::optional<token> oldest_to(const std::string& subject) const {
    std::optional<token> oldest;
    for (const auto& [id, e] : in_flight_)
      if (e.subject == subject && (!oldest || id < *oldest)) oldest = id;
    return oldest;
  }

  /// How many producers waiting for room may resume now. Once the window was
  /// full, none until a quarter of it is free again, then all at once: a
  /// producer woken for every single PubAck would cost a thread wake-up per
  /// message (measured: half the throughput of benchmark A).
  std::size_t places_for_waiters() {
    if (!has_room()) {
      was_full_ = true;
      return 0;
    }
    if (was_full_ && in_flight_.size() > max_in_flight_ - max_in_flight_ / 4) return 0;
    was_full_ = false;
    return max_in_flight_ - in_flight_.size();
  }
  /// Whether a producer asking for room now may go on at once (no one queued before it).
  bool room_for_newcomer() const noexcept { return !was_full_ && has_room(); }

 private:
  publish_verdict retry_or_fail(entry& e, error_code ec, std::string detail, clock::time_point now) {
    if (e.attempt >= retry_.max_attempts) {
      if (ec == nats_errc::no_responders)
        return {publish_verdict::kind::complete,
                make_error_code(errc::no_stream),
                "no stream is bound to the subject (no responders after " + std::to_string(e.attempt) + " attempts)",
                {}};
      return {publish_verdict::kind::complete, ec, detail + " (after " + std::to_string(e.attempt) + " attempts)", {}};
    }
    const auto delay = retry_.delay(e.attempt, std::uniform_real_distribution<double>(0.0, 1.0)(random_));
    ++e.attempt;
    e.resend_pending = true;
    schedule(e, now + delay);
    return {publish_verdict::kind::retry, ec, std::move(detail), delay};
  }

  void schedule(entry& e, clock::time_point due) {
    deadlines_.erase({e.due, e.id});
    e.due = due;
    deadlines_.emplace(due, e.id);
  }

  std::size_t max_in_flight_;
  std::chrono::milliseconds ack_timeout_;
  retry_policy retry_;
  std::mt19937_64 random_;
  token next_token_ = 1;
  std::unordered_map<token, entry> in_flight_;
  std::set<std::pair<clock::time_point, token>> deadlines_;
  std::deque<entry> waiting_;
  bool was_full_ = false;
};

}  // namespace natscoro::detail

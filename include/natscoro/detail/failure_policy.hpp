// What the runner does after a handler fails. Pure logic, no I/O; unit-tested without a server.
#pragma once

#include <natscoro/retry_policy.hpp>

#include <chrono>

namespace natscoro::detail {

enum class failure_kind {
  failed,         ///< the handler threw: worth another attempt
  permanent,      ///< the handler threw natscoro::permanent_error
  invalid_event,  ///< the message is not a valid CloudEvent: no handler can succeed
};

enum class failure_action {
  retry_here,   ///< keep the message (and its lane) and call the handler again after `delay`
  redeliver,    ///< nak with `delay`: the server delivers it again, maybe elsewhere
  dead_letter,  ///< no attempt left
};

struct failure_decision {
  failure_action action;
  std::chrono::milliseconds delay{0};
};

/// `attempt` (from 1) is the one that just failed: the server's delivery count
/// minus one, plus the attempts made on this delivery, so deliveries to a process
/// that died count too. `delivery` is the server's count for this delivery and
/// `max_deliver` the consumer's limit (-1: none): when no redelivery is left the
/// message is dead-lettered now rather than left for the server to drop.
/// `hold_lane`: ordered by key, so the retry stays here to keep the order.
/// `unit_random` in [0, 1) draws the jitter.
failure_decision decide_after_failure(const retry_policy& policy, failure_kind kind, int attempt, int delivery,
                                      int max_deliver, bool hold_lane, double unit_random);

}  // namespace natscoro::detail

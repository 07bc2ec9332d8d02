#include <natscoro/detail/failure_policy.hpp>

namespace natscoro::detail {

failure_decision decide_after_failure(const retry_policy& policy, failure_kind kind, int attempt, int delivery,
                                      int max_deliver, bool hold_lane, double unit_random) {
  if (kind != failure_kind::failed || attempt >= policy.max_attempts) return {failure_action::dead_letter};
  const auto delay = policy.delay(attempt, unit_random);
  if (hold_lane) return {failure_action::retry_here, delay};
  if (max_deliver > 0 && delivery >= max_deliver) return {failure_action::dead_letter};
  return {failure_action::redeliver, delay};
}

}  // namespace natscoro::detail

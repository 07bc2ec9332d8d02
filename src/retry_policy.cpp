#include <natscoro/retry_policy.hpp>

#include <algorithm>
#include <cmath>

namespace natscoro {

std::chrono::milliseconds retry_policy::nominal_delay(int retry) const {
  if (backoff.empty() || retry < 1) return std::chrono::milliseconds(0);
  const auto index = static_cast<std::size_t>(retry - 1);
  if (index < backoff.size()) return std::min(backoff[index], max_delay);
  // Past the schedule: keep doubling the last delay.
  auto d = backoff.back();
  for (std::size_t i = backoff.size() - 1; i < index && d < max_delay; ++i) d *= 2;
  return std::min(d, max_delay);
}

std::chrono::milliseconds retry_policy::delay(int retry, double unit_random) const {
  const double nominal = static_cast<double>(nominal_delay(retry).count());
  const double j = std::clamp(jitter, 0.0, 1.0);
  const double factor = 1.0 - j + 2.0 * j * std::clamp(unit_random, 0.0, 1.0);
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(nominal * factor)));
}

}  // namespace natscoro

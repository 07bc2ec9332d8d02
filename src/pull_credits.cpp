#include <natscoro/detail/pull_credits.hpp>

#include <algorithm>

namespace natscoro::detail {

std::size_t pull_credits::request_size() const noexcept {
  const std::size_t promised = held_ + outstanding_;
  if (promised >= capacity_) return 0;
  const std::size_t free = capacity_ - promised;
  const std::size_t threshold = std::max<std::size_t>(1, capacity_ / 2);
  return (free >= threshold || outstanding_ == 0) ? free : 0;
}

std::uint64_t pull_credits::on_request_sent(std::size_t batch, clock::time_point expires) {
  const auto id = next_id_++;
  requests_.push_back({id, batch, expires});
  outstanding_ += batch;
  return id;
}

bool pull_credits::on_message() {
  if (requests_.empty()) {
    if (held_ + outstanding_ >= capacity_) return false;
    ++held_;
    return true;
  }
  ++held_;
  auto& r = requests_.front();
  --r.remaining;
  --outstanding_;
  if (r.remaining == 0) requests_.pop_front();
  return true;
}

void pull_credits::on_released() noexcept {
  if (held_ > 0) --held_;
}

void pull_credits::on_request_ended(std::uint64_t id) {
  auto it = std::find_if(requests_.begin(), requests_.end(), [id](const request& r) { return r.id == id; });
  if (it == requests_.end()) return;
  outstanding_ -= it->remaining;
  requests_.erase(it);
}

void pull_credits::expire(clock::time_point now) {
  std::erase_if(requests_, [&](const request& r) {
    if (r.expires >= now) return false;
    outstanding_ -= r.remaining;
    return true;
  });
}

void pull_credits::reset() noexcept {
  requests_.clear();
  outstanding_ = 0;
}

}  // namespace natscoro::detail

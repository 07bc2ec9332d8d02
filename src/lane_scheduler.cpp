#include <natscoro/detail/lane_scheduler.hpp>

#include <algorithm>

namespace natscoro::detail {

void lane_scheduler::push(std::uint64_t item, const std::string& key) {
  ++queued_;
  if (key.empty()) {
    ready_.push_back({std::string(), item});
    return;
  }
  auto& l = lanes_[key];
  l.items.push_back(item);
  lane_high_water_ = std::max(lane_high_water_, l.items.size());
  if (l.items.size() == 1) ready_.push_back({key, 0});  // an idle lane: ready now
}

std::optional<std::uint64_t> lane_scheduler::start_next() {
  if (running_ >= concurrency_) return std::nullopt;
  if (!resuming_.empty()) {
    const auto item = resuming_.front();
    resuming_.pop_front();
    paused_.erase(item);
    ++running_;
    return item;
  }
  if (ready_.empty()) return std::nullopt;
  ready_entry entry = std::move(ready_.front());
  ready_.pop_front();
  std::uint64_t item = entry.item;
  if (!entry.key.empty()) {
    auto& l = lanes_.at(entry.key);
    l.running = true;
    item = l.items.front();
  }
  running_keys_.emplace(item, std::move(entry.key));
  --queued_;
  ++running_;
  return item;
}

void lane_scheduler::pause(std::uint64_t item) {
  if (!running_keys_.contains(item) || paused_.contains(item)) return;
  paused_.emplace(item, false);
  --running_;
}

void lane_scheduler::resume(std::uint64_t item) {
  auto it = paused_.find(item);
  if (it == paused_.end() || it->second) return;
  it->second = true;
  resuming_.push_back(item);
}

void lane_scheduler::finish(std::uint64_t item) {
  auto it = running_keys_.find(item);
  if (it == running_keys_.end()) return;
  const std::string key = std::move(it->second);
  running_keys_.erase(it);
  if (auto p = paused_.find(item); p != paused_.end()) {
    if (p->second) std::erase(resuming_, item);
    paused_.erase(p);
  } else {
    --running_;
  }
  if (key.empty()) return;
  auto l = lanes_.find(key);
  l->second.items.pop_front();
  l->second.running = false;
  if (l->second.items.empty()) {
    lanes_.erase(l);  // lanes exist only while they hold items: memory follows the backlog
  } else {
    ready_.push_back({key, 0});  // behind the lanes already waiting
  }
}

std::vector<std::uint64_t> lane_scheduler::take_queued() {
  std::vector<std::uint64_t> out;
  for (const auto& entry : ready_)
    if (entry.key.empty()) out.push_back(entry.item);
  ready_.clear();
  for (auto it = lanes_.begin(); it != lanes_.end();) {
    auto& l = it->second;
    if (l.running) {  // its items follow once the running one is done
      ++it;
      continue;
    }
    out.insert(out.end(), l.items.begin(), l.items.end());
    it = lanes_.erase(it);
  }
  std::sort(out.begin(), out.end());  // item numbers follow arrival
  queued_ -= out.size();
  return out;
}

}  // namespace natscoro::detail

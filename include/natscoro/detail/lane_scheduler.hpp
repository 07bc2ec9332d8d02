// Which message the runner starts next: per-key lanes under a concurrency bound.
// Pure logic, no I/O; unit-tested without a server.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace natscoro::detail {

/// Items (numbered by the caller) arrive in stream order, each with a key.
/// Items with the same non-empty key form a lane: one of them runs at a time,
/// in arrival order, and a running item keeps its lane until finish() (retries
/// included). Items with an empty key have no lane. At most `concurrency` items
/// run at once. Lanes take turns: a lane that finishes an item and has more
/// goes behind the lanes already waiting, so one busy key cannot starve others.
class lane_scheduler {
 public:
  explicit lane_scheduler(std::size_t concurrency) : concurrency_(concurrency == 0 ? 1 : concurrency) {}

  void push(std::uint64_t item, const std::string& key);
  /// The next item to start, if the bound and the lanes allow one; it counts as running.
  std::optional<std::uint64_t> start_next();
  /// The running `item` waits (for a retry): it frees its place under the bound
  /// but keeps its lane.
  void pause(std::uint64_t item);
  /// The paused `item` wants to run again; start_next() returns it before new items.
  void resume(std::uint64_t item);
  /// The running (or paused) `item` is done: handled, dead-lettered or given back.
  void finish(std::uint64_t item);
  /// Removes every item not started whose lane has nothing running or paused, in
  /// arrival order (item numbers must grow with arrival): a drain gives them back,
  /// and the rest after their lane's running item is done.
  std::vector<std::uint64_t> take_queued();

  std::size_t running() const noexcept { return running_; }
  std::size_t queued() const noexcept { return queued_; }
  /// The most items one lane has held at once (running included).
  std::size_t lane_high_water() const noexcept { return lane_high_water_; }

 private:
  struct lane {
    std::deque<std::uint64_t> items;  // the front runs when `running`
    bool running = false;
  };
  // A ready entry is a lane key, or an item without a lane.
  struct ready_entry {
    std::string key;
    std::uint64_t item = 0;  // when key is empty
  };

  std::size_t concurrency_;
  std::size_t running_ = 0;
  std::size_t queued_ = 0;
  std::size_t lane_high_water_ = 0;
  std::unordered_map<std::string, lane> lanes_;
  std::unordered_map<std::uint64_t, std::string> running_keys_;  // running and paused items
  std::unordered_map<std::uint64_t, bool> paused_;               // paused item -> resume requested
  std::deque<std::uint64_t> resuming_;
  std::deque<ready_entry> ready_;  // lanes whose front may start, and unkeyed items, in turn
};

}  // namespace natscoro::detail

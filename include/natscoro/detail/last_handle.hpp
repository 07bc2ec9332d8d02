// The shared owner behind natscoro's copyable handles: when the last user-facing
// handle goes, it tells the core (close the connection, stop the consumer).
// Internal references to the core do not count.
#pragma once

#include <memory>

namespace natscoro::detail {

template <class Core, void (Core::*OnLastHandle)()>
class last_handle {
 public:
  explicit last_handle(std::shared_ptr<Core> core) : core_(std::move(core)) {}
  ~last_handle() { ((*core_).*OnLastHandle)(); }
  last_handle(const last_handle&) = delete;
  last_handle& operator=(const last_handle&) = delete;

 private:
  std::shared_ptr<Core> core_;
};

}  // namespace natscoro::detail

// A TCP proxy on loopback that puts faults between a client and a nats-server:
// it cuts connections (at once or at random), black-holes them (nothing is
// forwarded either way for a while: the client sees a silent server, as when
// packets vanish) and slows them to a trickle. Runs on its own thread; every
// control is safe from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace natscoro::test {

class fault_proxy {
 public:
  /// Listens on a free loopback port and forwards to 127.0.0.1:`target_port`.
  explicit fault_proxy(int target_port);
  ~fault_proxy();
  fault_proxy(const fault_proxy&) = delete;
  fault_proxy& operator=(const fault_proxy&) = delete;

  int port() const noexcept;
  std::string url() const;

  /// Closes every connection now, both sides.
  void cut_all();
  /// Cuts every connection at random moments `min` to `max` apart, until stop_cutting().
  void cut_randomly(std::chrono::milliseconds min, std::chrono::milliseconds max);
  void stop_cutting();
  /// Forwards nothing, in either direction, for `duration` (bytes wait; none are lost).
  void black_hole(std::chrono::milliseconds duration);
  /// Forwards at most `bytes_per_second` per direction and connection; 0: full speed.
  void trickle(std::size_t bytes_per_second);

  std::uint64_t connections_accepted() const noexcept;
  std::uint64_t connections_cut() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace natscoro::test

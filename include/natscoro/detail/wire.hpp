// The one seam through which natscoro writes messages with nats.c: publishes,
// pull requests, acks and JetStream API requests.
//
// Why a seam: nats.c writes on the calling thread, which is the application's
// executor. Two things in nats.c 3.4.1 can hold that thread for as long as a
// server is stalled (stopped, or unable to read):
//   - a write that finds the socket's buffers full waits in natsSock_WriteFully,
//     forever on the blocking socket nats.c uses without a write deadline;
//   - while reconnecting, nats.c holds the connection's lock during each attempt
//     (TCP connect, then waiting up to connect_timeout for the server's INFO), and
//     every publish waits for that lock.
// The first is bounded by connect_options::write_deadline (nats.c then drops the
// link and reconnects). The second is avoided here: while the link is down
// nothing is handed to nats.c, and each caller knows what to do instead (the
// publisher sends again once the link is back, a consumer pulls again, an ack
// reports not_connected and the message is redelivered).
//
// Subscriptions (reply inboxes) are made once per object, outside this seam:
// nats.c must record them to restore them after a reconnect.
#pragma once

#include <nats/nats.h>

#include <atomic>
#include <cstddef>
#include <string_view>

namespace natscoro {
class connection;
}

namespace natscoro::detail {

class wire {
 public:
  /// The link's state as nats.c's callbacks report it.
  enum class link { down, up, closed };

  /// Returned by the writes while the link is down: nothing was handed to nats.c.
  static constexpr natsStatus link_down = NATS_NOT_YET_CONNECTED;

  /// Set once the connection exists (before any write), from the connect.
  void attach(natsConnection* nc) noexcept { nc_ = nc; }
  /// From nats.c's callbacks and the connect: the link came up (with the
  /// server's max_payload, read then so that no publish needs nats.c's lock for
  /// it), went down, or the connection closed.
  void link_up(std::size_t max_payload) noexcept;
  void link_lost() noexcept;
  void closed() noexcept;

  link state() const noexcept { return state_.load(std::memory_order_acquire); }
  bool is_up() const noexcept { return state() == link::up; }
  /// The server's max_payload as of the last link; 0 before the first.
  std::size_t max_payload() const noexcept { return max_payload_.load(std::memory_order_relaxed); }

  /// natsConnection_PublishMsg. NATS_CONNECTION_CLOSED once closed, link_down
  /// while reconnecting, else nats.c's status (NATS_TIMEOUT: the write deadline
  /// passed and nats.c dropped the link).
  natsStatus publish(natsMsg* msg) const noexcept;
  /// natsConnection_Publish (acks); as above.
  natsStatus publish(const char* subject, std::string_view data) const noexcept;
  /// natsConnection_PublishRequest (pulls, API requests); as above.
  natsStatus request(const char* subject, const char* reply, std::string_view data) const noexcept;

 private:
  natsStatus refusal() const noexcept;

  natsConnection* nc_ = nullptr;
  std::atomic<link> state_{link::down};
  std::atomic<std::size_t> max_payload_{0};
};

/// The wire of `conn`'s connection; for an empty handle, one that refuses every
/// write with NATS_CONNECTION_CLOSED.
const wire& wire_of(const connection& conn) noexcept;

}  // namespace natscoro::detail

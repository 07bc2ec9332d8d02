#include <natscoro/detail/access.hpp>
#include <natscoro/detail/connection_core.hpp>
#include <natscoro/detail/wire.hpp>

namespace natscoro::detail {

void wire::link_up(std::size_t max_payload) noexcept {
  max_payload_.store(max_payload, std::memory_order_relaxed);
  link expected = link::down;
  state_.compare_exchange_strong(expected, link::up, std::memory_order_acq_rel);  // never reopens a closed one
}

void wire::link_lost() noexcept {
  link expected = link::up;
  state_.compare_exchange_strong(expected, link::down, std::memory_order_acq_rel);
}

void wire::closed() noexcept { state_.store(link::closed, std::memory_order_release); }

natsStatus wire::refusal() const noexcept {
  return nc_ == nullptr || state_.load(std::memory_order_acquire) == link::closed ? NATS_CONNECTION_CLOSED : link_down;
}

natsStatus wire::publish(natsMsg* msg) const noexcept {
  if (!is_up() || nc_ == nullptr) return refusal();
  return natsConnection_PublishMsg(nc_, msg);
}

natsStatus wire::publish(const char* subject, std::string_view data) const noexcept {
  if (!is_up() || nc_ == nullptr) return refusal();
  return natsConnection_Publish(nc_, subject, data.data(), static_cast<int>(data.size()));
}

natsStatus wire::request(const char* subject, const char* reply, std::string_view data) const noexcept {
  if (!is_up() || nc_ == nullptr) return refusal();
  return natsConnection_PublishRequest(nc_, subject, reply, data.data(), static_cast<int>(data.size()));
}

const wire& wire_of(const connection& conn) noexcept {
  static const wire none;
  const auto& core = access::core(conn);
  return core ? core->wire() : none;
}

}  // namespace natscoro::detail

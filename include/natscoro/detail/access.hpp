// What natscoro's own types reach inside the public handles: their shared state
// and their constructors. Not for applications; the public headers expose only
// what users call.
#pragma once

#include <natscoro/connection.hpp>
#include <natscoro/consumer.hpp>
#include <natscoro/jetstream.hpp>
#include <natscoro/message.hpp>
#include <natscoro/outbox.hpp>
#include <natscoro/publisher.hpp>

#include <memory>
#include <utility>

namespace natscoro::detail {

struct access {
  static const std::shared_ptr<connection_core>& core(const connection& c) noexcept { return c.core_; }
  static const std::shared_ptr<api_client>& api(const jetstream& js) noexcept { return js.api_; }
  static natscoro::consumer make_consumer(std::shared_ptr<void> owner, std::shared_ptr<consumer_core> core) {
    return natscoro::consumer(std::move(owner), std::move(core));
  }
  static message make_message(std::shared_ptr<message_state> state) { return message(std::move(state)); }
  static const std::shared_ptr<publisher_core>& core(const publisher& p) noexcept { return p.core_; }
  static const std::shared_ptr<consumer_core>& core(const natscoro::consumer& c) noexcept { return c.core_; }
  static const std::shared_ptr<run_counters>& run_counters_of(const natscoro::consumer& c) noexcept {
    return c.run_counters_;
  }
  static const std::shared_ptr<outbox_core>& core(const outbox_handle& o) noexcept { return o.core_; }
};

}  // namespace natscoro::detail

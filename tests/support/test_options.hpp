// Connect options the integration tests share.
#pragma once

#include "nats_server.hpp"

#include <natscoro/connect_options.hpp>

namespace natscoro::test {

/// For `server`, reconnecting quickly (tests kill and restart servers).
inline connect_options options_for(const nats_server& server) {
  connect_options o;
  o.servers = {server.url()};
  o.reconnect.wait = std::chrono::milliseconds(50);
  o.reconnect.jitter = std::chrono::milliseconds(0);
  return o;
}

}  // namespace natscoro::test

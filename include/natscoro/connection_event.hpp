// State changes of a connection, reported on the connection's executor.
#pragma once

#include <natscoro/error.hpp>

#include <string>
#include <string_view>

namespace natscoro {

enum class connection_event_kind {
  connected,     ///< the first link, after a degraded start (connect_options::retry_on_failed_connect)
  disconnected,  ///< the link to the server was lost; nats.c is reconnecting (publishes are buffered)
  reconnected,   ///< a link is re-established (possibly to another server of the cluster)
  closed,        ///< the connection is closed for good (drain, close, or reconnect attempts exhausted)
  server_error,  ///< an asynchronous error (e.g. permissions violation, slow consumer)
  lame_duck,     ///< the server announced it is shutting down; nats.c will move to another server
};

std::string_view to_string(connection_event_kind kind) noexcept;

struct connection_event {
  connection_event_kind kind{};
  std::string server_url;  ///< the server concerned, when known (credentials replaced by "***")
  error_code error;        ///< for server_error, and for closed when reconnecting gave up
  std::string detail;      ///< nats.c's or the server's text, when there is one
};

}  // namespace natscoro

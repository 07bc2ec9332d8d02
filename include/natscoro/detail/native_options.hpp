// Translation of connect_options into nats.c's natsOptions.
#pragma once

#include <natscoro/connect_options.hpp>
#include <natscoro/error.hpp>

#include <nats/nats.h>

#include <memory>
#include <string>

namespace natscoro::detail {

/// The nats.c callbacks of one connection, all with the same closure.
struct native_callbacks {
  natsConnectionHandler disconnected = nullptr;
  natsConnectionHandler reconnected = nullptr;
  natsConnectionHandler closed = nullptr;
  natsConnectionHandler lame_duck = nullptr;
  natsErrHandler error = nullptr;
  natsConnectionHandler connected = nullptr;  ///< the first link after a degraded start
  void* closure = nullptr;
};

struct native_options_deleter {
  void operator()(natsOptions* o) const noexcept { natsOptions_Destroy(o); }
};
using native_options_ptr = std::unique_ptr<natsOptions, native_options_deleter>;

struct native_options_result {
  native_options_ptr options;
  error_code error;
  std::string detail;  ///< which option was refused, and nats.c's reason
};

/// What is wrong with a server URL, or empty: "[nats|tls://][user[:password]@]host[:port]"
/// (IPv6 hosts in brackets), no spaces or control characters, port 1 to 65535. nats.c
/// parses URLs only when connecting, and then says "invalid argument" or "no server".
/// The text quotes the URL with its credentials removed.
std::string check_server_url(std::string_view url);

/// Checks `opts` and builds the nats.c options (reads TLS and credential files).
native_options_result make_native_options(const connect_options& opts, const native_callbacks& callbacks);

/// nats.c's description of the last error on this thread (empty if none).
std::string last_nats_error_text();

}  // namespace natscoro::detail

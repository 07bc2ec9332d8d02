// What every example's main() does, written once: the server's URL from the
// command line or $NATS_URL, and one coroutine run to completion on an
// io_context, its exception printed and turned into exit status 1.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdlib>
#include <exception>
#include <functional>
#include <iostream>
#include <string>

namespace natscoro_examples {

/// argv[1], else $NATS_URL, else a server on this machine's default port.
inline std::string server_url(int argc, char** argv) {
  if (argc > 1) return argv[1];
  const char* env = std::getenv("NATS_URL");
  return env != nullptr && *env != '\0' ? env : "nats://127.0.0.1:4222";
}

/// Runs `body(executor)` on a fresh io_context until it and everything it
/// started are done; returns the coroutine's result, or 1 if it threw.
inline int run(const char* name, const std::function<boost::asio::awaitable<int>(boost::asio::any_io_executor)>& body) {
  boost::asio::io_context ioc;
  int status = 1;
  boost::asio::co_spawn(ioc, body(ioc.get_executor()), [&](std::exception_ptr e, int result) {
    status = result;
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      std::cerr << name << " failed: " << ex.what() << "\n";
      status = 1;
    }
  });
  ioc.run();
  return status;
}

}  // namespace natscoro_examples

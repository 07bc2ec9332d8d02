// The natscoro demo: connects, shows what the server says about itself and
// every state change of the connection, then drains.
//
//   natscoro_demo [NATS_URL]      (default: $NATS_URL, else nats://127.0.0.1:4222)
#include <natscoro/natscoro.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdlib>
#include <iostream>

namespace asio = boost::asio;
namespace nc = natscoro;

asio::awaitable<void> demo(asio::any_io_executor ex, std::string url) {
  nc::connect_options opts;
  opts.servers = {url};
  opts.name = "natscoro-demo";
  opts.on_event = [](const nc::connection_event& ev) {
    std::cout << "event: " << nc::to_string(ev.kind) << " " << ev.server_url
              << (ev.error ? " (" + ev.error.message() + ")" : std::string()) << "\n";
  };
  nc::connection conn = co_await nc::connect(ex, opts);

  const nc::server_info info = conn.info();
  std::cout << "connected to " << info.connected_url << "\n"
            << "  server id:    " << info.server_id << "\n"
            << "  max payload:  " << info.max_payload << " bytes\n"
            << "  headers:      " << (info.headers ? "yes" : "no") << "\n"
            << "  client id:    " << info.client_id << " (" << info.client_ip << ")\n";

  co_await conn.drain();
  std::cout << "drained and closed\n";
}

int main(int argc, char** argv) {
  const char* env = std::getenv("NATS_URL");
  std::string url = argc > 1 ? argv[1] : (env != nullptr && *env != '\0' ? env : "nats://127.0.0.1:4222");
  asio::io_context ioc;
  int status = 0;
  asio::co_spawn(ioc, demo(ioc.get_executor(), url), [&](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      std::cerr << "demo failed: " << ex.what() << "\n";
      status = 1;
    }
  });
  ioc.run();
  return status;
}

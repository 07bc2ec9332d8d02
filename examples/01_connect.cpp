// 01 connect: a connection, what the server says about itself, its events, a
// failed connect read as an error code with the server's words, and a drain.
//
//   example_01_connect [NATS_URL]   (default: $NATS_URL, else nats://127.0.0.1:4222)
#include "example_main.hpp"

#include <natscoro/natscoro.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/deferred.hpp>

namespace asio = boost::asio;
namespace nc = natscoro;

asio::awaitable<int> connect_and_drain(asio::any_io_executor ex, std::string url) {
  //! [connect]
  nc::connect_options opts;
  opts.servers = {url};  // several for a cluster; tls:// implies TLS
  opts.name = "example-01";
  opts.on_event = [](const nc::connection_event& ev) {  // on the connection's strand
    std::cout << "event: " << nc::to_string(ev.kind) << "\n";
  };
  nc::connection conn = co_await nc::connect(ex, opts);  // throws natscoro::error on failure
  const nc::server_info info = conn.info();
  std::cout << "connected to " << info.connected_url << ", max_payload " << info.max_payload << " bytes\n";
  //! [connect]

  //! [connect-error]
  // Without exceptions: the error code, and the words that go with it.
  nc::connect_options nowhere;
  nowhere.servers = {"nats://127.0.0.1:1"};  // nothing listens there
  nowhere.connect_timeout = std::chrono::milliseconds(500);
  nc::diagnostics diag;
  auto [ec, unused] = co_await nc::connect(ex, nowhere, nc::with_diagnostics(diag, asio::as_tuple(asio::deferred)));
  std::cout << "connecting to port 1: " << ec.message() << " (" << diag.message << ")\n";
  //! [connect-error]

  co_await conn.drain();  // flushes what was published, then closes
  co_return ec == nc::nats_errc::no_server ? 0 : 1;
}

int main(int argc, char** argv) {
  const std::string url = natscoro_examples::server_url(argc, argv);
  return natscoro_examples::run("example 01", [&](asio::any_io_executor ex) { return connect_and_drain(ex, url); });
}

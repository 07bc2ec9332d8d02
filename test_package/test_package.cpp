// Links against the installed natscoro and runs an operation to completion:
// a connect to a port where nothing listens must fail cleanly.
#include <natscoro/natscoro.hpp>

#include <boost/asio/io_context.hpp>

#include <iostream>

int main() {
  boost::asio::io_context ioc;
  natscoro::connect_options opts;
  opts.servers = {"nats://127.0.0.1:1"};
  natscoro::error_code result;
  natscoro::connect(ioc.get_executor(), opts, [&](natscoro::error_code ec, natscoro::connection) { result = ec; });
  ioc.run();
  std::cout << "test_package: connect to a closed port -> " << result.message() << "\n";
  return result == natscoro::nats_errc::no_server ? 0 : 1;
}

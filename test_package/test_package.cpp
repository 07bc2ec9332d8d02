// Links against the installed natscoro and runs an operation to completion:
// a connect to a port where nothing listens must fail cleanly.
#include <natscoro/natscoro.hpp>

#include <boost/asio/io_context.hpp>

#include <iostream>
#include <string_view>

int main() {
  boost::asio::io_context ioc;
  natscoro::connect_options opts;
  opts.servers = {"nats://127.0.0.1:1"};
  natscoro::error_code result;
  natscoro::connect(ioc.get_executor(), opts, [&](natscoro::error_code ec, natscoro::connection) { result = ec; });
  ioc.run();
  std::cout << "test_package: natscoro " << natscoro::version() << ", connect to a closed port -> " << result.message()
            << "\n";
  // The library linked in is the one whose headers were compiled.
  if (std::string_view(natscoro::version()) != NATSCORO_VERSION_STRING) return 1;
  return result == natscoro::nats_errc::no_server ? 0 : 1;
}

// A consumer in a process of its own, for the crash and restart tests.
//
//   consumer_child URL STREAM DURABLE COUNT hold|ack
//
// Takes COUNT messages from the durable consumer. With "hold" it acknowledges
// none, prints "held COUNT" and waits to be killed; with "ack" it acknowledges
// each (ack_sync), prints "acked COUNT", drains and exits.
#include <natscoro/natscoro.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <iostream>
#include <string>

namespace asio = boost::asio;
namespace nc = natscoro;

int main(int argc, char** argv) {
  if (argc != 6) return 2;
  const std::string url = argv[1], stream = argv[2], durable = argv[3], mode = argv[5];
  const int count = std::stoi(argv[4]);
  asio::io_context ioc;
  int status = 1;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        nc::connect_options copts;
        copts.servers = {url};
        auto conn = co_await nc::connect(ioc.get_executor(), copts);
        nc::jetstream js{conn};
        nc::consumer_config cfg;
        cfg.durable = durable;
        cfg.ack_wait = std::chrono::seconds(2);
        nc::consumer_options opts;
        opts.capacity = static_cast<std::size_t>(count);
        auto cons = co_await js.consumer(stream, cfg, opts);
        std::vector<nc::message> taken;
        for (int i = 0; i < count; ++i) {
          auto m = co_await cons.next();
          if (!m) co_return;
          if (mode == "ack") co_await m->ack_sync();
          taken.push_back(*m);
        }
        std::cout << (mode == "ack" ? "acked " : "held ") << count << std::endl;
        if (mode == "hold") {
          asio::steady_timer forever(ioc.get_executor(), std::chrono::hours(1));
          co_await forever.async_wait(asio::use_awaitable);
        }
        co_await cons.drain();
        co_await conn.drain();
        status = 0;
      },
      [](std::exception_ptr e) {
        if (e) try {
            std::rethrow_exception(e);
          } catch (const std::exception& ex) {
            std::cerr << ex.what() << "\n";
          }
      });
  ioc.run();
  return status;
}

// An outbox producer in a process of its own, for the kill -9 test.
//
//   outbox_child URL FILE COUNT
//
// Opens the outbox FILE (relaying to URL as it goes) and stores COUNT events from
// 64 concurrent producers, printing "stored <event id>" as each publish completes
// (durable on disk), then "done". The test kills it on the way.
#include <natscoro/natscoro.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <iostream>
#include <string>

namespace asio = boost::asio;
namespace nc = natscoro;

int main(int argc, char** argv) {
  if (argc != 4) return 2;
  const std::string url = argv[1], file = argv[2];
  const int count = std::stoi(argv[3]);
  nc::logger()->set_level(spdlog::level::err);
  asio::io_context ioc;
  int status = 1;
  asio::co_spawn(
      ioc,
      [&]() -> asio::awaitable<void> {
        nc::connect_options copts;
        copts.servers = {url};
        auto conn = co_await nc::connect(ioc.get_executor(), copts);
        nc::outbox_options opts;
        opts.path = file;
        opts.publish.source = "outbox-child";
        auto ob = co_await nc::outbox::open(nc::jetstream{conn}, opts);
        constexpr int producers = 64;
        int next = 0, finished = 0;
        for (int p = 0; p < producers; ++p)
          asio::co_spawn(
              ioc,
              [&]() -> asio::awaitable<void> {
                while (next < count) {
                  ++next;
                  auto evt = nc::event::make("outbox.tested", "org-1");
                  const std::string id = evt.id;
                  co_await ob.publish("outbox.child", std::move(evt));
                  std::cout << "stored " << id << '\n' << std::flush;
                }
                ++finished;
              },
              asio::detached);
        asio::steady_timer tick(ioc);
        while (finished < producers) {
          tick.expires_after(std::chrono::milliseconds(10));
          co_await tick.async_wait(asio::use_awaitable);
        }
        std::cout << "done" << std::endl;
        co_await ob.close();
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

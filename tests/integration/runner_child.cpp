// A runner in a process of its own, for the crash and SIGTERM tests.
//
//   runner_child URL STREAM DURABLE hang|handle
//
// Runs the handler runner on the durable consumer (ordered by subject token 2,
// dead-letter stream DLQ_EVENTS). With "hang" each handler prints
// "handling <sequence>" and never finishes (the test kills the process). With
// "handle" each handler prints "handled <key> <sequence>"; SIGTERM or SIGINT
// drains (deadline 10 s) and the process prints "drained <handled>" and exits 0:
// the wiring README.md shows.
#include <natscoro/natscoro.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <iostream>
#include <string>

namespace asio = boost::asio;
namespace nc = natscoro;
using namespace std::chrono_literals;

int main(int argc, char** argv) {
  if (argc != 5) return 2;
  const std::string url = argv[1], stream = argv[2], durable = argv[3], mode = argv[4];
  nc::logger()->set_level(spdlog::level::warn);
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
        // "hang": the crash test runs the consumer out of deliveries quickly.
        cfg.ack_wait = mode == "hang" ? 1s : 30s;
        cfg.max_deliver = mode == "hang" ? 2 : 5;
        auto cons = co_await js.consumer(stream, cfg);

        asio::signal_set signals(ioc, SIGTERM, SIGINT);
        signals.async_wait([cons](const boost::system::error_code& ec, int) mutable {
          if (!ec) cons.drain(10s, asio::detached);
        });

        nc::run_options opts;
        opts.concurrency = 8;
        opts.ordering_key = nc::key_by_subject_token(2);
        opts.dead_letter = nc::dead_letter_options{.stream = "DLQ_EVENTS", .subject_prefix = "dlq"};
        std::uint64_t handled = 0;
        co_await cons.run(
            [&](nc::message& m) -> asio::awaitable<void> {
              const auto seq = m.metadata().stream_sequence;
              if (mode == "hang") {
                std::cout << "handling " << seq << std::endl;
                asio::steady_timer forever(co_await asio::this_coro::executor, 1h);
                co_await forever.async_wait(asio::use_awaitable);
              }
              ++handled;
              std::cout << "handled " << nc::key_by_subject_token(2)(m) << ' ' << seq << std::endl;
            },
            opts);
        signals.cancel();
        std::cout << "drained " << handled << std::endl;
        co_await conn.drain();
        status = 0;
      },
      [](std::exception_ptr e) {
        if (e) try { std::rethrow_exception(e); } catch (const std::exception& ex) { std::cerr << ex.what() << "\n"; }
      });
  ioc.run();
  return status;
}

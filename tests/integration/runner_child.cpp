// A runner in a process of its own, for the crash and SIGTERM tests.
//
//   runner_child URL STREAM DURABLE hang|handle|pause|strict
//
// Runs the handler runner on the durable consumer (ordered by subject token 2,
// dead-letter stream DLQ_EVENTS). With "hang" each handler prints
// "handling <sequence>" and never finishes (the test kills the process). With
// "handle" each handler prints "handled <key> <sequence>"; SIGTERM or SIGINT
// drains (deadline 10 s) and the process prints "drained <handled>" and exits 0:
// the wiring docs/runner.md shows. "pause" is "handle" that holds every handler after
// the 1,000th until SIGTERM, and prints "quiet" once the consumer is full and no
// pull request is open: a SIGTERM then comes mid-stream, with nothing the server
// could still be delivering (nats-server 2.9 registers pull requests
// asynchronously, so one open at the drain may take a given-back message late).
// "strict" is "handle" on a consumer with max_ack_pending 1 and ack_wait 1 s: the
// configuration docs/runner.md gives for order per key across crashes.
// "record" and "norecord" print "handled <event id>" per handler call, on a consumer
// with ack_wait 10 s and room for 20,000 unacknowledged messages; "record" skips the
// ids recorded in the processed-id bucket "processed" (the idempotency test, which
// runs the first process as a user that may not acknowledge).
#include <natscoro/natscoro.hpp>

#include <boost/asio/as_tuple.hpp>
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
        const bool idempotency = mode == "record" || mode == "norecord";
        cfg.ack_wait = mode == "hang" || mode == "strict" ? 1s : idempotency ? 10s : 30s;
        cfg.max_deliver = mode == "hang" ? 2 : idempotency ? -1 : 5;
        if (mode == "strict") cfg.max_ack_pending = 1;
        if (idempotency) cfg.max_ack_pending = 20000;
        constexpr std::size_t capacity = 256;
        auto cons = co_await js.consumer(stream, cfg, nc::consumer_options{.capacity = capacity});

        constexpr std::uint64_t pause_after = 1000;
        const bool pause = mode == "pause";
        asio::steady_timer release(ioc, asio::steady_timer::time_point::max());  // cancelled by SIGTERM
        bool released = false;
        asio::signal_set signals(ioc, SIGTERM, SIGINT);
        signals.async_wait([cons, &release, &released](const boost::system::error_code& ec, int) mutable {
          if (ec) return;
          released = true;
          release.cancel();
          cons.drain(10s, asio::detached);
        });

        nc::run_options opts;
        opts.concurrency = 8;
        opts.ordering_key = nc::key_by_subject_token(2);
        opts.dead_letter = nc::dead_letter_options{.stream = "DLQ_EVENTS", .subject_prefix = "dlq"};
        if (idempotency) opts.concurrency = 16;
        if (mode == "record") opts.processed_ids = nc::processed_id_options{.bucket = "processed"};
        std::uint64_t handled = 0;
        if (pause)
          asio::co_spawn(
              ioc,
              [&]() -> asio::awaitable<void> {
                asio::steady_timer poll(ioc);
                while (!(handled == pause_after && cons.stats().held == capacity && cons.stats().outstanding == 0)) {
                  poll.expires_after(10ms);
                  co_await poll.async_wait(asio::use_awaitable);
                }
                std::cout << "quiet" << std::endl;
              },
              asio::detached);
        co_await cons.run(
            [&](nc::message& m) -> asio::awaitable<void> {
              const auto seq = m.metadata().stream_sequence;
              if (pause && handled >= pause_after && !released)
                co_await release.async_wait(asio::as_tuple(asio::use_awaitable));
              if (mode == "hang") {
                std::cout << "handling " << seq << std::endl;
                asio::steady_timer forever(co_await asio::this_coro::executor, 1h);
                co_await forever.async_wait(asio::use_awaitable);
              }
              ++handled;
              if (idempotency)
                std::cout << "handled " << m.event().id << std::endl;
              else
                std::cout << "handled " << nc::key_by_subject_token(2)(m) << ' ' << seq << std::endl;
            },
            opts);
        signals.cancel();
        std::cout << "drained " << handled << std::endl;
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

// 06 graceful shutdown: a service that runs until SIGTERM or SIGINT, then
// drains: pulling stops, what was not started is given back to the server (for
// another instance, at once), running handlers finish and are acknowledged.
//
//   example_06_graceful_shutdown [NATS_URL]   (default: $NATS_URL, else nats://127.0.0.1:4222)
//
// Publishes 500 events, handles them slowly (100 ms each, 8 at a time) and prints
// "running" once handling has begun; send SIGTERM (or press Ctrl-C) to stop it.
#include "example_main.hpp"

#include <natscoro/natscoro.hpp>

#include <boost/asio/detached.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <csignal>

namespace asio = boost::asio;
namespace nc = natscoro;

asio::awaitable<int> serve_until_signalled(asio::any_io_executor ex, std::string url) {
  nc::connect_options copts;
  copts.servers = {url};
  nc::connection conn = co_await nc::connect(ex, copts);
  nc::jetstream js{conn};
  nc::stream_config stream;
  stream.name = "REPORTS";
  stream.subjects = {"reports.>"};
  co_await js.ensure_stream(stream);
  nc::publisher_options popts;
  popts.source = "report-scheduler";
  nc::publisher pub{js, popts};
  for (int i = 0; i < 500; ++i)
    pub.publish("reports.requested", nc::event::make("report.requested", "org-1", boost::json::object{{"report", i}}),
                asio::detached);
  co_await pub.flush();  // every PubAck is in

  nc::consumer_config cfg;
  cfg.durable = "report-builder";
  nc::consumer cons = co_await js.consumer("REPORTS", cfg);

  //! [signals]
  asio::signal_set signals(ex, SIGTERM, SIGINT);
  signals.async_wait([cons](const boost::system::error_code& ec, int signal) mutable {
    if (ec) return;
    std::cout << "signal " << signal << ": draining\n";
    cons.drain(std::chrono::seconds(20), asio::detached);  // handlers get 20 s to finish
  });
  //! [signals]

  bool announced = false;
  auto build_report = [&](nc::message&) -> asio::awaitable<void> {
    if (!announced) {
      announced = true;
      std::cout << "running" << std::endl;
    }
    asio::steady_timer work(co_await asio::this_coro::executor, std::chrono::milliseconds(100));
    co_await work.async_wait(asio::use_awaitable);  // cancelled (terminal) if the drain's grace runs out
  };
  nc::run_options opts;
  opts.concurrency = 8;
  co_await cons.run(build_report, opts);  // returns once drained and everything is settled
  signals.cancel();

  const nc::runner_stats s = cons.run_stats();
  std::cout << "drained: " << s.handled << " handled, " << s.given_back << " given back for the next instance, "
            << s.in_flight << " running\n";
  co_await conn.drain();
  co_return s.in_flight == 0 && s.handled > 0 ? 0 : 1;
}

int main(int argc, char** argv) {
  const std::string url = natscoro_examples::server_url(argc, argv);
  return natscoro_examples::run("example 06", [&](asio::any_io_executor ex) { return serve_until_signalled(ex, url); });
}

// 07 consumer group: two worker processes on one durable consumer share its
// messages, each message going to one of them at a time; SIGTERM drains each.
//
//   example_07_consumer_group [NATS_URL]   (default: $NATS_URL, else nats://127.0.0.1:4222)
//
// Starts two workers (this program, `--worker NAME`), publishes 1,000 events,
// waits until the server reports every one acknowledged, then stops the workers
// with SIGTERM; each prints what it handled. Exits 1 unless all are handled and
// both workers stopped cleanly.
#include "example_main.hpp"

#include <natscoro/natscoro.hpp>

#include <boost/asio/detached.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/process/v2/process.hpp>

#include <csignal>
#include <filesystem>
#include <string_view>

namespace asio = boost::asio;
namespace nc = natscoro;
namespace bp = boost::process::v2;

constexpr int event_count = 1000;

nc::consumer_config group_consumer() {
  nc::consumer_config cfg;
  cfg.durable = "analytics";  // every instance binds the same durable: that is the group
  cfg.ack_wait = std::chrono::seconds(30);
  return cfg;
}

//! [worker]
asio::awaitable<int> worker(asio::any_io_executor ex, std::string url, std::string name) {
  nc::connect_options copts;
  copts.servers = {url};
  copts.name = "analytics-" + name;
  nc::connection conn = co_await nc::connect(ex, copts);
  nc::jetstream js{conn};
  nc::consumer cons = co_await js.consumer("AUTH_EVENTS", group_consumer());
  asio::signal_set signals(ex, SIGTERM, SIGINT);
  signals.async_wait([cons](const boost::system::error_code& ec, int) mutable {
    if (!ec) cons.drain(asio::detached);
  });
  nc::run_options opts;
  opts.concurrency = 16;
  co_await cons.run([](nc::message&) -> asio::awaitable<void> { co_return; }, opts);
  std::cout << "worker " << name << " handled " << cons.run_stats().handled << std::endl;
  co_await conn.drain();
  co_return 0;
}
//! [worker]

asio::awaitable<int> run_group(asio::any_io_executor ex, std::string url, std::string self) {
  nc::connect_options copts;
  copts.servers = {url};
  nc::connection conn = co_await nc::connect(ex, copts);
  nc::jetstream js{conn};
  nc::stream_config stream;
  stream.name = "AUTH_EVENTS";
  stream.subjects = {"auth.>"};
  co_await js.ensure_stream(stream);
  co_await js.ensure_consumer("AUTH_EVENTS", group_consumer());

  std::vector<bp::process> workers;
  for (const char* name : {"a", "b"}) workers.emplace_back(ex, self, std::vector<std::string>{url, "--worker", name});

  nc::publisher_options popts;
  popts.source = "auth-service";
  nc::publisher pub{js, popts};
  //! [pipelining]
  int failed = 0;
  for (int i = 0; i < event_count; ++i) {
    if (!pub.has_room()) co_await pub.wait_for_room();  // at most max_in_flight awaiting their PubAck
    pub.publish("auth.user.login", nc::event::make("user.login.succeeded", "org-1", boost::json::object{{"user", i}}),
                [&failed](nc::error_code ec, nc::pub_ack) { failed += ec ? 1 : 0; });  // per event, on the strand
  }
  co_await pub.flush();  // every PubAck (or failure) is in
  //! [pipelining]

  asio::steady_timer tick(ex);
  for (;;) {  // until the server has every event acknowledged
    const nc::consumer_info info = co_await js.consumer_info("AUTH_EVENTS", "analytics");
    if (info.num_pending == 0 && info.num_ack_pending == 0 && info.ack_floor_stream_sequence == event_count) break;
    tick.expires_after(std::chrono::milliseconds(50));
    co_await tick.async_wait(asio::use_awaitable);
  }
  bool clean = true;
  for (bp::process& w : workers) {
    w.request_exit();  // SIGTERM
    clean = co_await w.async_wait(asio::use_awaitable) == 0 && clean;
  }
  std::cout << "all " << event_count << " acknowledged; workers stopped " << (clean ? "cleanly" : "with an error")
            << "\n";
  co_await conn.drain();
  co_return clean&& failed == 0 ? 0 : 1;
}

int main(int argc, char** argv) {
  const std::string url = natscoro_examples::server_url(argc, argv);
  if (argc == 4 && std::string_view(argv[2]) == "--worker")
    return natscoro_examples::run("example 07 worker",
                                  [&](asio::any_io_executor ex) { return worker(ex, url, argv[3]); });
  return natscoro_examples::run("example 07", [&](asio::any_io_executor ex) {
    return run_group(ex, url, std::filesystem::canonical("/proc/self/exe").string());
  });
}

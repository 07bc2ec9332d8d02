// 04 runner: handlers run by the runner, at most `concurrency` at once, in
// stream order per key, a failed attempt retried in its key's lane (a later
// event of that key never overtakes it), success acknowledged.
//
//   example_04_runner [NATS_URL]   (default: $NATS_URL, else nats://127.0.0.1:4222)
//
// Three orders, three steps each; every second step fails its first attempt.
// Exits 1 if an order's steps were handled out of order.
#include "example_main.hpp"

#include <natscoro/natscoro.hpp>

#include <boost/asio/detached.hpp>

#include <map>
#include <stdexcept>

namespace asio = boost::asio;
namespace nc = natscoro;

asio::awaitable<int> run_orders(asio::any_io_executor ex, std::string url) {
  nc::connect_options copts;
  copts.servers = {url};
  nc::connection conn = co_await nc::connect(ex, copts);
  nc::jetstream js{conn};
  nc::stream_config stream;
  stream.name = "ORDERS";
  stream.subjects = {"orders.>"};
  co_await js.ensure_stream(stream);
  nc::publisher_options popts;
  popts.source = "order-service";
  popts.subject_template = "orders.{subject}.{type}";  // the order id gets a token of its own
  nc::publisher pub{js, popts};
  for (int step = 1; step <= 3; ++step)
    for (const char* order : {"o-1", "o-2", "o-3"}) {
      auto evt = nc::event::make("order.step", "shop-1", boost::json::object{{"step", step}});
      evt.subject = order;  // the entity key: "orders.o-1.order.step"
      co_await pub.publish(evt);
    }
  nc::consumer_config cfg;
  cfg.durable = "fulfilment";
  nc::consumer cons = co_await js.consumer("ORDERS", cfg);

  //! [runner]
  nc::run_options opts;
  opts.concurrency = 64;                            // handlers at once, at most
  opts.ordering_key = nc::key_by_subject_token(1);  // "orders.o-1.order.step" -> "o-1"
  opts.retry = nc::retry_policy{.max_attempts = 5, .backoff = {std::chrono::milliseconds(100)}};

  std::map<std::string, std::int64_t> last_step;  // handlers of one consumer run on its strand
  int handled = 0;
  bool in_order = true;
  auto handler = [&](nc::message& msg) -> asio::awaitable<void> {
    const nc::event evt = msg.event();
    const std::int64_t step = evt.data.at("step").as_int64();
    if (step == 2 && msg.attempt() == 1) throw std::runtime_error("the warehouse did not answer");  // retried
    std::cout << *evt.subject << " step " << step << " (attempt " << msg.attempt() << ")\n";
    in_order = in_order && step == last_step[*evt.subject] + 1;
    last_step[*evt.subject] = step;
    if (++handled == 9) cons.drain(asio::detached);
    co_return;  // returning acknowledges; throwing fails this attempt
  };
  co_await cons.run(handler, opts);  // until drained: everything running is settled first
  //! [runner]

  const nc::runner_stats stats = cons.run_stats();
  std::cout << stats.handled << " handled, " << stats.retried << " retried\n";
  co_await conn.drain();
  co_return in_order&& stats.handled == 9 && stats.retried == 3 ? 0 : 1;
}

int main(int argc, char** argv) {
  const std::string url = natscoro_examples::server_url(argc, argv);
  return natscoro_examples::run("example 04", [&](asio::any_io_executor ex) { return run_orders(ex, url); });
}

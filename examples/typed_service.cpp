// A typed service: structs published as CloudEvents with the entity key in the
// subject, consumed by an event router that hands each handler its struct.
//
//   natscoro_typed_service [NATS_URL]   (default: $NATS_URL, else nats://127.0.0.1:4222)
//
// Publishes three events for two orders (the first starting a W3C trace),
// handles them in order per order, prints what each handler saw, and serves
// Prometheus metrics and a health check over HTTP meanwhile (docs/operations.md).
#include <natscoro/natscoro.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/describe/class.hpp>

#include <algorithm>
#include <cstdlib>
#include <iostream>

namespace asio = boost::asio;
namespace nc = natscoro;

// Described structs: Boost.JSON converts them both ways, no code to write.
struct order_placed {
  std::string order;
  std::int64_t amount_cents = 0;
};
BOOST_DESCRIBE_STRUCT(order_placed, (), (order, amount_cents))

struct order_shipped {
  std::string order;
  std::string carrier;
};
BOOST_DESCRIBE_STRUCT(order_shipped, (), (order, carrier))

asio::awaitable<void> service(asio::any_io_executor ex, std::string url) {
  nc::connect_options copts;
  copts.servers = {url};
  nc::connection conn = co_await nc::connect(ex, copts);
  nc::jetstream js{conn};
  nc::stream_config orders;
  orders.name = "ORDERS";
  orders.subjects = {"orders.>"};
  co_await js.ensure_stream(orders);

  //! [typed-publisher]
  // Publishing: the key (CloudEvents subject) gets a token of its own.
  nc::publisher_options popts;
  popts.source = "order-service";
  popts.subject_template = "orders.{subject}.{type}";  // "orders.o-1.order.placed"
  nc::publisher pub{js, popts};
  //! [typed-publisher]

  // For operators: /metrics and /healthz on a free local port.
  //! [metrics-server]
  auto metrics = std::make_shared<nc::metrics>();
  metrics->add("main", conn);
  metrics->add("orders", pub);
  nc::health_options health;
  health.probe = js;
  nc::metrics_server endpoint(ex, metrics, {asio::ip::make_address("127.0.0.1"), 0}, health);
  //! [metrics-server]
  std::cout << "metrics on http://127.0.0.1:" << endpoint.local_endpoint().port() << "/metrics\n";

  //! [typed-publish]
  auto placed = nc::event::make("order.placed", "shop-1", order_placed{"o-1", 1250});
  placed.subject = "o-1";
  placed.start_trace();  // handlers see its traceparent; their follow_up()s continue it
  co_await pub.publish(placed);
  //! [typed-publish]
  auto other = nc::event::make("order.placed", "shop-1", order_placed{"o-2", 990});
  other.subject = "o-2";
  co_await pub.publish(other);
  auto shipped = nc::event::make("order.shipped", "shop-1", order_shipped{"o-1", "DHL"});
  shipped.subject = "o-1";
  co_await pub.publish(shipped);

  // Consuming: one typed handler per event type.
  nc::consumer_config ccfg;
  ccfg.durable = "typed-service";
  nc::consumer cons = co_await js.consumer("ORDERS", ccfg);
  metrics->add("typed-service", cons);
  int handled = 0;
  //! [router]
  nc::event_router router(nc::unknown_event_policy::dead_letter);
  router.on<order_placed>("order.placed", [&](const order_placed& o, nc::message&) -> asio::awaitable<void> {
    std::cout << "placed " << o.order << ": " << o.amount_cents << " cents\n";
    if (++handled == 3) cons.drain(asio::detached);
    co_return;
  });
  //! [router]
  router.on<order_shipped>("order.shipped", [&](const order_shipped& o, nc::message&) -> asio::awaitable<void> {
    std::cout << "shipped " << o.order << " with " << o.carrier << "\n";
    if (++handled == 3) cons.drain(asio::detached);
    co_return;
  });
  //! [run-router]
  nc::run_options ropts;
  ropts.ordering_key = nc::key_by_subject_token(1);  // the order id: in order per order
  ropts.dead_letter = nc::dead_letter_options{.stream = "DLQ_ORDERS", .subject_prefix = "dlq"};
  co_await cons.run(router, ropts);  // until drained
  //! [run-router]
  const auto text = metrics->exposition();
  std::cout << "exposition: " << std::count(text.begin(), text.end(), '\n') << " lines, " << cons.run_stats().handled
            << " handled\n";
  endpoint.stop();
  co_await conn.drain();
}

int main(int argc, char** argv) {
  const char* env = std::getenv("NATS_URL");
  const std::string url = argc > 1 ? argv[1] : (env != nullptr && *env != '\0' ? env : "nats://127.0.0.1:4222");
  asio::io_context ioc;
  int status = 0;
  asio::co_spawn(ioc, service(ioc.get_executor(), url), [&](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      std::cerr << "typed service example failed: " << ex.what() << "\n";
      status = 1;
    }
  });
  ioc.run();
  return status;
}

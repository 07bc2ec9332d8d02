// The outbox: a service that must not lose an event while NATS is down, when it
// crashes, or when it starts before its broker.
//
//   natscoro_outbox [NATS_URL [FILE]]   (default: $NATS_URL, else nats://127.0.0.1:4222; ./outbox.db)
//
// Starts even if no server answers (degraded start), stores 1,000 events in the
// outbox (each publish completes once the event is on disk), then waits until the
// relay has published them all, and prints the outbox's counters.
#include <natscoro/natscoro.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdlib>
#include <iostream>

namespace asio = boost::asio;
namespace nc = natscoro;

asio::awaitable<void> service(asio::any_io_executor ex, std::string url, std::string file) {
  //! [outbox-open]
  nc::connect_options copts;
  copts.servers = {url};
  copts.retry_on_failed_connect = true;  // start even if the broker is not up yet
  nc::connection conn = co_await nc::connect(ex, copts);
  nc::jetstream js{conn};

  nc::outbox_options opts;
  opts.path = file;  // the local spool (SQLite, WAL, synchronous=FULL)
  opts.publish.source = "orders-service";
  opts.alert_age = std::chrono::minutes(5);
  opts.on_alert = [](std::chrono::milliseconds age) {
    std::cerr << "events have waited " << age.count() << " ms: is NATS reachable?\n";
  };
  nc::outbox ob = co_await nc::outbox::open(js, opts);
  //! [outbox-open]

  //! [outbox-publish]
  for (int i = 0; i < 1000; ++i) {
    auto evt = nc::event::make("order.created", "org-1", boost::json::object{{"order", i}});
    co_await ob.publish("orders.created", std::move(evt));  // durable on disk: safe to report success
  }
  //! [outbox-publish]
  // ...the relay publishes them (Nats-Msg-Id = event id) as soon as NATS answers
  // and a stream takes "orders.>".
  asio::steady_timer tick(ex);
  while (!conn.is_connected()) {
    tick.expires_after(std::chrono::milliseconds(50));
    co_await tick.async_wait(asio::use_awaitable);
  }
  nc::stream_config orders;
  orders.name = "ORDERS";
  orders.subjects = {"orders.>"};
  co_await js.ensure_stream(orders);
  while (ob.stats().pending > 0) {
    tick.expires_after(std::chrono::milliseconds(50));
    co_await tick.async_wait(asio::use_awaitable);
  }
  const nc::outbox_stats s = ob.stats();
  std::cout << "stored " << s.stored << " in " << s.commits << " commits; relayed " << s.relayed << "; pending "
            << s.pending << "\n";
  co_await ob.close();
  co_await conn.drain();
}

int main(int argc, char** argv) {
  const char* env = std::getenv("NATS_URL");
  const std::string url = argc > 1 ? argv[1] : (env != nullptr && *env != '\0' ? env : "nats://127.0.0.1:4222");
  const std::string file = argc > 2 ? argv[2] : "outbox.db";
  asio::io_context ioc;
  int status = 0;
  asio::co_spawn(ioc, service(ioc.get_executor(), url, file), [&](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      std::cerr << "outbox example failed: " << ex.what() << "\n";
      status = 1;
    }
  });
  ioc.run();
  return status;
}

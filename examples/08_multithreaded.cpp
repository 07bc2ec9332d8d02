// 08 a multi-threaded service: the connection and handlers on a thread pool,
// handlers on several threads at once (in order per key), each publishing a
// follow-up event through a publisher shared by all of them.
//
//   example_08_multithreaded [NATS_URL]   (default: $NATS_URL, else nats://127.0.0.1:4222)
//
// Handles 200 orders on four threads, publishes an invoice for each, reads the
// 200 invoices back, and prints how many threads ran handlers.
#include "example_main.hpp"

#include <natscoro/natscoro.hpp>

#include <boost/asio/detached.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>

#include <atomic>
#include <future>
#include <mutex>
#include <set>
#include <thread>

namespace asio = boost::asio;
namespace nc = natscoro;

constexpr int order_count = 200;

asio::awaitable<int> invoice_orders(asio::thread_pool::executor_type pool, std::string url) {
  nc::connect_options copts;
  copts.servers = {url};
  // The connection's state lives on a strand over the pool (get_executor()):
  // every handle may be used from any of its threads, or from any other.
  nc::connection conn = co_await nc::connect(pool, copts);
  nc::jetstream js{conn};
  for (const char* name : {"ORDERS", "INVOICES"}) {
    nc::stream_config s;
    s.name = name;
    s.subjects = {name == std::string("ORDERS") ? "orders.>" : "invoices.>"};
    co_await js.ensure_stream(s);
  }
  nc::publisher_options popts;
  popts.source = "order-service";
  popts.subject_template = "orders.{subject}.{type}";
  nc::publisher orders{js, popts};
  for (int i = 0; i < order_count; ++i) {
    auto evt = nc::event::make("order.placed", "shop-1", boost::json::object{{"order", i}});
    evt.subject = "customer-" + std::to_string(i % 20);
    orders.publish(std::move(evt), asio::detached);
  }
  co_await orders.flush();

  //! [multithreaded]
  nc::publisher_options iopts;
  iopts.source = "billing";
  iopts.subject_template = "invoices.{subject}.{type}";
  nc::publisher invoices{js, iopts};  // shared by every handler, whatever thread it runs on

  nc::consumer_config cfg;
  cfg.durable = "billing";
  nc::consumer cons = co_await js.consumer("ORDERS", cfg);
  std::mutex threads_mutex;  // handlers of different keys run in parallel: guard what they share
  std::set<std::thread::id> threads;
  std::atomic<int> handled{0};
  auto handler = [&](nc::message& msg) -> asio::awaitable<void> {
    {
      std::lock_guard lock(threads_mutex);
      threads.insert(std::this_thread::get_id());
    }
    const nc::event order = msg.event();
    //! [follow-up]
    nc::event invoice = order.follow_up("invoice.issued");  // same tenant and correlation; causation = order
    invoice.subject = order.subject;
    invoice.data = {{"order", order.data.at("order")}, {"total_cents", 1999}};
    co_await invoices.publish(std::move(invoice));  // verified before the order is acknowledged
    //! [follow-up]
    if (++handled == order_count) cons.drain(asio::detached);
  };
  nc::run_options opts;
  opts.concurrency = 32;
  opts.ordering_key = nc::key_by_subject_token(1);  // in order per customer
  opts.handler_executor = pool;                     // each key's handlers on a strand of the pool
  co_await cons.run(handler, opts);
  //! [multithreaded]

  nc::consumer_config check;
  check.durable = "invoice-check";
  nc::consumer issued = co_await js.consumer("INVOICES", check);
  int invoices_seen = 0;
  while (invoices_seen < order_count) {
    for (nc::message& m : co_await issued.next_batch(100)) {
      m.ack();
      ++invoices_seen;
    }
  }
  std::cout << handled << " orders handled on " << threads.size() << " threads; " << invoices_seen
            << " invoices stored\n";
  co_await conn.drain();
  co_return handled == order_count&& invoices_seen == order_count ? 0 : 1;
}

int main(int argc, char** argv) {
  const std::string url = natscoro_examples::server_url(argc, argv);
  asio::thread_pool pool(4);
  std::future<int> status = asio::co_spawn(pool, invoice_orders(pool.get_executor(), url), asio::use_future);
  pool.join();  // returns once the connection is closed and every handler is done
  try {
    return status.get();
  } catch (const std::exception& e) {
    std::cerr << "example 08 failed: " << e.what() << "\n";
    return 1;
  }
}

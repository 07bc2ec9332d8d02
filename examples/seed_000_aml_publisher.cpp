// Seed 000: the AML compliance platform's event publisher. Its four event
// types go through a local outbox (SQLite), so the API keeps answering while
// NATS is down, starts without it, and loses nothing when the process dies; the
// relay publishes each with a verified PubAck as soon as a server answers, and
// the sequence numbers the stream gave them are logged.
//
//   example_seed_000_aml_publisher [NATS_URL [OUTBOX_FILE]]
//     (default: $NATS_URL, else nats://127.0.0.1:4222; a temporary file)
//
// Start it before the server to see the degraded start: the events are stored,
// "waiting for NATS" is printed, and they are published once the server is up.
#include "example_main.hpp"

#include <natscoro/natscoro.hpp>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/describe/class.hpp>

#include <unistd.h>
#include <filesystem>

namespace asio = boost::asio;
namespace nc = natscoro;

struct customer_created {
  std::string customer_id;
  std::string name;
  std::string country;
};
BOOST_DESCRIBE_STRUCT(customer_created, (), (customer_id, name, country))
struct customer_risk {
  std::string customer_id;
  double score = 0;
};
BOOST_DESCRIBE_STRUCT(customer_risk, (), (customer_id, score))
struct transaction_ingested {
  std::string transaction_id;
  std::string customer_id;
  double amount = 0;
  std::string currency;
};
BOOST_DESCRIBE_STRUCT(transaction_ingested, (), (transaction_id, customer_id, amount, currency))
struct kyc_tasks_created {
  std::string customer_id;
  std::vector<std::string> tasks;
};
BOOST_DESCRIBE_STRUCT(kyc_tasks_created, (), (customer_id, tasks))

asio::awaitable<void> wait_until(asio::any_io_executor ex, const std::function<bool()>& done) {
  asio::steady_timer tick(ex);
  while (!done()) {
    tick.expires_after(std::chrono::milliseconds(50));
    co_await tick.async_wait(asio::use_awaitable);
  }
}

asio::awaitable<int> aml_api(asio::any_io_executor ex, std::string url, std::string outbox_file) {
  //! [aml-degraded-start]
  nc::connect_options copts;
  copts.servers = {url};
  copts.name = "aml-api";
  copts.retry_on_failed_connect = true;  // no server yet: connect() completes, nats.c keeps trying
  copts.reconnect.max_attempts = -1;     // and never gives up (the Python service stopped after 10)
  nc::connection conn = co_await nc::connect(ex, copts);
  nc::jetstream js{conn};

  nc::outbox_options opts;
  opts.path = outbox_file;  // fsync'd before publish() completes
  opts.publish.source = "aml-api";
  opts.publish.subject_prefix = "aml";       // "aml." + type: "aml.customer.created"
  opts.alert_age = std::chrono::minutes(5);  // "is NATS reachable?"
  opts.on_alert = [](std::chrono::milliseconds age) {
    std::cerr << "FAILED TO PUBLISH for " << age.count() << " ms: events wait in the outbox\n";
  };
  nc::outbox events = co_await nc::outbox::open(js, opts);
  //! [aml-degraded-start]

  //! [aml-events]
  const std::string tenant = "bank-eu-1";
  co_await events.publish(nc::event::make("customer.created", tenant, customer_created{"c-42", "Acme Ltd", "DE"}));
  co_await events.publish(nc::event::make("customer.risk", tenant, customer_risk{"c-42", 0.37}));
  co_await events.publish(
      nc::event::make("transaction.ingested", tenant, transaction_ingested{"t-1", "c-42", 9800.0, "EUR"}));
  co_await events.publish(
      nc::event::make("kyc.tasks.created", tenant, kyc_tasks_created{"c-42", {"verify-ubo", "sanctions-screening"}}));
  // Each publish completed once the event was on disk: the API can answer now.
  //! [aml-events]
  std::cout << "4 events stored in the outbox" << (conn.is_connected() ? "" : "; waiting for NATS") << std::endl;

  co_await wait_until(ex, [&] { return conn.is_connected(); });
  //! [aml-stream]
  nc::stream_config stream;  // examples/topologies/aml.json says the same
  stream.name = "AML_EVENTS";
  stream.subjects = {"aml.>"};
  stream.storage = nc::storage_type::file;
  stream.max_age = std::chrono::hours(24 * 30);
  stream.max_bytes = std::int64_t{2} << 30;
  const nc::ensure_result r = co_await js.ensure_stream(stream);  // "already exists" is not an error
  //! [aml-stream]
  std::cout << "stream AML_EVENTS "
            << (r == nc::ensure_result::created   ? "created"
                : r == nc::ensure_result::updated ? "updated"
                                                  : "exists")
            << "\n";
  co_await wait_until(ex, [&] { return events.stats().pending == 0; });

  // What the stream holds, with the sequence numbers that prove nothing was lost.
  nc::replay stored = co_await nc::replay::open(js, "AML_EVENTS", {});
  int published = 0;
  while (auto m = co_await stored.next()) {
    std::cout << "Published " << m->subject() << " (seq: " << m->metadata().stream_sequence << ")\n";
    ++published;
  }
  co_await events.close();
  co_await conn.drain();
  co_return published == 4 ? 0 : 1;
}

int main(int argc, char** argv) {
  const std::string url = natscoro_examples::server_url(argc, argv);
  const std::string file =
      argc > 2
          ? argv[2]
          : (std::filesystem::temp_directory_path() / ("aml-outbox-" + std::to_string(::getpid()) + ".db")).string();
  const int status =
      natscoro_examples::run("seed 000 example", [&](asio::any_io_executor ex) { return aml_api(ex, url, file); });
  if (argc <= 2)
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(file + suffix);
  return status;
}

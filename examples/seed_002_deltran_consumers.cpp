// Seed 002: DelTran's notification and reporting engines. The topology (eight
// streams, two durable pull consumers) comes from examples/topologies/deltran.json;
// the events are in DelTran's own envelope, published by its Rust services, and
// read here with a JSON-Pointer mapping into typed handlers.
//
//   example_seed_002_deltran_consumers [NATS_URL]   (default: $NATS_URL, else nats://127.0.0.1:4222)
#include "example_main.hpp"

#include <natscoro/natscoro.hpp>

#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/describe/class.hpp>
#include <boost/json/serialize.hpp>

namespace asio = boost::asio;
namespace nc = natscoro;
using namespace boost::asio::experimental::awaitable_operators;

struct payment_settled {
  std::string transaction_id;
  double amount = 0;
  std::string currency;
  std::string beneficiary_email;
};
BOOST_DESCRIBE_STRUCT(payment_settled, (), (transaction_id, amount, currency, beneficiary_email))
struct settlement_report {
  std::string window_id;
  std::int64_t transactions = 0;
  double net_amount = 0;
};
BOOST_DESCRIBE_STRUCT(settlement_report, (), (window_id, transactions, net_amount))

// What a DelTran (Rust) service stores: {event_id, event_type, timestamp, source, version, data, metadata}.
nc::raw_message deltran_event(std::string subject, std::string id, std::string type, boost::json::value data) {
  boost::json::object envelope{{"event_id", id},
                               {"event_type", type},
                               {"timestamp", "2025-11-06T12:00:00Z"},
                               {"source", "settlement"},
                               {"version", "1.0"},
                               {"data", std::move(data)},
                               {"metadata", {{"correlation_id", "corr-" + id}, {"user_id", "u-5"}}}};
  return {.subject = std::move(subject), .headers = {}, .data = boost::json::serialize(envelope), .id = std::move(id)};
}

asio::awaitable<int> engines(asio::any_io_executor ex, std::string url) {
  nc::connect_options copts;
  copts.servers = {url};
  nc::connection conn = co_await nc::connect(ex, copts);
  nc::jetstream js{conn};
  //! [deltran-topology]
  // Eight streams (7 to 180 days), two durable pull consumers: applied idempotently.
  co_await nc::apply_topology(js, nc::load_topology(NATSCORO_EXAMPLES_TOPOLOGIES "/deltran.json"), false);
  //! [deltran-topology]

  nc::publisher settlement{js, {}};
  for (int i = 1; i <= 3; ++i)
    co_await settlement.publish_raw(deltran_event("events.notifications.payment", "n-" + std::to_string(i),
                                                  "payment.settled",
                                                  {{"transaction_id", "t-" + std::to_string(i)},
                                                   {"amount", 1000.0 * i},
                                                   {"currency", "USD"},
                                                   {"beneficiary_email", "payee@example.com"}}));
  co_await settlement.publish_raw(
      deltran_event("events.reporting.settlement", "r-1", "settlement.report",
                    {{"window_id", "w-2025-11-06"}, {"transactions", 3}, {"net_amount", 6000.0}}));

  //! [deltran-envelope]
  nc::consumer_options deltran;
  deltran.envelope = nc::envelope::json_mapping({.id = "/event_id",
                                                 .type = "/event_type",
                                                 .time = "/timestamp",
                                                 .source = "/source",
                                                 .schemaversion = "/version",
                                                 .correlationid = "/metadata/correlation_id"});
  //! [deltran-envelope]
  // The consumers exist (deltran.json); binding with their configuration checks it is the one expected.
  const nc::topology topology = nc::load_topology(NATSCORO_EXAMPLES_TOPOLOGIES "/deltran.json");
  nc::consumer notifications = co_await js.consumer("NOTIFICATIONS", topology.consumers.at(0).config, deltran);
  nc::consumer reporting = co_await js.consumer("REPORTING", topology.consumers.at(1).config, deltran);

  int sent = 0, reports = 0;
  nc::event_router notify(nc::unknown_event_policy::dead_letter);
  notify.on<payment_settled>("payment.settled", [&](const payment_settled& p, nc::message& m) -> asio::awaitable<void> {
    std::cout << "notify " << p.beneficiary_email << ": " << p.transaction_id << " settled, " << p.amount << " "
              << p.currency << " (correlation " << m.event().correlationid.value_or("-") << ")\n";
    if (++sent == 3) notifications.drain(asio::detached);
    co_return;
  });
  nc::event_router report(nc::unknown_event_policy::dead_letter);
  report.on<settlement_report>("settlement.report",
                               [&](const settlement_report& r, nc::message&) -> asio::awaitable<void> {
                                 std::cout << "report " << r.window_id << ": " << r.transactions
                                           << " transactions, net " << r.net_amount << "\n";
                                 if (++reports == 1) reporting.drain(asio::detached);
                                 co_return;
                               });
  nc::run_options opts;  // retries within the consumers' max_deliver of 3, then the DLQ
  opts.retry = nc::retry_policy{.max_attempts = 3, .backoff = {std::chrono::seconds(1), std::chrono::seconds(5)}};
  opts.dead_letter = nc::dead_letter_options{.stream = "DLQ_DELTRAN", .subject_prefix = "dlq"};
  co_await (notifications.run(notify, opts, asio::use_awaitable) && reporting.run(report, opts, asio::use_awaitable));

  // Monitoring (seed 002): the Prometheus text of both engines.
  //! [metrics]
  nc::metrics metrics;
  metrics.add("main", conn);                          // a connection
  metrics.add("notification-engine", notifications);  // a consumer, and its runner's counters
  metrics.add("reporting-engine", reporting);
  const std::string text = metrics.exposition();  // serve as "text/plain; version=0.0.4"
  //! [metrics]
  std::cout << "metrics: " << std::count(text.begin(), text.end(), '\n') << " lines\n";
  co_await conn.drain();
  co_return sent == 3 && reports == 1 ? 0 : 1;
}

int main(int argc, char** argv) {
  const std::string url = natscoro_examples::server_url(argc, argv);
  return natscoro_examples::run("seed 002 example", [&](asio::any_io_executor ex) { return engines(ex, url); });
}

// Consuming what other services publish: the AML platform's Python publisher
// (plain JSON, seed 000) and DelTran's Rust services (their own envelope, seed
// 002), each read with the matching envelope; then a bounded replay.
//
//   natscoro_foreign_events [NATS_URL]   (default: $NATS_URL, else nats://127.0.0.1:4222)
//
// The "other services" are plain nats.c calls here, storing exactly what those
// producers store. Prints what each handler saw; exits 1 if anything is missing.
#include <natscoro/natscoro.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/describe/class.hpp>
#include <boost/json/serialize.hpp>

#include <nats/nats.h>

#include <cstdlib>
#include <iostream>
#include <stdexcept>

namespace asio = boost::asio;
namespace nc = natscoro;
using namespace boost::asio::experimental::awaitable_operators;

// Stands in for the Python and Rust producers: js.publish(subject, payload), no natscoro.
void other_services_publish(const std::string& url) {
  natsConnection* conn = nullptr;
  jsCtx* js = nullptr;
  if (natsConnection_ConnectTo(&conn, url.c_str()) != NATS_OK ||
      natsConnection_JetStream(&js, conn, nullptr) != NATS_OK)
    throw std::runtime_error("the other services cannot connect to " + url);
  auto publish = [&](const char* subject, const std::string& payload) {
    jsErrCode code{};
    if (js_Publish(nullptr, js, subject, payload.data(), static_cast<int>(payload.size()), nullptr, &code) != NATS_OK)
      throw std::runtime_error(std::string("publish to ") + subject + " failed");
  };
  // AML (Python): plain JSON, the event type in the subject.
  publish("aml.customer.created", R"({"customer_id": 42, "name": "Acme Ltd", "country": "DE"})");
  publish("aml.transaction.ingested", R"({"customer_id": 42, "transaction_id": "t-1", "amount": 9800.0})");
  publish("aml.transaction.ingested", R"({"customer_id": 42, "transaction_id": "t-2", "amount": 12500.0})");
  // DelTran (Rust): {event_id, event_type, timestamp, source, version, data, metadata}.
  publish("events.transactions.created",
          R"({"event_id":"9b2f6c1e-4d0a-4c3e-8f7a-1e2d3c4b5a69","event_type":"transaction.created",)"
          R"("timestamp":"2025-11-06T12:00:00Z","source":"token-engine","version":"1.0",)"
          R"("data":{"transaction_id":"t-9","amount":1000.0,"currency":"USD"},)"
          R"("metadata":{"correlation_id":"c-77","user_id":"u-5"}})");
  jsCtx_Destroy(js);
  natsConnection_Destroy(conn);
}

struct transaction_created {
  std::string transaction_id;
  double amount = 0;
  std::string currency;
};
BOOST_DESCRIBE_STRUCT(transaction_created, (), (transaction_id, amount, currency))

asio::awaitable<int> service(asio::any_io_executor ex, std::string url) {
  nc::connect_options copts;
  copts.servers = {url};
  nc::connection conn = co_await nc::connect(ex, copts);
  nc::jetstream js{conn};
  co_await js.ensure_stream(nc::stream_config{.name = "AML_EVENTS", .subjects = {"aml.>"}});
  co_await js.ensure_stream(nc::stream_config{.name = "DELTRAN_EVENTS", .subjects = {"events.>"}});
  other_services_publish(url);  // blocking nats.c calls: this is only a demo
  nc::consumer aml, deltran;
  int seen = 0;
  auto one_more = [&] {  // after the fourth event, both runners drain and return
    if (++seen != 4) return;
    aml.drain(asio::detached);
    deltran.drain(asio::detached);
  };

  // AML: the body is the data; the type is the subject after "aml.".
  //! [plain-json]
  nc::consumer_options aml_options;
  aml_options.envelope = nc::envelope::plain_json({.type_skip_tokens = 1});
  aml = co_await js.consumer("AML_EVENTS", nc::consumer_config{.durable = "kyc-screening"}, aml_options);
  //! [plain-json]
  nc::run_options aml_run;
  aml_run.ordering_key = [](const nc::message& m) {  // one customer at a time
    return std::to_string(m.event().data.at("customer_id").to_number<int>());
  };
  //! [processed-ids]
  aml_run.processed_ids = nc::processed_id_options{.bucket = "kyc_processed"};  // handled once, across restarts
  //! [processed-ids]
  aml_run.dead_letter = nc::dead_letter_options{.stream = "DLQ_EVENTS"};  // what does not decode goes there
  auto aml_handler = [&](nc::message& m) -> asio::awaitable<void> {
    const nc::event evt = m.event();
    std::cout << "aml " << evt.type << " " << boost::json::serialize(evt.data) << "\n";
    one_more();
    co_return;
  };

  // DelTran: its own envelope, mapped with JSON Pointers; typed handlers by event type.
  nc::consumer_options deltran_options;
  deltran_options.envelope = nc::envelope::json_mapping({.id = "/event_id",
                                                         .type = "/event_type",
                                                         .time = "/timestamp",
                                                         .source = "/source",
                                                         .schemaversion = "/version",
                                                         .correlationid = "/metadata/correlation_id"});
  deltran = co_await js.consumer("DELTRAN_EVENTS", nc::consumer_config{.durable = "ledger"}, deltran_options);
  nc::event_router router(nc::unknown_event_policy::ack_and_log);
  router.on<transaction_created>(
      "transaction.created", [&](const transaction_created& t, nc::message& m) -> asio::awaitable<void> {
        std::cout << "deltran transaction " << t.transaction_id << " " << t.amount << " " << t.currency
                  << " (correlation " << m.event().correlationid.value_or("-") << ")\n";
        one_more();
        co_return;
      });
  nc::run_options deltran_run;
  deltran_run.dead_letter = nc::dead_letter_options{.stream = "DLQ_EVENTS"};
  co_await (aml.run(aml_handler, aml_run, asio::use_awaitable) &&
            deltran.run(router, deltran_run, asio::use_awaitable));  // until both drained

  // A bounded replay: customer 42's transactions, stream sequences 2 to 3, nothing left behind.
  //! [replay]
  nc::replay history = co_await nc::replay::open(js, "AML_EVENTS", {.from = std::uint64_t{2}, .to = std::uint64_t{3}},
                                                 nc::replay_options{.envelope = aml_options.envelope});
  int replayed = 0;
  while (auto m = co_await history.next()) {
    std::cout << "replayed #" << m->metadata().stream_sequence << " " << m->event().type << "\n";
    ++replayed;
  }
  //! [replay]
  co_await conn.drain();
  co_return seen == 4 && replayed == 2 ? 0 : 1;
}

int main(int argc, char** argv) {
  const char* env = std::getenv("NATS_URL");
  const std::string url = argc > 1 ? argv[1] : (env != nullptr && *env != '\0' ? env : "nats://127.0.0.1:4222");
  asio::io_context ioc;
  int status = 1;
  asio::co_spawn(ioc, service(ioc.get_executor(), url), [&](std::exception_ptr e, int result) {
    status = result;
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      std::cerr << "foreign events example failed: " << ex.what() << "\n";
      status = 1;
    }
  });
  ioc.run();
  nats_Close();
  return status;
}

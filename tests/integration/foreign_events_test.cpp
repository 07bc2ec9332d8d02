#define BOOST_TEST_MODULE natscoro foreign events
// Events other services publish, stored by plain nats.c as the seeds' Python, Rust
// and Go producers do, consumed by the runner with the matching envelope: per-key
// order, dead-lettering, the processed-id store and replay.
#include <natscoro/natscoro.hpp>

#include "async_test.hpp"
#include "nats_server.hpp"
#include "stream_inspector.hpp"
#include "test_options.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/describe/class.hpp>
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <map>
#include <random>
#include <set>

namespace nc = natscoro;
namespace asio = boost::asio;
using namespace natscoro::test;
using namespace std::chrono_literals;

namespace {

struct transaction_created {
  std::string transaction_id;
  double amount = 0;
  std::string currency;
};
BOOST_DESCRIBE_STRUCT(transaction_created, (), (transaction_id, amount, currency))
struct window_opened {
  std::string window_id;
};
BOOST_DESCRIBE_STRUCT(window_opened, (), (window_id))

// DelTran's envelope (seed 002).
nc::envelope deltran_envelope() {
  return nc::envelope::json_mapping({.id = "/event_id",
                                     .type = "/event_type",
                                     .time = "/timestamp",
                                     .source = "/source",
                                     .schemaversion = "/version",
                                     .correlationid = "/metadata/correlation_id",
                                     .extensions = {{"userid", "/metadata/user_id"}}});
}

std::string deltran_event(const std::string& id, const std::string& type, boost::json::object data) {
  return boost::json::serialize(
      boost::json::object{{"event_id", id},
                          {"event_type", type},
                          {"timestamp", "2025-11-06T12:00:00.123456789Z"},
                          {"source", "token-engine"},
                          {"version", "1.0"},
                          {"data", std::move(data)},
                          {"metadata", {{"correlation_id", "corr-" + id}, {"user_id", "u-1"}}}});
}

// A handler that takes a little while, differently each time: keys overtake each other.
asio::awaitable<void> a_little_work(std::mt19937& random) {
  asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::microseconds(random() % 2000));
  co_await t.async_wait(asio::use_awaitable);
}

}  // namespace

// Seed 000: the AML platform's Python publisher sends plain JSON to "aml.<entity>.<action>".
BOOST_FIXTURE_TEST_CASE(aml_plain_json_is_handled_in_order_per_customer_with_dlq_and_replay, server_fixture) {
  constexpr int customers = 10, per_customer = 30;
  stream_inspector raw(server.url());
  std::map<int, std::vector<int>> handled;  // customer -> n, in handling order
  std::map<std::string, std::string> dead;
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    nc::jetstream js{conn};
    co_await js.ensure_stream(nc::stream_config{.name = "AML_EVENTS", .subjects = {"aml.>"}});
    for (int n = 0; n < per_customer; ++n)
      for (int c = 0; c < customers; ++c)
        raw.publish("aml.transaction.ingested",
                    boost::json::serialize(boost::json::object{{"customer_id", c}, {"n", n}, {"amount", 10.5}}));
    raw.publish("aml.customer.risk", "{\"customer_id\": 3, \"score\": ");  // cut off: not JSON

    nc::consumer_options copts;
    copts.envelope = nc::envelope::plain_json({.type_skip_tokens = 1});
    auto cons = co_await js.consumer("AML_EVENTS", nc::consumer_config{.durable = "screening"}, copts);
    nc::run_options opts;
    opts.concurrency = 8;
    opts.ordering_key = [](const nc::message& m) {  // the customer, from the data
      return std::to_string(m.event().data.at("customer_id").to_number<int>());
    };
    opts.dead_letter = nc::dead_letter_options{.stream = "DLQ_EVENTS"};
    std::mt19937 random(7);
    int types_wrong = 0;
    bool run_done = false;
    cons.run(
        [&](nc::message& m) -> asio::awaitable<void> {
          const auto evt = m.event();
          types_wrong += evt.type != "transaction.ingested" || evt.source != "AML_EVENTS" ||
                         evt.id != "AML_EVENTS/" + std::to_string(m.metadata().stream_sequence);
          co_await a_little_work(random);
          handled[evt.data.at("customer_id").to_number<int>()].push_back(evt.data.at("n").to_number<int>());
        },
        opts, [&](nc::error_code) { run_done = true; });
    BOOST_REQUIRE(co_await wait_until(
        [&] { return cons.run_stats().handled == customers * per_customer && cons.run_stats().dead_lettered == 1; }));
    BOOST_TEST(types_wrong == 0);
    nc::dead_letter_queue dlq{js, "DLQ_EVENTS"};
    for (const auto& e : co_await dlq.list(0, 10)) dead[e.original_subject] = e.error;
    co_await cons.drain();
    BOOST_REQUIRE(co_await wait_until([&] { return run_done; }));

    // Customer 3's history, replayed: every one of its events, in stream order.
    auto r = co_await nc::replay::open(js, "AML_EVENTS", {.filter_subject = "aml.transaction.ingested"},
                                       nc::replay_options{.envelope = copts.envelope});
    std::vector<int> history;
    while (auto m = co_await r.next())
      if (m->event().data.at("customer_id").to_number<int>() == 3)
        history.push_back(m->event().data.at("n").to_number<int>());
    BOOST_TEST(history.size() == static_cast<std::size_t>(per_customer));
    BOOST_TEST(std::is_sorted(history.begin(), history.end()));
    BOOST_TEST((co_await js.list_consumers("AML_EVENTS")) == std::vector<std::string>{"screening"});
    co_await conn.drain();
  });
  BOOST_REQUIRE(handled.size() == static_cast<std::size_t>(customers));
  for (const auto& [customer, ns] : handled) {
    BOOST_TEST(ns.size() == static_cast<std::size_t>(per_customer), "customer " << customer);
    BOOST_TEST(std::is_sorted(ns.begin(), ns.end()), "customer " << customer << " out of order");
  }
  BOOST_REQUIRE(dead.size() == 1u);
  BOOST_TEST(dead["aml.customer.risk"].find("not a plain_json event: body is not JSON") != std::string::npos,
             dead["aml.customer.risk"]);
}

// Seed 002: DelTran's Rust services send their own envelope to "events.<domain>.<entity>.<action>".
// Routed by type to typed handlers; a retried publish stored twice (no Nats-Msg-Id) is
// handled once with the processed-id store.
BOOST_FIXTURE_TEST_CASE(deltran_events_are_routed_by_type_and_handled_once, server_fixture) {
  stream_inspector raw(server.url());
  std::vector<std::string> seen;
  std::map<std::string, std::string> dead;
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    nc::jetstream js{conn};
    co_await js.ensure_stream(nc::stream_config{.name = "DELTRAN_EVENTS", .subjects = {"events.>"}});
    const auto t1 = deltran_event("e-1", "transaction.created",
                                  {{"transaction_id", "t-1"}, {"amount", 1000.0}, {"currency", "USD"}});
    raw.publish("events.transactions.created", t1);
    raw.publish("events.clearing.window.opened", deltran_event("e-2", "window.opened", {{"window_id", "w-7"}}));
    raw.publish("events.transactions.created", t1);  // the producer's retry, stored again
    raw.publish(
        "events.transactions.created",
        deltran_event("e-3", "transaction.created", {{"transaction_id", "t-2"}, {"amount", 5.0}, {"currency", "EUR"}}));
    raw.publish("events.settlement.batch.closed", deltran_event("e-4", "batch.closed", {}));          // no handler
    raw.publish("events.transactions.created", R"({"event_type":"transaction.created","data":{}})");  // no event_id

    nc::event_router router(nc::unknown_event_policy::dead_letter);
    router.on<transaction_created>(
        "transaction.created", [&](const transaction_created& t, nc::message& m) -> asio::awaitable<void> {
          const auto evt = m.event();
          seen.push_back(t.transaction_id + " " + t.currency + " " + evt.correlationid.value_or("?") + " " +
                         evt.extensions.at("userid"));
          co_return;
        });
    router.on<window_opened>("window.opened", [&](const window_opened& w, nc::message&) -> asio::awaitable<void> {
      seen.push_back("window " + w.window_id);
      co_return;
    });
    nc::consumer_options copts;
    copts.envelope = deltran_envelope();
    auto cons = co_await js.consumer("DELTRAN_EVENTS", nc::consumer_config{.durable = "settlement"}, copts);
    nc::run_options opts;
    opts.ordering_key = nc::key_by_subject_token(1);  // the domain
    opts.dead_letter = nc::dead_letter_options{.stream = "DLQ_EVENTS"};
    opts.processed_ids = nc::processed_id_options{.bucket = "deltran_processed", .ttl = 1h};
    bool run_done = false;
    cons.run(router, opts, [&](nc::error_code) { run_done = true; });
    BOOST_REQUIRE(co_await wait_until([&] {
      const auto s = cons.run_stats();
      return s.handled == 3 && s.dead_lettered == 2 && s.already_processed == 1;
    }));
    nc::dead_letter_queue dlq{js, "DLQ_EVENTS"};
    for (const auto& e : co_await dlq.list(0, 10)) dead[std::to_string(e.original_sequence)] = e.error;
    co_await cons.drain();
    BOOST_REQUIRE(co_await wait_until([&] { return run_done; }));
    BOOST_TEST(cons.run_stats().processed_id_failures == 0u);
    // The records: one per event handled, under the consumer's name.
    const auto bucket = co_await js.stream_info("KV_deltran_processed");
    BOOST_TEST(bucket.state.messages == 3u);
    BOOST_TEST(raw.message("KV_deltran_processed", 1)->subject == "$KV.deltran_processed.settlement.r.e-1");
    co_await conn.drain();
  });
  // Domains run side by side; within "transactions", stream order.
  BOOST_TEST((std::multiset<std::string>(seen.begin(), seen.end()) ==
              std::multiset<std::string>{"t-1 USD corr-e-1 u-1", "window w-7", "t-2 EUR corr-e-3 u-1"}));
  BOOST_TEST((std::find(seen.begin(), seen.end(), "t-1 USD corr-e-1 u-1") <
              std::find(seen.begin(), seen.end(), "t-2 EUR corr-e-3 u-1")));
  BOOST_REQUIRE(dead.size() == 2u);
  BOOST_TEST(dead["5"].find("no handler for event type \"batch.closed\"") != std::string::npos, dead["5"]);
  BOOST_TEST(dead["6"].find("id is missing (/event_id)") != std::string::npos, dead["6"]);
}

// Seed 003: GIIA's Go services marshal their Event struct without JSON tags
// (capitalised keys) to "auth.user.<action>"; ordered per tenant, replayed by time.
BOOST_FIXTURE_TEST_CASE(giia_go_events_are_handled_in_order_per_tenant, server_fixture) {
  constexpr int tenants = 3, per_tenant = 20;
  stream_inspector raw(server.url());
  std::map<std::string, std::vector<int>> handled;
  std::string dead_reason;
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    nc::jetstream js{conn};
    co_await js.ensure_stream(nc::stream_config{.name = "AUTH_EVENTS", .subjects = {"auth.>"}});
    for (int n = 0; n < per_tenant; ++n)
      for (int t = 0; t < tenants; ++t)
        raw.publish(
            "auth.user.login.succeeded",
            boost::json::serialize(boost::json::object{{"ID", "ev-" + std::to_string(t) + "-" + std::to_string(n)},
                                                       {"Type", "user.login.succeeded"},
                                                       {"Source", "auth-service"},
                                                       {"OrganizationID", "org-" + std::to_string(t)},
                                                       {"Timestamp", "2026-11-30T08:00:00.123456789+01:00"},
                                                       {"SchemaVersion", "1.0"},
                                                       {"Data", {{"n", n}}}}),
            {{"Nats-Msg-Id", "ev-" + std::to_string(t) + "-" + std::to_string(n)}});
    raw.publish(
        "auth.user.login.failed",
        R"({"ID":"ev-x","Type":"user.login.failed","Source":"auth-service","Timestamp":"yesterday","Data":{}})");

    nc::consumer_options copts;
    copts.envelope = nc::envelope::json_mapping({.id = "/ID",
                                                 .type = "/Type",
                                                 .data = "/Data",
                                                 .time = "/Timestamp",
                                                 .source = "/Source",
                                                 .organizationid = "/OrganizationID",
                                                 .schemaversion = "/SchemaVersion"});
    auto cons = co_await js.consumer("AUTH_EVENTS", nc::consumer_config{.durable = "audit"}, copts);
    nc::run_options opts;
    opts.concurrency = 4;
    opts.ordering_key = [](const nc::message& m) { return m.event().organizationid; };  // the tenant
    opts.dead_letter = nc::dead_letter_options{.stream = "DLQ_EVENTS"};
    std::mt19937 random(3);
    bool run_done = false;
    cons.run(
        [&](nc::message& m) -> asio::awaitable<void> {
          const auto evt = m.event();
          BOOST_TEST(nc::format_rfc3339(evt.time) == "2026-11-30T07:00:00.123456Z");
          co_await a_little_work(random);
          handled[evt.organizationid].push_back(evt.data.at("n").to_number<int>());
        },
        opts, [&](nc::error_code) { run_done = true; });
    BOOST_REQUIRE(co_await wait_until(
        [&] { return cons.run_stats().handled == tenants * per_tenant && cons.run_stats().dead_lettered == 1; }));
    nc::dead_letter_queue dlq{js, "DLQ_EVENTS"};
    const auto entries = co_await dlq.list(0, 10);
    BOOST_REQUIRE(entries.size() == 1u);
    dead_reason = entries.front().error;
    co_await cons.drain();
    BOOST_REQUIRE(co_await wait_until([&] { return run_done; }));
    co_await conn.drain();
  });
  BOOST_REQUIRE(handled.size() == static_cast<std::size_t>(tenants));
  for (const auto& [tenant, ns] : handled) {
    BOOST_TEST(ns.size() == static_cast<std::size_t>(per_tenant), tenant);
    BOOST_TEST(std::is_sorted(ns.begin(), ns.end()), tenant << " out of order");
  }
  BOOST_TEST(dead_reason.find("attribute 'time' is not RFC 3339: \"yesterday\"") != std::string::npos, dead_reason);
}

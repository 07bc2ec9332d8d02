#define BOOST_TEST_MODULE natscoro topology
#include <natscoro/detail/log_text.hpp>
#include <natscoro/natscoro.hpp>

#include "async_test.hpp"
#include "nats_server.hpp"
#include "test_options.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

namespace nc = natscoro;
namespace asio = boost::asio;
using namespace natscoro::test;
using namespace std::chrono_literals;

namespace {

nc::stream_config auth_events() {
  nc::stream_config s;
  s.name = "AUTH_EVENTS";
  s.subjects = {"auth.>"};
  s.max_age = std::chrono::hours(24 * 7);
  s.max_bytes = 1 << 30;
  return s;
}

}  // namespace

// Created, then unchanged, then updated field by field; what the server cannot
// change is refused, naming the field.
BOOST_FIXTURE_TEST_CASE(ensure_stream_creates_updates_and_refuses_what_cannot_change, server_fixture) {
  run_async([&](auto ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    nc::jetstream js{conn};
    auto cfg = auth_events();
    BOOST_TEST((co_await js.ensure_stream(cfg) == nc::ensure_result::created));
    BOOST_TEST((co_await js.ensure_stream(cfg) == nc::ensure_result::unchanged));

    cfg.max_age = std::chrono::hours(24);
    cfg.subjects = {"auth.>", "login.>"};
    cfg.description = "authentication events";
    BOOST_TEST((co_await js.ensure_stream(cfg) == nc::ensure_result::updated));
    const auto info = co_await js.stream_info("AUTH_EVENTS");
    BOOST_TEST(info.config.max_age.count() == std::chrono::nanoseconds(std::chrono::hours(24)).count());
    BOOST_TEST(info.config.subjects.size() == 2u);
    BOOST_TEST(info.config.description == "authentication events");
    BOOST_TEST((co_await js.ensure_stream(cfg) == nc::ensure_result::unchanged));

    auto memory = cfg;
    memory.storage = nc::storage_type::memory;
    auto [ec, result] = co_await js.ensure_stream(memory, asio::as_tuple(asio::deferred));
    BOOST_TEST(ec == nc::errc::config_mismatch);
    BOOST_TEST((result == nc::ensure_result::unchanged));
    BOOST_TEST(((co_await js.stream_info("AUTH_EVENTS")).config.storage == nc::storage_type::file));

    nc::stream_config overlapping;
    overlapping.name = "OTHER";
    overlapping.subjects = {"auth.user.>"};
    std::tie(ec, result) = co_await js.ensure_stream(overlapping, asio::as_tuple(asio::deferred));
    BOOST_TEST(ec == nc::jetstream_errc::subjects_overlap);
    co_await conn.drain();
  });
}

BOOST_FIXTURE_TEST_CASE(streams_are_listed_inspected_purged_and_deleted, server_fixture) {
  run_async([&](auto ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    nc::jetstream js{conn};
    co_await js.ensure_stream(auth_events());
    nc::stream_config orders;
    orders.name = "ORDERS";
    orders.subjects = {"orders.>"};
    orders.storage = nc::storage_type::memory;
    co_await js.ensure_stream(orders);
    BOOST_TEST((co_await js.list_streams()) == (std::vector<std::string>{"AUTH_EVENTS", "ORDERS"}),
               boost::test_tools::per_element());

    nc::publisher pub{js, nc::publisher_options{.source = "topology-test"}};
    for (int i = 0; i < 10; ++i)
      pub.publish(i % 2 ? "auth.user.created" : "auth.user.deleted",
                  nc::event::make("user", "org-1", boost::json::object{{"i", i}}), asio::detached);
    co_await pub.flush();
    auto info = co_await js.stream_info("AUTH_EVENTS");
    BOOST_TEST(info.state.messages == 10u);
    BOOST_TEST(info.state.first_sequence == 1u);
    BOOST_TEST(info.state.last_sequence == 10u);

    BOOST_TEST((co_await js.purge_stream("AUTH_EVENTS", nc::purge_options{.subject = "auth.user.deleted"})) == 5u);
    BOOST_TEST((co_await js.purge_stream("AUTH_EVENTS", nc::purge_options{.up_to_sequence = 8})) == 3u);  // 2, 4, 6
    BOOST_TEST((co_await js.stream_info("AUTH_EVENTS")).state.messages == 2u);                            // 8, 10
    BOOST_TEST((co_await js.purge_stream("AUTH_EVENTS")) == 2u);

    co_await js.delete_stream("ORDERS");
    auto [ec, gone] = co_await js.stream_info("ORDERS", asio::as_tuple(asio::deferred));
    BOOST_TEST(ec == nc::jetstream_errc::stream_not_found);
    std::tie(ec) = co_await js.delete_stream("ORDERS", asio::as_tuple(asio::deferred));
    BOOST_TEST(ec == nc::jetstream_errc::stream_not_found);
    co_await conn.drain();
  });
}

BOOST_FIXTURE_TEST_CASE(consumers_are_ensured_listed_inspected_and_deleted, server_fixture) {
  run_async([&](auto ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    nc::jetstream js{conn};
    co_await js.ensure_stream(auth_events());
    nc::consumer_config cfg;
    cfg.durable = "analytics";
    cfg.filter_subject = "auth.user.>";
    cfg.ack_wait = 30s;
    cfg.max_deliver = 5;
    cfg.backoff = {1s, 5s, 30s};
    BOOST_TEST((co_await js.ensure_consumer("AUTH_EVENTS", cfg) == nc::ensure_result::created));
    BOOST_TEST((co_await js.ensure_consumer("AUTH_EVENTS", cfg) == nc::ensure_result::unchanged));
    cfg.max_deliver = 7;
    BOOST_TEST((co_await js.ensure_consumer("AUTH_EVENTS", cfg) == nc::ensure_result::updated));
    auto info = co_await js.consumer_info("AUTH_EVENTS", "analytics");
    BOOST_TEST(info.config.max_deliver == 7);
    BOOST_TEST(info.config.filter_subject == "auth.user.>");
    BOOST_TEST(info.config.backoff.size() == 3u);

    auto moved = cfg;
    moved.filter_subject = "auth.admin.>";  // nats-server 2.9 cannot change a filter
    auto [ec, result] = co_await js.ensure_consumer("AUTH_EVENTS", moved, asio::as_tuple(asio::deferred));
    BOOST_TEST(ec == nc::errc::config_mismatch);

    nc::consumer_config audit;
    audit.durable = "audit";
    co_await js.ensure_consumer("AUTH_EVENTS", audit);
    BOOST_TEST((co_await js.list_consumers("AUTH_EVENTS")) == (std::vector<std::string>{"analytics", "audit"}),
               boost::test_tools::per_element());
    co_await js.delete_consumer("AUTH_EVENTS", "audit");
    BOOST_TEST((co_await js.list_consumers("AUTH_EVENTS")) == (std::vector<std::string>{"analytics"}),
               boost::test_tools::per_element());
    std::tie(ec) = co_await js.delete_consumer("AUTH_EVENTS", "audit", asio::as_tuple(asio::deferred));
    BOOST_TEST(ec == nc::jetstream_errc::consumer_not_found);
    co_await conn.drain();
  });
}

namespace {

std::size_t count(const std::vector<nc::topology_change>& plan, nc::ensure_result r) {
  return static_cast<std::size_t>(
      std::count_if(plan.begin(), plan.end(), [r](const auto& c) { return c.result == r; }));
}

nc::topology seed(const char* name) {
  return nc::load_topology(std::string(NATSCORO_TOPOLOGIES) + "/" + name + ".json");
}

}  // namespace

// Each seed topology on a fresh server: everything created, then everything unchanged.
BOOST_AUTO_TEST_CASE(the_seed_topologies_apply_and_apply_again_unchanged) {
  for (const char* name : {"aml", "deltran", "giia"}) {
    BOOST_TEST_CONTEXT("topology " << name) {
      nats_server server;
      run_async([&](auto ex) -> asio::awaitable<void> {
        auto conn = co_await nc::connect(ex, options_for(server));
        nc::jetstream js{conn};
        const auto t = seed(name);
        const std::size_t items = t.streams.size() + t.consumers.size();
        auto plan = co_await nc::apply_topology(js, t, false);
        BOOST_TEST(plan.size() == items);
        BOOST_TEST(count(plan, nc::ensure_result::created) == items);
        BOOST_TEST((co_await js.list_streams()).size() == t.streams.size());
        for (const auto& c : t.consumers)
          BOOST_TEST((co_await js.consumer_info(c.stream, c.config.durable)).name == c.config.durable);
        plan = co_await nc::apply_topology(js, t, false);
        BOOST_TEST(count(plan, nc::ensure_result::unchanged) == items);
        co_await conn.drain();
      });
    }
  }
}

// The DelTran topology takes the subjects the seed's services publish, of three
// tokens and of four ("events.clearing.window.opened"): each is stored in its
// domain's stream.
BOOST_FIXTURE_TEST_CASE(deltran_stores_the_seed_subjects_of_any_depth, server_fixture) {
  run_async([&](auto ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    nc::jetstream js{conn};
    co_await nc::apply_topology(js, seed("deltran"), false);
    nc::publisher pub{js, nc::publisher_options{.source = "deltran-test"}};
    const std::pair<const char*, const char*> published[] = {
        {"events.transactions.created", "TRANSACTIONS"},
        {"events.settlement.completed", "SETTLEMENT"},
        {"events.compliance.alert", "COMPLIANCE"},
        {"events.clearing.window.opened", "CLEARING"},
        {"events.notifications.email.sent", "NOTIFICATIONS"},
    };
    for (const auto& [subject, stream] : published) {
      const auto ack = co_await pub.publish(subject, nc::event::make("deltran.tested", "bank-1"));
      BOOST_TEST(ack.stream == stream, subject);
    }
    co_await conn.drain();
  });
}

// An edited max age is planned (dry run changes nothing), then applied as an update;
// a storage change is refused with the field named and nothing of that apply happens.
BOOST_FIXTURE_TEST_CASE(an_edit_is_an_update_and_a_storage_change_is_refused, server_fixture) {
  run_async([&](auto ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    nc::jetstream js{conn};
    auto t = seed("giia");
    co_await nc::apply_topology(js, t, false);

    t.streams[0].max_age = std::chrono::hours(24 * 14);
    auto plan = co_await nc::apply_topology(js, t, true);
    BOOST_TEST(count(plan, nc::ensure_result::updated) == 1u);
    BOOST_TEST(plan[0].name == "AUTH_EVENTS");
    BOOST_TEST(plan[0].fields.find("max_age") == 0u);
    BOOST_TEST((co_await js.stream_info("AUTH_EVENTS")).config.max_age.count() ==
               std::chrono::nanoseconds(std::chrono::hours(24 * 7)).count());  // dry run: untouched
    plan = co_await nc::apply_topology(js, t, false);
    BOOST_TEST((plan[0].result == nc::ensure_result::updated));
    BOOST_TEST((co_await js.stream_info("AUTH_EVENTS")).config.max_age.count() ==
               std::chrono::nanoseconds(std::chrono::hours(24 * 14)).count());

    t.streams[0].max_age = std::chrono::hours(24 * 21);
    t.streams[1].storage = nc::storage_type::memory;
    auto [ec, refused] = co_await nc::apply_topology(js, t, false, asio::as_tuple(asio::deferred));
    BOOST_TEST(ec == nc::errc::config_mismatch);
    BOOST_REQUIRE(refused.size() > 1u);
    BOOST_TEST(refused[1].name == "CATALOG_EVENTS");
    BOOST_TEST(refused[1].fields.find("storage: server \"file\", wanted \"memory\" (cannot be changed)") !=
               std::string::npos);
    BOOST_TEST((co_await js.stream_info("AUTH_EVENTS")).config.max_age.count() ==
               std::chrono::nanoseconds(std::chrono::hours(24 * 14)).count());  // nothing applied
    co_await conn.drain();
  });
}

// A name with CR/LF would inject raw protocol (here: a PUB into VICTIM); one with a
// dot would address another stream or consumer. Every management call refuses both
// before anything reaches the wire.
BOOST_FIXTURE_TEST_CASE(names_that_would_inject_protocol_never_reach_the_wire, server_fixture) {
  run_async([&](auto ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    nc::jetstream js{conn};
    nc::stream_config victim;
    victim.name = "VICTIM";
    victim.subjects = {"victim.>"};
    co_await js.ensure_stream(victim);
    nc::consumer_config durable;
    durable.durable = "reader";
    co_await js.ensure_consumer("VICTIM", durable);

    const std::string injecting = "X \r\nPUB victim.injected 5\r\nhello\r\nPING";
    const auto as_tuple = asio::as_tuple(asio::deferred);
    for (const std::string& bad : {injecting, std::string("VICTIM.reader"), std::string("VIC TIM"), std::string()}) {
      BOOST_TEST_CONTEXT("name \"" << nc::detail::printable(bad) << "\"") {
        auto [e1, i1] = co_await js.stream_info(bad, as_tuple);
        BOOST_TEST(e1 == nc::errc::invalid_argument);
        auto [e2] = co_await js.delete_stream(bad, as_tuple);
        BOOST_TEST(e2 == nc::errc::invalid_argument);
        auto [e3, n3] = co_await js.purge_stream(bad, {}, as_tuple);
        BOOST_TEST(e3 == nc::errc::invalid_argument);
        auto [e4, i4] = co_await js.consumer_info("VICTIM", bad, as_tuple);
        BOOST_TEST(e4 == nc::errc::invalid_argument);
        auto [e5] = co_await js.delete_consumer(bad, "reader", as_tuple);
        BOOST_TEST(e5 == nc::errc::invalid_argument);
        auto [e6, l6] = co_await js.list_consumers(bad, as_tuple);
        BOOST_TEST(e6 == nc::errc::invalid_argument);
        auto bad_stream = victim;
        bad_stream.name = bad;
        auto [e7, r7] = co_await js.ensure_stream(bad_stream, as_tuple);
        BOOST_TEST(e7 == nc::errc::invalid_argument);
        auto bad_durable = durable;
        bad_durable.durable = bad;
        auto [e8, r8] = co_await js.ensure_consumer("VICTIM", bad_durable, as_tuple);
        BOOST_TEST(e8 == nc::errc::invalid_argument);
        nc::dead_letter_queue dlq{js, bad};
        auto [e9, l9] = co_await dlq.list(0, 10, as_tuple);
        BOOST_TEST(e9 == nc::errc::invalid_argument);
        auto [e10, a10] = co_await dlq.replay(1, as_tuple);
        BOOST_TEST(e10 == nc::errc::invalid_argument);
      }
    }
    // Subjects travel in the requests' JSON, but are refused just as clearly.
    auto bad_subjects = victim;
    bad_subjects.subjects = {"victim.>", "a b"};
    auto [s1, r1] = co_await js.ensure_stream(bad_subjects, as_tuple);
    BOOST_TEST(s1 == nc::errc::invalid_subject);
    auto bad_filter = durable;
    bad_filter.filter_subject = "victim.>.x";
    auto [s2, r2] = co_await js.ensure_consumer("VICTIM", bad_filter, as_tuple);
    BOOST_TEST(s2 == nc::errc::invalid_subject);
    auto [s3, n3] = co_await js.purge_stream("VICTIM", nc::purge_options{.subject = "victim.\r\n"}, as_tuple);
    BOOST_TEST(s3 == nc::errc::invalid_subject);

    const auto info = co_await js.stream_info("VICTIM");
    BOOST_TEST(info.state.messages == 0u);  // nothing was injected
    BOOST_TEST((co_await js.list_consumers("VICTIM")) == std::vector<std::string>{"reader"});
    co_await conn.drain();
  });
}

// The dead-letter tools against forged and hostile entries: anyone allowed to
// publish to the DLQ's subjects can write one, so a replay goes only where the
// operator's configuration allows, and nothing in an entry steers it elsewhere.
#define BOOST_TEST_MODULE natscoro dead letter
#include <natscoro/natscoro.hpp>

#include "async_test.hpp"
#include "nats_server.hpp"
#include "stream_inspector.hpp"
#include "test_options.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

namespace nc = natscoro;
namespace asio = boost::asio;
using namespace natscoro::test;

namespace {

asio::awaitable<void> make_stream(nc::jetstream& js, const std::string& name, const std::string& subjects) {
  nc::stream_config s;
  s.name = name;
  s.subjects = {subjects};
  s.allow_rollup = true;  // a rollup header in a replayed entry could purge a subject
  co_await js.ensure_stream(s);
}

// An entry as natscoro writes them, with the Natscoro-Original-* headers given.
nc::raw_message forged_entry(const std::string& original_stream, const std::string& original_subject,
                             std::vector<std::pair<std::string, std::string>> extra = {},
                             const std::string& dlq_subject = "dlq.orders.created") {
  nc::raw_message m;
  m.subject = dlq_subject;
  m.data = R"({"forged":true})";
  if (!original_stream.empty()) m.headers.emplace_back("Natscoro-Original-Stream", original_stream);
  if (!original_subject.empty()) m.headers.emplace_back("Natscoro-Original-Subject", original_subject);
  m.headers.emplace_back("Natscoro-Original-Sequence", "1");
  m.headers.emplace_back("Natscoro-Error", "forged");
  for (auto& h : extra) m.headers.push_back(std::move(h));
  return m;
}

}  // namespace

BOOST_FIXTURE_TEST_CASE(a_replay_goes_only_where_the_original_stream_allows, server_fixture) {
  run_async([&](auto ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    nc::jetstream js{conn};
    co_await make_stream(js, "ORDERS", "orders.>");
    co_await make_stream(js, "OTHER", "other.>");
    co_await make_stream(js, "DLQ_EVENTS", "dlq.>");
    nc::publisher_options popts;
    popts.require_organization = false;
    nc::publisher pub{js, popts};
    co_await pub.publish_raw(nc::raw_message{.subject = "orders.created", .data = "{}"});  // ORDERS #1

    // Refused: an API subject (it would delete OTHER), a subject ORDERS does not cover,
    // a reply inbox, a name with a dot, no original subject at all.
    const auto api = co_await pub.publish_raw(forged_entry("ORDERS", "$JS.API.STREAM.DELETE.OTHER"));
    const auto elsewhere = co_await pub.publish_raw(forged_entry("ORDERS", "other.x"));
    const auto inbox = co_await pub.publish_raw(forged_entry("ORDERS", "_INBOX.abc"));
    const auto dotted = co_await pub.publish_raw(forged_entry("ORD.ERS", "orders.x"));
    const auto unnamed = co_await pub.publish_raw(forged_entry("ORDERS", ""));
    // Replayed, but without the Nats-* headers it carries: no rollup purges orders.created.
    const auto rollup = co_await pub.publish_raw(
        forged_entry("ORDERS", "orders.created", {{"Nats-Rollup", "sub"}, {"X-Trace", "kept"}}, "dlq.rollup"));

    nc::dead_letter_queue dlq{js, "DLQ_EVENTS"};
    for (const auto& refused : {api, elsewhere, inbox, dotted, unnamed}) {
      BOOST_TEST_CONTEXT("DLQ entry #" << refused.sequence) {
        auto [ec, ack] = co_await dlq.replay(refused.sequence, asio::as_tuple(asio::deferred));
        BOOST_TEST(ec == nc::errc::replay_refused);
      }
    }
    stream_inspector inspect(server.url());
    BOOST_TEST(inspect.stream("OTHER").has_value());
    BOOST_TEST(inspect.stream("DLQ_EVENTS")->messages == 6u);  // refused entries stay for inspection

    // replay_all skips what it refuses, replays the rest, and says some were refused.
    auto [ec, replayed] = co_await dlq.replay_all(asio::as_tuple(asio::deferred));
    BOOST_TEST(ec == nc::errc::replay_refused);
    BOOST_TEST(replayed == 1u);
    BOOST_TEST(inspect.stream("DLQ_EVENTS")->messages == 5u);
    BOOST_TEST(!inspect.message("DLQ_EVENTS", rollup.sequence).has_value());
    const auto orders = inspect.stream("ORDERS");
    BOOST_TEST(orders->messages == 2u);  // #1 was not rolled up
    const auto stored = inspect.message("ORDERS", orders->last_sequence);
    BOOST_REQUIRE(stored.has_value());
    BOOST_TEST(stored->subject == "orders.created");
    BOOST_TEST(stored->header("Nats-Rollup").empty());
    BOOST_TEST(stored->header("X-Trace") == "kept");
    BOOST_TEST(stored->header("Natscoro-Replayed-From") == "DLQ_EVENTS:" + std::to_string(rollup.sequence));

    // The listing steps over the deleted entry in one request and shows the rest.
    const auto entries = co_await dlq.list(0, 100);
    BOOST_TEST(entries.size() == 5u);
    const auto after = co_await dlq.list(api.sequence + 1, 2);
    BOOST_REQUIRE(after.size() == 2u);
    BOOST_TEST(after[0].sequence == elsewhere.sequence);
    BOOST_TEST(after[1].sequence == inbox.sequence);
    co_await conn.drain();
  });
}

// An entry whose original stream is gone is refused by the server's answer, named.
BOOST_FIXTURE_TEST_CASE(a_replay_to_a_missing_stream_names_it, server_fixture) {
  run_async([&](auto ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    nc::jetstream js{conn};
    co_await make_stream(js, "DLQ_EVENTS", "dlq.>");
    nc::publisher_options popts;
    popts.require_organization = false;
    nc::publisher pub{js, popts};
    const auto entry = co_await pub.publish_raw(forged_entry("GONE", "gone.x"));
    nc::dead_letter_queue dlq{js, "DLQ_EVENTS"};
    auto [ec, ack] = co_await dlq.replay(entry.sequence, asio::as_tuple(asio::deferred));
    BOOST_TEST(ec == nc::jetstream_errc::stream_not_found);
    auto [ec2, ack2] = co_await dlq.replay(entry.sequence + 1, asio::as_tuple(asio::deferred));
    BOOST_TEST(ec2 == nc::jetstream_errc::no_message_found);
    co_await conn.drain();
  });
}

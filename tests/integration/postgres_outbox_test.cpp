// The PostgreSQL transactional outbox against real servers (nats-server and a
// PostgreSQL the fixture starts): an event is published if and only if the
// transaction that staged it commits, exactly once, whatever dies meanwhile.
#define BOOST_TEST_MODULE natscoro postgres outbox
#include <natscoro/natscoro.hpp>
#include <natscoro/postgres_outbox.hpp>

#include "async_test.hpp"
#include "child_process.hpp"
#include "nats_server.hpp"
#include "postgres_server.hpp"
#include "stream_inspector.hpp"
#include "test_options.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/test/unit_test.hpp>

#include <libpq-fe.h>

#include <map>
#include <optional>
#include <set>

namespace nc = natscoro;
namespace asio = boost::asio;
using namespace natscoro::test;
using namespace std::chrono_literals;

namespace {

struct fixture {
  nats_server server;
  postgres_server pg;
};

nc::postgres_outbox_options options_for(const postgres_server& pg) {
  nc::postgres_outbox_options o;
  o.conninfo = pg.conninfo();
  o.publish.source = "postgres-outbox-test";
  return o;
}

asio::awaitable<void> make_stream(nc::connection conn) {
  nc::stream_config s;
  s.name = "OUTBOX";
  s.subjects = {"outbox.>"};
  s.duplicate_window = std::chrono::minutes(10);
  co_await nc::jetstream{conn}.ensure_stream(s);
}

// Stages `count` events in one transaction of the test's own; returns their ids.
std::set<std::string> commit_events(pg_session& db, const nc::postgres_outbox& ob, int count) {
  std::set<std::string> ids;
  db.exec("BEGIN");
  for (int i = 0; i < count; ++i) {
    auto evt = nc::event::make("outbox.tested", "org-1");
    ids.insert(evt.id);
    ob.stage(db.get(), "outbox.tested", std::move(evt));
  }
  db.exec("COMMIT");
  return ids;
}

}  // namespace

// The seed-001 pattern: the business row and its event in one transaction. A
// rollback publishes nothing; a commit publishes once. The relay polls once an
// hour here: only the NOTIFY of the commit can wake it.
BOOST_FIXTURE_TEST_CASE(a_commit_publishes_once_a_rollback_nothing, fixture) {
  pg_session db(pg.conninfo());
  std::string rolled_back, committed;
  run_async([&](auto ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, natscoro::test::options_for(server));
    co_await make_stream(conn);
    auto opts = options_for(pg);
    opts.poll_interval = 1h;
    auto ob = co_await nc::postgres_outbox::open(nc::jetstream{conn}, opts);
    db.exec("CREATE TABLE orders (id text PRIMARY KEY)");

    db.exec("BEGIN");
    db.exec("INSERT INTO orders VALUES ('order-1')");
    auto first = nc::event::make("outbox.order_placed", "org-1");
    rolled_back = first.id;
    ob.stage(db.get(), std::move(first));  // subject from the type: no prefix, "outbox.order_placed"
    db.exec("ROLLBACK");

    db.exec("BEGIN");
    db.exec("INSERT INTO orders VALUES ('order-2')");
    auto second = nc::event::make("outbox.order_placed", "org-1");
    committed = second.id;
    ob.stage(db.get(), std::move(second));
    db.exec("COMMIT");

    BOOST_REQUIRE(co_await wait_until([&] { return ob.stats().relayed == 1; }, 30s));
    co_await ob.close();
    co_await conn.drain();
  });
  const auto in_stream = stream_inspector(server.url()).message_ids("OUTBOX");
  BOOST_TEST(in_stream.size() == 1u);
  BOOST_TEST(in_stream.count(committed) == 1u);
  BOOST_TEST(in_stream.count(rolled_back) == 0u);
  BOOST_TEST(db.scalar("SELECT count(*) FROM natscoro_outbox") == "0");
}

// Rows written by other programs with the documented INSERT are published with
// Nats-Msg-Id = event_id. A row the relay may never publish (a server subject, an
// invalid one) is marked refused with the reason and stays; the rest flow on.
BOOST_FIXTURE_TEST_CASE(the_documented_insert_works_and_unpublishable_rows_are_refused, fixture) {
  pg_session db(pg.conninfo());
  nc::outbox_stats stats;
  run_async([&](auto ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, natscoro::test::options_for(server));
    co_await make_stream(conn);
    auto ob = co_await nc::postgres_outbox::open(nc::jetstream{conn}, options_for(pg));

    auto invalid = nc::event::make("outbox.tested", "org-1");
    invalid.source.clear();
    invalid.id = "";
    invalid.type = "";
    try {
      ob.stage(db.get(), "outbox.tested", std::move(invalid));
      BOOST_FAIL("an invalid event was staged");
    } catch (const nc::error& e) {
      BOOST_TEST(e.code() == nc::errc::invalid_event);
    }
    try {
      ob.stage(db.get(), "outbox.has space", nc::event::make("outbox.tested", "org-1"));
      BOOST_FAIL("an invalid subject was staged");
    } catch (const nc::error& e) {
      BOOST_TEST(e.code() == nc::errc::invalid_subject);
    }

    db.exec(
        "INSERT INTO natscoro_outbox (event_id, subject, body) VALUES "
        "('py-1', '$JS.API.STREAM.DELETE.OUTBOX', '{}'), "
        "('py-2', 'outbox.has space', '{}'), "
        "('py-3', 'outbox.from_python', '{\"amount\": 12}')");
    BOOST_REQUIRE(co_await wait_until([&] { return ob.stats().relayed == 1 && ob.stats().refused == 2; }, 30s));
    stats = ob.stats();
    co_await ob.close();
    co_await conn.drain();
  });
  stream_inspector inspect(server.url());
  const auto state = inspect.stream("OUTBOX");
  BOOST_REQUIRE(state.has_value());  // not deleted by the forged row
  BOOST_TEST(state->messages == 1u);
  const auto m = inspect.message("OUTBOX", state->last_sequence);
  BOOST_REQUIRE(m.has_value());
  BOOST_TEST(m->subject == "outbox.from_python");
  BOOST_TEST(m->header("Nats-Msg-Id") == "py-3");
  BOOST_TEST(m->data == "{\"amount\": 12}");
  const auto refused = db.column("SELECT event_id || ': ' || refused FROM natscoro_outbox ORDER BY seq");
  BOOST_REQUIRE(refused.size() == 2u);
  BOOST_TEST(refused[0].find("py-1: \"$JS.API.STREAM.DELETE.OUTBOX\" is a server or reply subject") == 0u, refused[0]);
  BOOST_TEST(refused[1].find("py-2: ") == 0u, refused[1]);
  BOOST_TEST(stats.pending == 0u);  // refused rows do not count as pending
}

// PostgreSQL dies while events wait (NATS was down too, so none was relayed):
// opening another relay fails with database_unavailable; the running relay waits,
// reconnects when PostgreSQL is back, and every event is stored once.
BOOST_FIXTURE_TEST_CASE(postgresql_down_the_relay_waits_and_resumes, fixture) {
  pg_session setup(pg.conninfo());
  std::set<std::string> ids;
  nc::error_code open_while_down;
  run_async([&](auto ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, natscoro::test::options_for(server));
    co_await make_stream(conn);
    auto opts = options_for(pg);
    opts.poll_interval = 1h;  // wakes come from the listener's NOTIFY and its reconnect
    auto ob = co_await nc::postgres_outbox::open(nc::jetstream{conn}, opts);

    server.stop();
    ids = commit_events(setup, ob, 200);
    pg.kill();
    server.start();
    auto [ec, other] =
        co_await nc::postgres_outbox::open(nc::jetstream{conn}, opts, asio::as_tuple(asio::use_awaitable));
    open_while_down = ec;
    pg.start();
    pg_session later(pg.conninfo());
    for (const auto& id : commit_events(later, ob, 200)) ids.insert(id);
    BOOST_REQUIRE(co_await wait_until([&] { return ob.stats().relayed >= 400; }, 60s));
    co_await ob.close();
    co_await conn.drain();
  });
  BOOST_TEST(open_while_down == nc::errc::database_unavailable);
  const auto in_stream = stream_inspector(server.url()).message_ids("OUTBOX");
  BOOST_TEST(in_stream.size() == 400u);
  for (const auto& id : ids) BOOST_TEST(in_stream.count(id) == 1u, id);
  for (const auto& [id, n] : in_stream) BOOST_TEST(n == 1, id);
}

// Two relays on one table: every row is claimed by one of them (FOR UPDATE SKIP
// LOCKED), so the PubAcks they count add up to the rows, with no duplicate sent.
BOOST_FIXTURE_TEST_CASE(two_relays_share_one_table_without_sending_a_row_twice, fixture) {
  pg_session db(pg.conninfo());
  std::set<std::string> ids;
  std::uint64_t relayed_a = 0, relayed_b = 0;
  run_async([&](auto ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, natscoro::test::options_for(server));
    co_await make_stream(conn);
    auto opts = options_for(pg);
    opts.relay_batch = 50;
    auto a = co_await nc::postgres_outbox::open(nc::jetstream{conn}, opts);
    auto b = co_await nc::postgres_outbox::open(nc::jetstream{conn}, opts);
    ids = commit_events(db, a, 3000);
    BOOST_REQUIRE(co_await wait_until([&] { return a.stats().relayed + b.stats().relayed >= 3000; }, 60s));
    co_await a.close();
    co_await b.close();
    relayed_a = a.stats().relayed;
    relayed_b = b.stats().relayed;
    co_await conn.drain();
  });
  BOOST_TEST_MESSAGE("relay a sent " << relayed_a << ", relay b " << relayed_b);
  BOOST_TEST(relayed_a + relayed_b == 3000u);
  const auto in_stream = stream_inspector(server.url()).message_ids("OUTBOX");
  BOOST_TEST(in_stream.size() == 3000u);
  for (const auto& id : ids) BOOST_TEST(in_stream.count(id) == 1u, id);
}

// A service killed -9 in the middle of 20,000 orders (10 per transaction, the relay
// in the same process): after a new relay ran, the stream holds exactly the events
// of the orders that committed, each once, by id.
BOOST_FIXTURE_TEST_CASE(killed_mid_20000_every_committed_event_once, fixture) {
  run_async([&](auto ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, natscoro::test::options_for(server));
    co_await make_stream(conn);
    co_await conn.drain();
  });
  std::set<std::string> printed;
  {
    child_process child({POSTGRES_OUTBOX_CHILD, server.url(), pg.conninfo(), "20000"}, true);
    while (printed.size() < 10000) {
      const auto line = child.read_line();
      BOOST_REQUIRE_MESSAGE(line.rfind("committed ", 0) == 0, "child said: " << line);
      printed.insert(line.substr(10));
    }
    child.kill();
  }
  run_async([&](auto ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, natscoro::test::options_for(server));
    auto ob = co_await nc::postgres_outbox::open(nc::jetstream{conn}, options_for(pg));
    BOOST_REQUIRE(
        co_await wait_until([&] { return ob.stats().pending == 0 && ob.stats().oldest_pending_age == 0ms; }, 120s));
    co_await ob.close();
    co_await conn.drain();
  });
  pg_session db(pg.conninfo());
  const auto orders = db.column("SELECT id FROM orders");
  const std::set<std::string> committed(orders.begin(), orders.end());
  const auto in_stream = stream_inspector(server.url()).message_ids("OUTBOX");
  BOOST_TEST_MESSAGE(printed.size() << " printed, " << committed.size() << " committed, " << in_stream.size()
                                    << " in the stream");
  BOOST_TEST(committed.size() >= printed.size());
  BOOST_TEST(committed.size() < 20000u);  // killed on the way
  for (const auto& id : printed) BOOST_TEST(committed.count(id) == 1u, id);
  BOOST_TEST(in_stream.size() == committed.size());
  for (const auto& id : committed) BOOST_TEST(in_stream.count(id) == 1u, id);
  for (const auto& [id, n] : in_stream) BOOST_TEST(n == 1, id);
  BOOST_TEST(db.scalar("SELECT count(*) FROM natscoro_outbox") == "0");
}

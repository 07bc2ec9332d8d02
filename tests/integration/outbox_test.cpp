// The SQLite outbox against a real nats-server: stored first, relayed in order,
// removed after the PubAck; nothing lost when the producer is killed or starts
// without a server; a full quota and a damaged file are clear errors.
#define BOOST_TEST_MODULE natscoro outbox
#include <natscoro/natscoro.hpp>

#include "async_test.hpp"
#include "child_process.hpp"
#include "nats_server.hpp"
#include "stream_inspector.hpp"
#include "test_options.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/detached.hpp>
#include <boost/test/unit_test.hpp>

#include <sqlite3.h>

#include <fstream>
#include <map>
#include <optional>
#include <set>

namespace nc = natscoro;
namespace asio = boost::asio;
using namespace natscoro::test;
using namespace std::chrono_literals;

namespace {

nc::outbox_options options_in(const temp_dir& dir) {
  nc::outbox_options o;
  o.path = (dir.path() / "outbox.db").string();
  o.publish.source = "outbox-test";
  return o;
}

asio::awaitable<void> make_stream(nc::connection conn) {
  nc::stream_config s;
  s.name = "OUTBOX";
  s.subjects = {"outbox.>"};
  s.duplicate_window = std::chrono::minutes(10);
  co_await nc::jetstream{conn}.ensure_stream(s);
}

// Stores `count` events from `producers` concurrent coroutines; returns their ids.
asio::awaitable<std::set<std::string>> store(nc::outbox ob, int count, int producers) {
  auto ex = co_await asio::this_coro::executor;
  auto ids = std::make_shared<std::set<std::string>>();
  auto next = std::make_shared<int>(0);
  auto finished = std::make_shared<int>(0);
  for (int p = 0; p < producers; ++p)
    asio::co_spawn(
        ex,
        [ob, ids, next, finished, count]() mutable -> asio::awaitable<void> {
          while (*next < count) {
            ++*next;
            auto evt = nc::event::make("outbox.tested", "org-1");
            const std::string id = evt.id;
            co_await ob.publish("outbox.tested", std::move(evt));
            ids->insert(id);
          }
          ++*finished;
        },
        asio::detached);
  co_await wait_until([&] { return *finished == producers; }, 60s);
  co_return *ids;
}

std::map<std::string, int> stored_ids(const nats_server& server, const std::string& stream) {
  return stream_inspector(server.url()).message_ids(stream);
}

}  // namespace

// 1,000 events from 64 producers: each publish completes once durable, commits are
// shared, and the relay stores each event once and empties the outbox.
BOOST_FIXTURE_TEST_CASE(stores_then_relays_each_event_once, server_fixture) {
  temp_dir dir;
  std::set<std::string> ids;
  nc::outbox_stats stats;
  run_async([&](auto ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    co_await make_stream(conn);
    auto ob = co_await nc::outbox::open(nc::jetstream{conn}, options_in(dir));
    ids = co_await store(ob, 1000, 64);
    BOOST_REQUIRE(co_await wait_until([&] { return ob.stats().pending == 0; }, 60s));
    stats = ob.stats();
    co_await ob.close();
    co_await conn.drain();
  });
  BOOST_TEST_MESSAGE("stored " << stats.stored << " in " << stats.commits << " commits; relayed " << stats.relayed);
  BOOST_TEST(ids.size() == 1000u);
  BOOST_TEST(stats.stored == 1000u);
  BOOST_TEST(stats.relayed == 1000u);
  BOOST_TEST(stats.commits < stats.stored);  // group commit
  BOOST_TEST(stats.pending_bytes == 0u);
  const auto in_stream = stored_ids(server, "OUTBOX");
  BOOST_TEST(in_stream.size() == 1000u);
  for (const auto& id : ids) BOOST_TEST(in_stream.count(id) == 1u, id);
  for (const auto& [id, n] : in_stream) BOOST_TEST(n == 1, id);
}

// Degraded start: no server answers; the outbox stores 1,000 events all the same;
// once a server appears (and its stream), every one is stored once.
BOOST_AUTO_TEST_CASE(a_service_started_without_a_server_loses_nothing) {
  temp_dir dir;
  const int port = free_port();
  std::optional<nats_server> server;
  std::set<std::string> ids;
  run_async([&](auto ex) -> asio::awaitable<void> {
    nc::connect_options copts;
    copts.servers = {"nats://127.0.0.1:" + std::to_string(port)};
    copts.retry_on_failed_connect = true;
    copts.reconnect.wait = 100ms;
    auto conn = co_await nc::connect(ex, copts);
    auto opts = options_in(dir);
    opts.max_backoff = 500ms;
    opts.publish.ack_timeout = 500ms;
    opts.publish.retry = nc::retry_policy{2, {100ms}};
    auto ob = co_await nc::outbox::open(nc::jetstream{conn}, opts);
    ids = co_await store(ob, 1000, 16);
    BOOST_TEST(ob.stats().pending == 1000u);  // durable, waiting for a server

    server.emplace(server_config{}, port);
    BOOST_REQUIRE(co_await wait_until([&] { return conn.is_connected(); }));
    co_await make_stream(conn);
    BOOST_REQUIRE(co_await wait_until([&] { return ob.stats().pending == 0; }, 60s));
    BOOST_TEST_MESSAGE("relayed " << ob.stats().relayed << "; failed attempts while down " << ob.stats().failed);
    co_await ob.close();
    co_await conn.drain();
  });
  const auto in_stream = stored_ids(*server, "OUTBOX");
  BOOST_TEST(in_stream.size() == 1000u);
  for (const auto& id : ids) BOOST_TEST(in_stream.count(id) == 1u, id);
}

// kill -9 in the middle of 20,000 publishes (the outbox relaying as it goes): every
// event whose publish completed is in the stream exactly once after a restart relays
// the rest (and again what was relayed but not yet removed: the stream drops those).
BOOST_FIXTURE_TEST_CASE(a_producer_killed_mid_stream_loses_nothing_and_duplicates_nothing, server_fixture) {
  temp_dir dir;
  const auto opts = options_in(dir);
  run_async([&](auto ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    co_await make_stream(conn);
    co_await conn.drain();
  });
  std::set<std::string> durable;
  {
    child_process child({OUTBOX_CHILD, server.url(), opts.path, "20000"});
    while (durable.size() < 8000) {
      const std::string line = child.read_line(60s);
      BOOST_REQUIRE_MESSAGE(line.rfind("stored ", 0) == 0, "the child said \"" << line << "\"");
      durable.insert(line.substr(7));
    }
    child.kill();
  }
  std::uint64_t pending_after_restart = 0;
  run_async([&](auto ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    auto ob = co_await nc::outbox::open(nc::jetstream{conn}, opts);
    pending_after_restart = ob.stats().pending;
    BOOST_REQUIRE(co_await wait_until([&] { return ob.stats().pending == 0; }, 60s));
    co_await ob.close();
    co_await conn.drain();
  });
  const auto in_stream = stored_ids(server, "OUTBOX");
  BOOST_TEST_MESSAGE("killed after " << durable.size() << " durable publishes; " << pending_after_restart
                                     << " pending at the restart; " << in_stream.size() << " in the stream");
  for (const auto& id : durable) BOOST_TEST(in_stream.count(id) == 1u, id);
  for (const auto& [id, n] : in_stream) BOOST_TEST(n == 1, id);
}

// The quota: what does not fit is refused with outbox_full, never dropped silently; an
// invalid event is refused before it is stored; the age alert fires once while
// nothing can be relayed.
BOOST_AUTO_TEST_CASE(a_full_outbox_refuses_by_name) {
  temp_dir dir;
  std::vector<std::chrono::milliseconds> alerts;
  run_async([&](auto ex) -> asio::awaitable<void> {
    nc::connect_options copts;
    copts.servers = {"nats://127.0.0.1:" + std::to_string(free_port())};  // never answers
    copts.retry_on_failed_connect = true;
    auto conn = co_await nc::connect(ex, copts);
    auto opts = options_in(dir);
    opts.max_bytes = 20'000;
    opts.alert_age = 300ms;
    opts.on_alert = [&](std::chrono::milliseconds age) { alerts.push_back(age); };
    auto ob = co_await nc::outbox::open(nc::jetstream{conn}, opts);
    auto invalid = nc::event::make("", "org-1");  // no type
    auto [invalid_ec] = co_await ob.publish("outbox.tested", invalid, asio::as_tuple(asio::deferred));
    BOOST_TEST(invalid_ec == nc::errc::invalid_event);
    auto [subject_ec] =
        co_await ob.publish("outbox.*", nc::event::make("outbox.tested", "org-1"), asio::as_tuple(asio::deferred));
    BOOST_TEST(subject_ec == nc::errc::invalid_subject);
    BOOST_TEST(ob.stats().pending == 0u);
    int stored = 0;
    nc::error_code refused;
    for (int i = 0; i < 200 && !refused; ++i) {
      auto [ec] = co_await ob.publish("outbox.tested", nc::event::make("outbox.tested", "org-1"),
                                      asio::as_tuple(asio::deferred));
      if (ec)
        refused = ec;
      else
        ++stored;
    }
    BOOST_TEST(refused == nc::errc::outbox_full);
    BOOST_TEST(stored > 0);
    BOOST_TEST(ob.stats().pending == static_cast<std::uint64_t>(stored));
    BOOST_TEST(ob.stats().pending_bytes <= 20'000u);
    BOOST_REQUIRE(co_await wait_until([&] { return !alerts.empty(); }, 10s));
    BOOST_TEST(alerts.front() > 300ms);
    BOOST_TEST(ob.stats().oldest_pending_age > 300ms);
    asio::steady_timer more(ex, 1500ms);
    co_await more.async_wait(asio::deferred);
    BOOST_TEST(alerts.size() == 1u);  // once per crossing
    co_await ob.close();
    conn.close();
  });
}

// A file written before the `refused` column existed is upgraded at open and
// its events relayed. A record the relay may never publish (here a JetStream API
// subject written into the file by hand) is marked refused and kept, not
// retried forever, and the stream is not touched by it.
BOOST_FIXTURE_TEST_CASE(an_older_file_is_upgraded_and_unpublishable_records_are_refused, server_fixture) {
  temp_dir dir;
  const auto path = (dir.path() / "outbox.db").string();
  {
    sqlite3* db = nullptr;
    BOOST_REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    const char* old_schema =
        "CREATE TABLE natscoro_outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL, subject TEXT NOT NULL,"
        " headers BLOB NOT NULL, body BLOB NOT NULL, created_ns INTEGER NOT NULL, size INTEGER NOT NULL);"
        "INSERT INTO natscoro_outbox (id, subject, headers, body, created_ns, size) VALUES"
        " ('forged', '$JS.API.STREAM.DELETE.OUTBOX', '', '{}', 1, 40),"
        " ('kept-1', 'outbox.old', '', '{\"v\":1}', 2, 20);";
    BOOST_REQUIRE(sqlite3_exec(db, old_schema, nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(db);
  }
  nc::outbox_stats stats;
  run_async([&](auto ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    co_await make_stream(conn);
    auto ob = co_await nc::outbox::open(nc::jetstream{conn}, options_in(dir));
    BOOST_REQUIRE(co_await wait_until([&] { return ob.stats().relayed == 1 && ob.stats().refused == 1; }, 30s));
    stats = ob.stats();
    co_await ob.close();
    co_await conn.drain();
  });
  BOOST_TEST(stats.pending == 0u);
  const auto in_stream = stored_ids(server, "OUTBOX");
  BOOST_TEST(in_stream.size() == 1u);
  BOOST_TEST(in_stream.count("kept-1") == 1u);
  sqlite3* db = nullptr;
  BOOST_REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  BOOST_REQUIRE(sqlite3_prepare_v2(db, "SELECT id, refused FROM natscoro_outbox", -1, &st, nullptr) == SQLITE_OK);
  BOOST_REQUIRE(sqlite3_step(st) == SQLITE_ROW);
  const std::string id = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  const std::string reason = reinterpret_cast<const char*>(sqlite3_column_text(st, 1));
  BOOST_TEST(id == "forged");
  BOOST_TEST(reason.find("server or reply subject") != std::string::npos, reason);
  BOOST_TEST(sqlite3_step(st) == SQLITE_DONE);  // the relayed one was removed
  sqlite3_finalize(st);
  sqlite3_close(db);
}

// A file that is not an SQLite database (or a damaged one) is refused at open, by name.
BOOST_AUTO_TEST_CASE(a_corrupt_file_is_a_clear_error_at_open) {
  temp_dir dir;
  const auto opts = options_in(dir);
  std::ofstream(opts.path) << std::string(8192, 'x');
  run_async([&](auto ex) -> asio::awaitable<void> {
    nc::connect_options copts;
    copts.servers = {"nats://127.0.0.1:" + std::to_string(free_port())};
    copts.retry_on_failed_connect = true;
    auto conn = co_await nc::connect(ex, copts);
    auto [ec, ob] = co_await nc::outbox::open(nc::jetstream{conn}, opts, asio::as_tuple(asio::deferred));
    BOOST_TEST(ec == nc::errc::outbox_corrupt, ec.message());
    auto bad = opts;
    bad.path = (dir.path() / "no" / "such" / "dir" / "outbox.db").string();
    std::tie(ec, ob) = co_await nc::outbox::open(nc::jetstream{conn}, bad, asio::as_tuple(asio::deferred));
    BOOST_TEST(ec == nc::errc::invalid_argument, ec.message());
    conn.close();
  });
}

// The broker down for 60 s (killed, then started again on its port and store) while a
// producer stores 200 events a second throughout: every event is in the stream once.
BOOST_FIXTURE_TEST_CASE(a_broker_down_for_60_s_loses_nothing_and_duplicates_nothing, server_fixture) {
  temp_dir dir;
  std::set<std::string> ids;
  nc::outbox_stats stats;
  run_async(
      [&](auto ex) -> asio::awaitable<void> {
        auto conn = co_await nc::connect(ex, options_for(server));
        co_await make_stream(conn);
        auto opts = options_in(dir);
        opts.max_backoff = 1s;
        opts.publish.ack_timeout = 1s;
        opts.publish.retry = nc::retry_policy{2, {200ms}};
        auto ob = co_await nc::outbox::open(nc::jetstream{conn}, opts);
        asio::steady_timer tick(ex);
        const auto start = std::chrono::steady_clock::now();
        bool killed = false, restarted = false;
        while (std::chrono::steady_clock::now() - start < 70s) {
          const auto elapsed = std::chrono::steady_clock::now() - start;
          if (!killed && elapsed > 5s) {
            server.kill();
            killed = true;
          }
          if (!restarted && elapsed > 65s) {
            server.start();
            restarted = true;
          }
          auto evt = nc::event::make("outbox.tested", "org-1");
          ids.insert(evt.id);
          co_await ob.publish("outbox.tested", std::move(evt));  // durable whether or not NATS answers
          tick.expires_after(5ms);
          co_await tick.async_wait(asio::deferred);
        }
        BOOST_REQUIRE(co_await wait_until([&] { return ob.stats().pending == 0; }, 60s));
        stats = ob.stats();
        co_await ob.close();
        co_await conn.drain();
      },
      std::chrono::seconds(240));
  const auto in_stream = stored_ids(server, "OUTBOX");
  BOOST_TEST_MESSAGE("stored " << stats.stored << ", relayed " << stats.relayed << ", failed relay attempts "
                               << stats.failed << "; " << in_stream.size() << " in the stream");
  BOOST_TEST(in_stream.size() == ids.size());
  for (const auto& id : ids) BOOST_TEST(in_stream.count(id) == 1u, id);
  for (const auto& [id, n] : in_stream) BOOST_TEST(n == 1, id);
}

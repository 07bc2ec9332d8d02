#define BOOST_TEST_MODULE natscoro runner
#include <natscoro/detail/trace_parent.hpp>
#include <natscoro/natscoro.hpp>

#include "async_test.hpp"
#include "child_process.hpp"
#include "nats_server.hpp"
#include "stream_inspector.hpp"
#include "test_options.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/describe/class.hpp>
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <sstream>

namespace nc = natscoro;
namespace asio = boost::asio;
using namespace natscoro::test;
using namespace std::chrono_literals;

namespace {

// The router test's events: described, so Boost.JSON converts them with no code.
struct user_created {
  std::string user;
  std::string name;
};
BOOST_DESCRIBE_STRUCT(user_created, (), (user, name))
struct user_renamed {
  std::string user;
  std::string name;
};
BOOST_DESCRIBE_STRUCT(user_renamed, (), (user, name))
struct order_placed {
  std::string order;
  std::int64_t amount_cents = 0;
};
BOOST_DESCRIBE_STRUCT(order_placed, (), (order, amount_cents))

// Sequences stored per key, in stream order.
using stored_by_key = std::map<std::string, std::vector<std::uint64_t>>;

// Creates AUTH_EVENTS and stores `per_key` events for each of `keys` keys, the keys
// interleaved: subject "auth.user.<key>.created", data {"key": key, "i": i}.
asio::awaitable<stored_by_key> fill(nc::connection conn, int keys, int per_key) {
  nc::jetstream js{conn};
  nc::stream_config s;
  s.name = "AUTH_EVENTS";
  s.subjects = {"auth.>"};
  co_await js.ensure_stream(s);
  nc::publisher_options popts;
  popts.source = "runner-test";
  nc::publisher pub{js, popts};
  auto stored = std::make_shared<std::map<std::uint64_t, std::string>>();
  for (int i = 0; i < per_key; ++i)
    for (int k = 0; k < keys; ++k) {
      const std::string key = std::to_string(k);
      pub.publish("auth.user." + key + ".created",
                  nc::event::make("user.created", "org-1", boost::json::object{{"key", key}, {"i", i}}),
                  [stored, key](nc::error_code ec, nc::pub_ack ack) {
                    if (!ec) (*stored)[ack.sequence] = key;
                  });
    }
  co_await pub.flush();
  BOOST_REQUIRE(stored->size() == static_cast<std::size_t>(keys * per_key));
  stored_by_key out;
  for (const auto& [seq, key] : *stored) out[key].push_back(seq);
  co_return out;
}

nc::consumer_config durable(const std::string& name) {
  nc::consumer_config cfg;
  cfg.durable = name;
  cfg.filter_subject = "auth.user.>";
  cfg.ack_wait = 30s;
  cfg.max_deliver = 5;
  return cfg;
}

std::string subject_key(const nc::message& m) { return nc::key_by_subject_token(2)(m); }

// Lowers a counter when a handler leaves, by return or by exception.
struct leave_guard {
  std::atomic<int>& count;
  ~leave_guard() { --count; }
};

nc::dead_letter_options dlq_options() {
  return nc::dead_letter_options{.stream = "DLQ_EVENTS", .subject_prefix = "dlq"};
}

}  // namespace

// 100 keys x 100 events, 30 % of first attempts fail: each event succeeds once,
// in stream order per key, and no more than 16 handlers ever run at once. The
// handlers run on a pool of 4 threads (ThreadSanitizer runs this test too).
BOOST_FIXTURE_TEST_CASE(order_per_key_survives_failures_within_the_concurrency_bound, server_fixture) {
  constexpr int keys = 100, per_key = 100, total = keys * per_key;
  constexpr int concurrency = 16;
  run_async([&](auto ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    const auto stored = co_await fill(conn, keys, per_key);
    nc::jetstream js{conn};
    auto cons = co_await js.consumer("AUTH_EVENTS", durable("ordered"));

    asio::thread_pool pool(4);
    std::mutex mutex;  // guards what the handlers share below
    stored_by_key handled;
    std::map<std::uint64_t, int> successes;
    std::set<std::uint64_t> failed_once;
    std::atomic<int> running{0}, high_water{0};
    std::mt19937 rng(20261123);
    int done = 0;

    nc::run_options opts;
    opts.concurrency = concurrency;
    opts.ordering_key = nc::key_by_subject_token(2);
    opts.retry = nc::retry_policy{.max_attempts = 5, .backoff = {10ms}, .max_delay = 100ms};
    opts.handler_executor = pool.get_executor();
    co_await cons.run(
        [&](nc::message& m) -> asio::awaitable<void> {
          const int now = ++running;
          leave_guard guard{running};
          for (int seen = high_water.load(); now > seen && !high_water.compare_exchange_weak(seen, now);) {
          }
          std::chrono::microseconds latency;
          {
            std::lock_guard lock(mutex);
            latency = std::chrono::microseconds(rng() % 2000);
          }
          asio::steady_timer timer(co_await asio::this_coro::executor, latency);
          co_await timer.async_wait(asio::use_awaitable);
          const auto seq = m.metadata().stream_sequence;
          const auto key = subject_key(m);
          std::lock_guard lock(mutex);
          if (!failed_once.contains(seq) && rng() % 10 < 3) {
            failed_once.insert(seq);
            throw std::runtime_error("first attempt fails");
          }
          handled[key].push_back(seq);
          ++successes[seq];
          if (++done == total) cons.drain(5s, asio::detached);  // from the pool: no hop needed
        },
        opts);
    pool.join();

    BOOST_TEST_MESSAGE("handled " << done << ", first attempts failed " << failed_once.size()
                                  << ", most handlers at once " << high_water.load() << ", longest key backlog "
                                  << cons.run_stats().lane_high_water);
    BOOST_TEST(done == total);
    BOOST_TEST(successes.size() == static_cast<std::size_t>(total));
    BOOST_TEST(std::all_of(successes.begin(), successes.end(), [](const auto& s) { return s.second == 1; }));
    int out_of_order = 0;
    for (const auto& [key, seqs] : stored) out_of_order += handled[key] != seqs;
    BOOST_TEST(out_of_order == 0);
    BOOST_TEST(high_water.load() <= concurrency);
    BOOST_TEST(high_water.load() > 1);  // handlers did run side by side
    const auto stats = cons.run_stats();
    BOOST_TEST(stats.handled == static_cast<std::uint64_t>(total));
    BOOST_TEST(stats.failed_attempts == failed_once.size());
    BOOST_TEST(stats.retried == failed_once.size());
    BOOST_TEST(stats.dead_lettered == 0u);
    BOOST_TEST(stats.in_flight_high_water <= static_cast<std::size_t>(concurrency));
    BOOST_TEST(failed_once.size() > 2000u);  // about 30 % of 10,000
    co_await conn.drain();
  });
}

// A poison event ends in the DLQ after its attempts, an undecodable body at once;
// both with their failure headers; the others are handled; the alert fires; the
// DLQ tools list both and replay the poison event to a handler that now succeeds.
BOOST_FIXTURE_TEST_CASE(failures_end_in_the_dead_letter_queue_and_replay_brings_them_back, server_fixture) {
  run_async([&](auto ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    co_await fill(conn, 10, 2);  // 20 good events
    nc::jetstream js{conn};
    nc::publisher pub{js, nc::publisher_options{.source = "runner-test"}};
    const auto poison = nc::event::make("user.created", "org-1", boost::json::object{{"poison", true}});
    const auto poison_ack = co_await pub.publish("auth.user.5.created", poison);
    const auto garbage_ack =
        co_await pub.publish_raw(nc::raw_message{.subject = "auth.user.7.created", .data = "not json"});
    auto cons = co_await js.consumer("AUTH_EVENTS", durable("dlq-test"));

    bool healed = false;
    std::set<std::string> handled_ids;
    std::vector<std::uint64_t> alerts;
    nc::run_options opts;
    opts.concurrency = 4;
    opts.ordering_key = nc::key_by_subject_token(2);
    opts.retry = nc::retry_policy{.max_attempts = 3, .backoff = {20ms}};
    opts.dead_letter = dlq_options();
    opts.dead_letter->alert_threshold = 1;
    opts.dead_letter->on_alert = [&](std::uint64_t n) { alerts.push_back(n); };
    bool run_done = false;
    nc::error_code run_ec;
    cons.run(
        [&](nc::message& m) -> asio::awaitable<void> {
          const auto evt = m.event();
          if (evt.data.as_object().contains("poison") && !healed)
            throw std::runtime_error("poison pill\r\nsecond line");
          handled_ids.insert(evt.id);
          co_return;
        },
        opts,
        [&](nc::error_code ec) {
          run_ec = ec;
          run_done = true;
        });

    stream_inspector inspect(server.url());
    BOOST_REQUIRE(co_await wait_until([&] { return cons.run_stats().dead_lettered == 2 && handled_ids.size() == 20; }));
    BOOST_TEST(inspect.stream("DLQ_EVENTS")->messages == 2u);
    BOOST_TEST(cons.run_stats().failed_attempts == 3u);  // the poison event, three times; garbage never ran
    BOOST_REQUIRE(co_await wait_until([&] { return !alerts.empty(); }));
    BOOST_TEST(alerts.front() == 2u);
    // The size the metrics report, read from the stream after each dead-letter.
    BOOST_TEST(co_await wait_until([&] { return cons.run_stats().dead_letter_queue_messages == 2u; }));
    BOOST_REQUIRE(co_await wait_until([&] {
      auto state = inspect.consumer("AUTH_EVENTS", "dlq-test");
      return state && state->ack_pending == 0 && state->pending == 0;  // terminated after the DLQ's PubAck
    }));

    nc::dead_letter_queue dlq{js, "DLQ_EVENTS"};
    auto entries = co_await dlq.list(0, 10);
    BOOST_REQUIRE(entries.size() == 2u);
    const auto& p = entries[0].original_sequence == poison_ack.sequence ? entries[0] : entries[1];
    const auto& g = entries[0].original_sequence == garbage_ack.sequence ? entries[0] : entries[1];
    BOOST_TEST(p.subject == "dlq.auth.user.5.created");
    BOOST_TEST(p.original_stream == "AUTH_EVENTS");
    BOOST_TEST(p.original_subject == "auth.user.5.created");
    BOOST_TEST(p.original_sequence == poison_ack.sequence);
    BOOST_TEST(p.consumer == "dlq-test");
    BOOST_TEST(p.deliveries == 1u);  // the retries stayed in the lane
    BOOST_TEST(p.error == "poison pill  second line");
    BOOST_TEST(nc::parse_rfc3339(p.failed_at).has_value());
    BOOST_TEST(boost::json::parse(p.data).at("id").as_string() == poison.id);  // body untouched
    BOOST_TEST(g.original_sequence == garbage_ack.sequence);
    BOOST_TEST(g.data == "not json");
    BOOST_TEST(g.error.find("invalid_event") == 0u);
    BOOST_TEST(g.deliveries == 1u);

    healed = true;
    const auto replayed = co_await dlq.replay(p.sequence);
    BOOST_TEST(replayed.stream == "AUTH_EVENTS");
    BOOST_REQUIRE(co_await wait_until([&] { return handled_ids.contains(poison.id); }));
    const auto stored = inspect.message("AUTH_EVENTS", replayed.sequence);
    BOOST_REQUIRE(stored.has_value());
    BOOST_TEST(!stored->header("Natscoro-Replay-Id").empty());
    BOOST_TEST(stored->header("Natscoro-Replayed-From") == "DLQ_EVENTS:" + std::to_string(p.sequence));
    BOOST_TEST(stored->header("Natscoro-Error").empty());
    BOOST_TEST(inspect.stream("DLQ_EVENTS")->messages == 1u);  // deleted after the PubAck

    co_await cons.drain();
    BOOST_REQUIRE(co_await wait_until([&] { return run_done; }));
    BOOST_TEST(!run_ec);
    co_await conn.drain();
  });
}

// The event router as the runner's handler: three typed events reach their
// handlers as structs (Boost.Describe: no hand-written conversion); an unknown
// type and data that does not convert are dead-lettered with the reason.
BOOST_FIXTURE_TEST_CASE(the_router_dispatches_typed_events_and_dead_letters_the_rest, server_fixture) {
  std::vector<std::string> seen;
  std::map<std::string, std::string> dead;  // original subject -> error
  run_async([&](auto ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    nc::jetstream js{conn};
    co_await js.ensure_stream(nc::stream_config{.name = "AUTH_EVENTS", .subjects = {"auth.>"}});
    nc::publisher pub{js, nc::publisher_options{.source = "router-test", .subject_template = "auth.{subject}.{type}"}};
    const auto typed = [](std::string type, std::string key, auto data) {
      auto e = nc::event::make(std::move(type), "org-1", data);
      e.subject = std::move(key);
      return e;
    };
    co_await pub.publish(typed("user.created", "u1", user_created{"u1", "Ada"}));
    co_await pub.publish(typed("user.renamed", "u1", user_renamed{"u1", "Ada L."}));
    co_await pub.publish(typed("order.placed", "o9", order_placed{"o9", 1250}));
    co_await pub.publish(typed("user.archived", "u1", boost::json::object{}));                  // no handler
    co_await pub.publish(typed("order.placed", "o10", boost::json::object{{"order", "o10"}}));  // no amount

    nc::event_router router(nc::unknown_event_policy::dead_letter);
    router.on<user_created>("user.created", [&](const user_created& u, nc::message&) -> asio::awaitable<void> {
      seen.push_back("created " + u.user + " " + u.name);
      co_return;
    });
    router.on<user_renamed>("user.renamed", [&](const user_renamed& u, nc::message&) -> asio::awaitable<void> {
      seen.push_back("renamed " + u.user + " " + u.name);
      co_return;
    });
    router.on<order_placed>("order.placed", [&](const order_placed& o, nc::message& m) -> asio::awaitable<void> {
      seen.push_back("placed " + o.order + " " + std::to_string(o.amount_cents) + " on " + m.subject());
      co_return;
    });
    auto cfg = durable("router");
    cfg.filter_subject = "auth.>";
    auto cons = co_await js.consumer("AUTH_EVENTS", cfg);
    nc::run_options opts;
    opts.ordering_key = nc::key_by_subject_token(1);  // the entity key the template put there
    opts.dead_letter = dlq_options();
    bool run_done = false;
    cons.run(router, opts, [&](nc::error_code) { run_done = true; });
    BOOST_REQUIRE(co_await wait_until([&] { return seen.size() == 3 && cons.run_stats().dead_lettered == 2; }));
    nc::dead_letter_queue dlq{js, "DLQ_EVENTS"};
    for (const auto& e : co_await dlq.list(0, 10)) dead[e.original_subject] = e.error;
    co_await cons.drain();
    BOOST_REQUIRE(co_await wait_until([&] { return run_done; }));
    co_await conn.drain();
  });
  // Keys run side by side; within key u1, stream order.
  const std::set<std::string> expected = {"created u1 Ada", "renamed u1 Ada L.",
                                          "placed o9 1250 on auth.o9.order.placed"};
  BOOST_TEST((std::set<std::string>(seen.begin(), seen.end()) == expected));
  BOOST_TEST((std::find(seen.begin(), seen.end(), "created u1 Ada") <
              std::find(seen.begin(), seen.end(), "renamed u1 Ada L.")));
  BOOST_REQUIRE(dead.size() == 2u);
  BOOST_TEST(dead["auth.u1.user.archived"].find("no handler for event type \"user.archived\"") != std::string::npos,
             dead["auth.u1.user.archived"]);
  BOOST_TEST(dead["auth.o10.order.placed"].find("data does not convert") != std::string::npos,
             dead["auth.o10.order.placed"]);
}

// The DLQ stream is missing and may not be created: the original is nak'ed, never
// terminated, and is dead-lettered once an operator creates the stream.
BOOST_AUTO_TEST_CASE(a_failed_dead_letter_publish_naks_the_original) {
  server_config cfg;
  cfg.extra = R"(authorization {
  users = [
    {user: admin, password: admin}
    {user: app, password: app, permissions: {publish: {deny: ["$JS.API.STREAM.CREATE.DLQ_EVENTS"]}}}
  ]
})";
  nats_server server(cfg);
  run_async([&](auto ex) -> asio::awaitable<void> {
    auto admin_opts = options_for(server);
    admin_opts.user = admin_opts.password = "admin";
    auto admin = co_await nc::connect(ex, admin_opts);
    co_await fill(admin, 1, 1);
    auto app_opts = options_for(server);
    app_opts.user = app_opts.password = "app";
    auto app = co_await nc::connect(ex, app_opts);
    nc::jetstream js{app, nc::jetstream::options{.timeout = 1000ms}};
    auto cons = co_await js.consumer("AUTH_EVENTS", durable("denied"));

    nc::run_options opts;
    opts.retry = nc::retry_policy{.max_attempts = 2, .backoff = {20ms}};
    opts.dead_letter = dlq_options();
    opts.dead_letter->capture_max_deliveries = false;
    bool run_done = false;
    cons.run([](nc::message&) -> asio::awaitable<void> { throw std::runtime_error("always"); }, opts,
             [&](nc::error_code) { run_done = true; });

    stream_inspector inspect(server.url(), "admin", "admin");
    BOOST_REQUIRE(co_await wait_until([&] { return cons.run_stats().dead_letter_failures >= 1; }, 30s));
    // Nak'ed, not terminated: it comes back and fails again.
    const auto attempts = cons.run_stats().failed_attempts;
    BOOST_REQUIRE(co_await wait_until([&] { return cons.run_stats().failed_attempts > attempts; }, 30s));
    BOOST_TEST(cons.run_stats().dead_lettered == 0u);
    BOOST_TEST(inspect.stream("AUTH_EVENTS")->messages == 1u);

    co_await nc::jetstream{admin}.ensure_stream(nc::stream_config{.name = "DLQ_EVENTS", .subjects = {"dlq.>"}});
    BOOST_REQUIRE(co_await wait_until([&] { return cons.run_stats().dead_lettered == 1; }, 30s));
    BOOST_TEST(inspect.stream("DLQ_EVENTS")->messages == 1u);
    const auto entry = inspect.message("DLQ_EVENTS", 1);
    BOOST_REQUIRE(entry.has_value());
    BOOST_TEST(entry->header("Natscoro-Error") == "always");

    co_await cons.drain();
    BOOST_REQUIRE(co_await wait_until([&] { return run_done; }));
    co_await app.drain();
    co_await admin.drain();
  });
}

// A handler process killed on every delivery until max_deliver (2) runs out: the
// server's advisory names the message, and a runner moves it to the DLQ.
BOOST_FIXTURE_TEST_CASE(messages_out_of_deliveries_reach_the_dead_letter_queue, server_fixture) {
  run_async([&](auto ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    const auto stored = co_await fill(conn, 1, 1);
    const auto seq = stored.at("0").front();
    for (int delivery = 1; delivery <= 2; ++delivery) {
      child_process child({RUNNER_CHILD, server.url(), "AUTH_EVENTS", "crashy", "hang"});
      BOOST_REQUIRE_EQUAL(child.read_line(), "handling " + std::to_string(seq));
      child.kill();
    }

    nc::jetstream js{conn};
    nc::consumer_config cfg;  // as the child's
    cfg.durable = "crashy";
    cfg.ack_wait = 1s;
    cfg.max_deliver = 2;
    auto cons = co_await js.consumer("AUTH_EVENTS", cfg);
    nc::run_options opts;
    opts.dead_letter = dlq_options();
    int handled = 0;
    bool run_done = false;
    cons.run(
        [&](nc::message&) -> asio::awaitable<void> {
          ++handled;
          co_return;
        },
        opts, [&](nc::error_code) { run_done = true; });

    stream_inspector inspect(server.url());
    BOOST_REQUIRE(co_await wait_until([&] { return cons.run_stats().moved_by_advisory == 1; }, 30s));
    BOOST_TEST(handled == 0);  // the server delivers it no more
    const auto entry = inspect.message("DLQ_EVENTS", 1);
    BOOST_REQUIRE(entry.has_value());
    BOOST_TEST(entry->subject == "dlq.auth.user.0.created");
    BOOST_TEST(entry->header("Natscoro-Original-Sequence") == std::to_string(seq));
    BOOST_TEST(entry->header("Natscoro-Deliveries") == "2");
    BOOST_TEST(entry->header("Natscoro-Consumer") == "crashy");
    BOOST_TEST(entry->header("Natscoro-Error").find("max_deliver") != std::string::npos);

    co_await cons.drain();
    BOOST_REQUIRE(co_await wait_until([&] { return run_done; }));
    co_await conn.drain();
  });
}

// SIGTERM mid-stream of 5,000 events: the process drains and exits 0; a new one
// handles the rest. Every event handled once, per key in stream order.
BOOST_FIXTURE_TEST_CASE(sigterm_drains_and_a_restart_handles_the_rest, server_fixture) {
  constexpr int keys = 50, per_key = 100, total = keys * per_key;
  stored_by_key stored;
  run_async([&](auto ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    stored = co_await fill(conn, keys, per_key);
    co_await conn.drain();
  });

  stored_by_key handled;
  std::map<std::uint64_t, int> times;
  // Reads "handled <key> <seq>" lines until "drained <count>" (checked against the lines) and returns the
  // count; sends SIGTERM once `enough(lines so far)`, or at "quiet".
  auto follow = [&](child_process& child, const std::function<bool(int)>& enough, bool& signalled) {
    int lines = 0;
    for (;;) {
      const std::string line = child.read_line(60s);
      BOOST_REQUIRE_MESSAGE(!line.empty(), "the child stopped talking after " << lines << " events");
      std::istringstream in(line);
      std::string word, key;
      std::uint64_t n = 0;
      in >> word;
      if (word == "quiet") {
        child.signal(SIGTERM);
        signalled = true;
        continue;
      }
      if (word == "drained") {
        in >> n;
        BOOST_TEST(n == static_cast<std::uint64_t>(lines));
        return lines;
      }
      in >> key >> n;
      handled[key].push_back(n);
      ++times[n];
      ++lines;
      if (!signalled && enough(lines)) {
        child.signal(SIGTERM);
        signalled = true;
      }
    }
  };

  int first = 0, second = 0;
  {
    // Holds its handlers after 1,000 events until SIGTERM, sent at "quiet" (see runner_child.cpp).
    child_process a({RUNNER_CHILD, server.url(), "AUTH_EVENTS", "sigterm", "pause"});
    bool signalled = false;
    first = follow(a, [](int) { return false; }, signalled);
    BOOST_TEST(signalled);
    BOOST_TEST(a.wait() == 0);
  }
  BOOST_TEST(first >= 1000);
  BOOST_TEST(first < total);  // stopped mid-stream
  {
    child_process b({RUNNER_CHILD, server.url(), "AUTH_EVENTS", "sigterm", "handle"});
    bool signalled = false;
    second = follow(b, [&](int lines) { return first + lines >= total; }, signalled);
    BOOST_TEST(b.wait() == 0);
  }
  BOOST_TEST_MESSAGE("before SIGTERM the first process handled " << first << ", the second " << second);
  BOOST_TEST(first + second == total);
  BOOST_TEST(times.size() == static_cast<std::size_t>(total));
  BOOST_TEST(std::all_of(times.begin(), times.end(), [](const auto& t) { return t.second == 1; }));
  int out_of_order = 0;
  for (const auto& [key, seqs] : stored) out_of_order += handled[key] != seqs;
  BOOST_TEST(out_of_order == 0);
}

// Cancelling run() drains too: a handler still running at the deadline is
// cancelled and its message nak'ed; run() completes with operation_aborted.
BOOST_FIXTURE_TEST_CASE(cancelling_run_drains_and_cancels_handlers_past_the_deadline, server_fixture) {
  run_async(
      [&](auto ex) -> asio::awaitable<void> {
        auto conn = co_await nc::connect(ex, options_for(server));
        co_await fill(conn, 4, 1);
        nc::jetstream js{conn};
        auto cons = co_await js.consumer("AUTH_EVENTS", durable("cancelled"));
        nc::run_options opts;
        opts.concurrency = 2;
        opts.drain_deadline = 300ms;
        int started = 0, cancelled = 0;
        asio::cancellation_signal stop;
        bool run_done = false;
        nc::error_code run_ec;
        cons.run(
            [&](nc::message&) -> asio::awaitable<void> {
              ++started;
              asio::steady_timer slow(co_await asio::this_coro::executor, 1h);
              auto [ec] = co_await slow.async_wait(asio::as_tuple(asio::use_awaitable));
              if (ec == asio::error::operation_aborted) ++cancelled;
            },
            opts, asio::bind_cancellation_slot(stop.slot(), [&](nc::error_code ec) {
              run_ec = ec;
              run_done = true;
            }));
        // Two running, the other two queued in the runner (not still held by the consumer).
        BOOST_REQUIRE(co_await wait_until([&] { return started == 2 && cons.run_stats().queued == 2; }));
        stop.emit(asio::cancellation_type::terminal);
        BOOST_REQUIRE(co_await wait_until([&] { return run_done; }));
        BOOST_TEST(run_ec == asio::error::operation_aborted);
        BOOST_TEST(cancelled == 2);
        BOOST_TEST(started == 2);  // nothing more started after the cancellation
        const auto stats = cons.run_stats();
        BOOST_TEST(stats.given_back == 4u);  // 2 running past the deadline, 2 never started
        BOOST_TEST(stats.handled == 0u);

        // Another instance gets all four at once (not after ack_wait).
        auto other = co_await js.consumer("AUTH_EVENTS", durable("cancelled"));
        for (int i = 0; i < 4; ++i) {
          auto m = co_await other.next();
          BOOST_REQUIRE(m.has_value());
          m->ack();
        }
        co_await other.drain();
        co_await conn.drain();
      },
      20s);
}

// The connection closing under a running runner ends run() with errc::not_connected
// once its handlers have returned: no hang, no crash.
BOOST_FIXTURE_TEST_CASE(a_closed_connection_ends_run_with_an_error, server_fixture) {
  run_async(
      [&](auto ex) -> asio::awaitable<void> {
        auto conn = co_await nc::connect(ex, options_for(server));
        co_await fill(conn, 4, 1);
        nc::jetstream js{conn};
        auto cons = co_await js.consumer("AUTH_EVENTS", durable("closing"));
        int started = 0;
        bool run_done = false;
        nc::error_code run_ec;
        cons.run(
            [&](nc::message&) -> asio::awaitable<void> {
              ++started;
              asio::steady_timer slow(co_await asio::this_coro::executor, 200ms);
              co_await slow.async_wait(asio::use_awaitable);
            },
            nc::run_options{},
            [&](nc::error_code ec) {
              run_ec = ec;
              run_done = true;
            });
        BOOST_REQUIRE(co_await wait_until([&] { return started > 0; }));
        conn.close();
        BOOST_REQUIRE(co_await wait_until([&] { return run_done; }));
        BOOST_TEST(run_ec == nc::errc::not_connected);
      },
      30s);
}

// Bad options and a second run() on the same consumer are refused at once, naming the problem.
BOOST_FIXTURE_TEST_CASE(bad_runner_and_dlq_input_is_refused, server_fixture) {
  run_async([&](auto ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    co_await fill(conn, 1, 1);
    nc::jetstream js{conn};
    auto cons = co_await js.consumer("AUTH_EVENTS", durable("refusals"));
    auto idle = [](nc::message&) -> asio::awaitable<void> { co_return; };
    auto refused = [&](nc::run_options opts) -> asio::awaitable<nc::error_code> {
      auto [ec] = co_await cons.run(idle, std::move(opts), asio::as_tuple(asio::deferred));
      co_return ec;
    };
    nc::run_options none;
    none.concurrency = 0;
    BOOST_TEST((co_await refused(none)) == nc::errc::invalid_argument);
    nc::run_options bad_dlq;
    bad_dlq.dead_letter = nc::dead_letter_options{.stream = "DLQ.EVENTS"};
    BOOST_TEST((co_await refused(bad_dlq)) == nc::errc::invalid_argument);

    bool first_done = false;
    cons.run(idle, nc::run_options{}, [&](nc::error_code) { first_done = true; });
    BOOST_TEST((co_await refused(nc::run_options{})) == nc::errc::invalid_argument);  // one run at a time
    co_await cons.drain();
    BOOST_REQUIRE(co_await wait_until([&] { return first_done; }));

    nc::dead_letter_queue missing{js, "NO_SUCH_DLQ"};
    auto [ec, entries] = co_await missing.list(0, 10, asio::as_tuple(asio::deferred));
    BOOST_TEST(ec == nc::jetstream_errc::stream_not_found);
    std::tie(ec, std::ignore) = co_await js.ensure_consumer("AUTH_EVENTS", nc::consumer_config{.durable = "a.b"},
                                                            asio::as_tuple(asio::deferred));
    BOOST_TEST(ec == nc::errc::invalid_argument);
    co_await conn.drain();
  });
}

// A failure too large to dead-letter as it is (the DLQ headers push it past max_payload,
// or past the DLQ stream's max_msg_size) used to be nak'ed and redelivered for ever.
// Now its headers and what fits of its body are dead-lettered, marked Natscoro-Truncated;
// one whose headers alone do not fit is terminated and counted.
BOOST_FIXTURE_TEST_CASE(failures_too_large_to_dead_letter_are_truncated_or_terminated, server_fixture) {
  run_async([&](auto ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    co_await fill(conn, 1, 1);
    nc::jetstream js{conn};
    nc::stream_config dlq_stream;  // an operator's DLQ with a small max_msg_size
    dlq_stream.name = "DLQ_EVENTS";
    dlq_stream.subjects = {"dlq.>"};
    dlq_stream.max_msg_size = 4096;
    co_await js.ensure_stream(dlq_stream);
    nc::publisher_options popts;
    popts.require_organization = false;
    nc::publisher pub{js, popts};
    const auto max_payload = static_cast<std::size_t>(conn.info().max_payload);
    const std::string near_max(max_payload - 200, 'x');  // fits alone, not with the DLQ's headers
    const std::string mid(10'000, 'y');                  // fits max_payload, not the DLQ stream
    const auto big = co_await pub.publish_raw(nc::raw_message{.subject = "auth.user.1.created", .data = near_max});
    const auto medium = co_await pub.publish_raw(nc::raw_message{.subject = "auth.user.2.created", .data = mid});
    co_await pub.publish_raw(nc::raw_message{
        .subject = "auth.user.3.created", .headers = {{"X-Huge", std::string(5000, 'h')}}, .data = "not json"});

    auto cons = co_await js.consumer("AUTH_EVENTS", durable("too-large"));
    nc::run_options opts;
    opts.dead_letter = dlq_options();
    opts.dead_letter->capture_max_deliveries = false;
    cons.run([](nc::message&) -> asio::awaitable<void> { co_return; }, opts, [](nc::error_code) {});
    stream_inspector inspect(server.url());
    BOOST_REQUIRE(co_await wait_until([&] {
      const auto& s = cons.run_stats();
      return s.dead_lettered + s.terminated == 3 && s.handled == 1;  // the first event of fill() is valid
    }));
    BOOST_TEST(cons.run_stats().dead_lettered == 2u);
    BOOST_TEST(cons.run_stats().terminated == 1u);
    BOOST_REQUIRE(co_await wait_until([&] {
      const auto state = inspect.consumer("AUTH_EVENTS", "too-large");
      return state && state->ack_pending == 0 && state->pending == 0;  // nothing goes round again
    }));
    nc::dead_letter_queue dlq{js, "DLQ_EVENTS"};
    const auto entries = co_await dlq.list(0, 10);
    BOOST_REQUIRE(entries.size() == 2u);
    std::map<std::uint64_t, const nc::dead_letter_entry*> by_original;
    for (const auto& e : entries) by_original[e.original_sequence] = &e;
    auto truncated_from = [](const nc::dead_letter_entry& e) {
      for (const auto& [k, v] : e.headers)
        if (k == "Natscoro-Truncated") return v;
      return std::string();
    };
    BOOST_REQUIRE(by_original.contains(big.sequence));
    BOOST_REQUIRE(by_original.contains(medium.sequence));
    BOOST_TEST(truncated_from(*by_original[big.sequence]) == std::to_string(near_max.size()));
    BOOST_TEST(truncated_from(*by_original[medium.sequence]) == std::to_string(mid.size()));
    BOOST_TEST(by_original[medium.sequence]->data.empty());  // the DLQ stream's limit is not known: no body
    BOOST_TEST(by_original[big.sequence]->error.find("invalid_event") == 0u);
    co_await cons.drain();
    co_await conn.drain();
  });
}

// Anyone who may publish advisories could forge one naming a message the consumer has
// handled; the mover checks the consumer's ack floor and leaves such a message alone.
BOOST_FIXTURE_TEST_CASE(a_forged_max_deliveries_advisory_moves_nothing, server_fixture) {
  run_async([&](auto ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    const auto stored = co_await fill(conn, 1, 3);
    nc::jetstream js{conn};
    auto cons = co_await js.consumer("AUTH_EVENTS", durable("forged"));
    nc::run_options opts;
    opts.dead_letter = dlq_options();
    int handled = 0;
    cons.run(
        [&](nc::message&) -> asio::awaitable<void> {
          ++handled;
          co_return;
        },
        opts, [](nc::error_code) {});
    stream_inspector inspect(server.url());
    BOOST_REQUIRE(co_await wait_until([&] {
      const auto state = inspect.consumer("AUTH_EVENTS", "forged");
      return handled == 3 && state && state->ack_pending == 0;
    }));
    BOOST_REQUIRE(co_await wait_until([&] { return inspect.stream("NATSCORO_MAX_DELIVERIES").has_value(); }));

    const auto seq = stored.at("0")[1];
    boost::json::object forged{{"type", "io.nats.jetstream.advisory.v1.max_deliver"},
                               {"stream", "AUTH_EVENTS"},
                               {"consumer", "forged"},
                               {"stream_seq", seq},
                               {"deliveries", 5}};
    nc::publisher_options popts;
    popts.require_organization = false;
    nc::publisher pub{js, popts};
    co_await pub.publish_raw(nc::raw_message{.subject = "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.AUTH_EVENTS.forged",
                                             .data = boost::json::serialize(forged)});
    BOOST_REQUIRE(co_await wait_until([&] {  // the mover has taken the advisory and settled it
      const auto state = inspect.consumer("NATSCORO_MAX_DELIVERIES", "natscoro_dlq_AUTH_EVENTS_forged");
      return state && state->pending == 0 && state->ack_pending == 0 &&
             inspect.stream("NATSCORO_MAX_DELIVERIES")->messages == 1;
    }));
    BOOST_TEST(cons.run_stats().moved_by_advisory == 0u);
    const auto dlq = inspect.stream("DLQ_EVENTS");
    BOOST_TEST((!dlq || dlq->messages == 0u));
    co_await cons.drain();
    co_await conn.drain();
  });
}

// kill -9 of an instance mid-stream, then a fresh one: with the consumer's
// max_ack_pending at 1 (docs/runner.md, "Ordering"), the server delivers nothing behind the
// message the dead instance held until that one comes back, so the first handling of
// every event is in stream order per key. (With a larger max_ack_pending the dead
// instance's messages come back after ack_wait, behind newer ones of their key.)
BOOST_FIXTURE_TEST_CASE(order_per_key_survives_a_crash_with_max_ack_pending_1, server_fixture) {
  constexpr int keys = 10, per_key = 20, total = keys * per_key;
  stored_by_key stored;
  run_async([&](auto ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    stored = co_await fill(conn, keys, per_key);
    co_await conn.drain();
  });
  stored_by_key first_handled;  // per key, the sequences in the order they were first handled
  std::set<std::uint64_t> seen;
  int lines = 0;
  auto follow = [&](child_process& child, int until) {
    while (static_cast<int>(seen.size()) < until) {
      const std::string line = child.read_line(60s);
      BOOST_REQUIRE_MESSAGE(!line.empty(), "the child stopped talking after " << seen.size() << " events");
      std::istringstream in(line);
      std::string word, key;
      std::uint64_t seq = 0;
      in >> word >> key >> seq;
      ++lines;
      if (seen.insert(seq).second) first_handled[key].push_back(seq);
    }
  };
  {
    child_process a({RUNNER_CHILD, server.url(), "AUTH_EVENTS", "strict", "strict"});
    follow(a, total / 3);
    a.kill();  // mid-stream, with a message delivered and perhaps not yet acknowledged
  }
  {
    child_process b({RUNNER_CHILD, server.url(), "AUTH_EVENTS", "strict", "strict"});
    follow(b, total);
    b.signal(SIGTERM);
    BOOST_TEST(b.wait() == 0);
  }
  BOOST_TEST_MESSAGE("handled " << seen.size() << " events in " << lines << " handlings across the crash");
  BOOST_TEST(seen.size() == static_cast<std::size_t>(total));
  for (const auto& [key, seqs] : stored) BOOST_TEST(first_handled[key] == seqs, "key " << key);
}

namespace {

// A server where user "noack" may do everything but acknowledge: every message its
// runner handles stays unacknowledged, as if it were killed after each handler
// succeeded and before the ack reached the server.
struct ack_denied_fixture {
  static server_config config() {
    server_config cfg;
    cfg.extra = R"(authorization { users = [
      { user: full, password: pw }
      { user: noack, password: pw, permissions: { publish: { deny: ["$JS.ACK.>"] } } }
    ] })";
    return cfg;
  }
  nats_server server{config()};
  std::string url_as(const std::string& user) const {
    return "nats://" + user + ":pw@127.0.0.1:" + std::to_string(server.port());
  }
};

struct kill_outcome {
  int handled_twice = 0;   ///< events whose handler ran more than once
  int handled_before = 0;  ///< distinct events handled by the first process
};

// 10,000 events; a first process (runner_child `mode`) that cannot acknowledge is
// killed -9 after 2,000 handler calls (within its ack_wait of 10 s, so that what
// it handled comes back only to the second process, even under sanitizers); a
// second one handles until the consumer has nothing pending or unacknowledged.
kill_outcome handled_twice_across_a_kill(const ack_denied_fixture& f, const std::string& mode) {
  constexpr int total = 10000;
  run_async([&](auto ex) -> asio::awaitable<void> {
    auto opts = options_for(f.server);
    opts.user = "full";
    opts.password = "pw";
    auto conn = co_await nc::connect(ex, opts);
    co_await fill(conn, 100, total / 100);
    co_await conn.drain();
  });
  std::map<std::string, int> times;
  auto count = [&](const std::string& line) {
    if (line.rfind("handled ", 0) != 0) return false;
    ++times[line.substr(8)];
    return true;
  };
  int first = 0;
  {
    child_process a({RUNNER_CHILD, f.url_as("noack"), "AUTH_EVENTS", "idempotent", mode});
    while (first < total / 5) {
      const auto line = a.read_line(60s);
      BOOST_REQUIRE_MESSAGE(!line.empty(), "the first process stopped after " << first << " handler calls");
      first += count(line);
    }
    a.kill();
    for (auto line = a.read_line(2s); !line.empty(); line = a.read_line(2s)) first += count(line);  // printed before
  }
  const int handled_before = static_cast<int>(times.size());
  int second = 0;
  {
    child_process b({RUNNER_CHILD, f.url_as("full"), "AUTH_EVENTS", "idempotent", mode});
    stream_inspector inspect(f.server.url(), "full", "pw");
    const auto deadline = std::chrono::steady_clock::now() + 180s;
    for (;;) {
      BOOST_REQUIRE_MESSAGE(std::chrono::steady_clock::now() < deadline, "the second process did not finish");
      const auto line = b.read_line(500ms);
      if (!line.empty()) {
        second += count(line);
        continue;
      }
      const auto c = inspect.consumer("AUTH_EVENTS", "idempotent");
      if (times.size() == static_cast<std::size_t>(total) && c && c->pending == 0 && c->ack_pending == 0) break;
    }
  }
  BOOST_TEST(times.size() == static_cast<std::size_t>(total));  // nothing lost either way
  const auto twice = std::count_if(times.begin(), times.end(), [](const auto& t) { return t.second > 1; });
  BOOST_TEST_MESSAGE(mode << ": handler calls " << first << " before the kill (" << handled_before << " events), "
                          << second << " after; " << twice << " of " << total << " events handled more than once");
  return {static_cast<int>(twice), handled_before};
}

}  // namespace

// Issue 14's figure: without the store every event handled before the kill runs again;
// with it, only those whose record had not been stored yet: at most the 16 handlers
// running at the kill.
BOOST_FIXTURE_TEST_CASE(without_the_processed_id_store_a_killed_consumer_handles_again, ack_denied_fixture) {
  const auto outcome = handled_twice_across_a_kill(*this, "norecord");
  BOOST_TEST(outcome.handled_before > 0);
  BOOST_TEST(outcome.handled_twice >= outcome.handled_before);  // every one of them, again
}

BOOST_FIXTURE_TEST_CASE(with_the_processed_id_store_recorded_events_are_not_handled_again, ack_denied_fixture) {
  const auto outcome = handled_twice_across_a_kill(*this, "record");
  BOOST_TEST(outcome.handled_before > 0);
  BOOST_TEST(outcome.handled_twice <= 16);
}

// message::attempt() counts the runner's retries in the key's lane, which the
// server does not see (num_delivered stays 1), and redeliveries, which it does.
BOOST_FIXTURE_TEST_CASE(handlers_know_their_attempt, server_fixture) {
  std::map<std::string, std::vector<std::pair<int, std::uint64_t>>> calls;  // key -> (attempt, num_delivered)
  run_async([&](auto ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    co_await fill(conn, 2, 1);  // keys "0" and "1"
    nc::jetstream js{conn};
    auto cons = co_await js.consumer("AUTH_EVENTS", durable("attempts"));
    nc::run_options opts;
    opts.retry = nc::retry_policy{3, {10ms, 10ms}};
    bool run_done = false;
    // Key "0" is retried in its lane (it has an ordering key); key "1" by redelivery (none).
    opts.ordering_key = [](const nc::message& m) { return subject_key(m) == "0" ? std::string("0") : std::string(); };
    cons.run(
        [&](nc::message& m) -> asio::awaitable<void> {
          calls[subject_key(m)].emplace_back(m.attempt(), m.metadata().num_delivered);
          if (m.attempt() < 3) throw std::runtime_error("not yet");
          co_return;
        },
        opts, [&](nc::error_code) { run_done = true; });
    BOOST_REQUIRE(co_await wait_until([&] { return cons.run_stats().handled == 2; }));
    co_await cons.drain();
    BOOST_REQUIRE(co_await wait_until([&] { return run_done; }));
    co_await conn.drain();
  });
  using calls_t = std::vector<std::pair<int, std::uint64_t>>;
  BOOST_TEST((calls["0"] == calls_t{{1, 1}, {2, 1}, {3, 1}}));
  BOOST_TEST((calls["1"] == calls_t{{1, 1}, {2, 2}, {3, 3}}));
}

// A trace started at the producer reaches the handler, and the handler's follow-up
// continues it: the same trace id, a new span, the causation chain.
BOOST_FIXTURE_TEST_CASE(a_trace_runs_from_publish_through_the_handler_into_its_follow_up, server_fixture) {
  run_async([&](auto ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    co_await fill(conn, 0, 0);  // the stream, empty
    nc::jetstream js{conn};
    nc::publisher_options popts;
    popts.source = "runner-test";
    nc::publisher pub{js, popts};
    auto placed = nc::event::make("user.created", "org-1");
    placed.start_trace();
    co_await pub.publish("auth.user.1.created", placed);

    auto cons = co_await js.consumer("AUTH_EVENTS", durable("traced"));
    std::string seen_trace;
    co_await cons.run(
        [&](nc::message& m) -> asio::awaitable<void> {
          const auto& cause = m.event();
          seen_trace = cause.extensions.at("traceparent");
          co_await pub.publish("auth.audit.1", cause.follow_up("user.audited"));
          cons.drain(5s, asio::detached);
        },
        nc::run_options{});
    BOOST_TEST(seen_trace == placed.extensions.at("traceparent"));  // unchanged into the handler

    nc::consumer_config audit;
    audit.durable = "audit-reader";
    audit.filter_subject = "auth.audit.>";
    auto reader = co_await js.consumer("AUTH_EVENTS", audit);
    auto m = co_await reader.next();
    BOOST_REQUIRE(m.has_value());
    const auto& follow = m->event();
    const auto parent = nc::detail::trace_parent::parse(placed.extensions.at("traceparent"));
    const auto child = nc::detail::trace_parent::parse(follow.extensions.at("traceparent"));
    BOOST_REQUIRE((parent && child));
    BOOST_TEST(child->trace_id == parent->trace_id);
    BOOST_TEST(child->parent_id != parent->parent_id);
    BOOST_TEST(follow.causationid.value() == placed.id);
    BOOST_TEST(follow.correlationid.value() == placed.id);
    m->ack();
    co_await conn.drain();
  });
}

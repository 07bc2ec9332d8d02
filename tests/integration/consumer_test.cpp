#define BOOST_TEST_MODULE natscoro consumer
#include <natscoro/natscoro.hpp>

#include "async_test.hpp"
#include "child_process.hpp"
#include "nats_server.hpp"
#include "stream_inspector.hpp"
#include "test_options.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <map>
#include <optional>
#include <set>

namespace nc = natscoro;
namespace asio = boost::asio;
using namespace natscoro::test;
using namespace std::chrono_literals;

namespace {

// Creates AUTH_EVENTS and stores `count` events "auth.user.<n>.created" with data {"n": n}.
asio::awaitable<void> fill_stream(nc::connection conn, int count, int first = 0) {
  nc::jetstream js{conn};
  nc::stream_config s;
  s.name = "AUTH_EVENTS";
  s.subjects = {"auth.>"};
  co_await js.ensure_stream(s);
  nc::publisher_options popts;
  popts.source = "test";
  nc::publisher pub{js, popts};
  for (int n = first; n < first + count; ++n)
    pub.publish("auth.user." + std::to_string(n) + ".created",
                nc::event::make("user.created", "org-1", boost::json::object{{"n", n}}), asio::detached);
  co_await pub.flush();
  BOOST_REQUIRE(pub.stats().acknowledged == pub.stats().published);
}

nc::consumer_config durable(const std::string& name) {
  nc::consumer_config cfg;
  cfg.durable = name;
  cfg.filter_subject = "auth.user.>";
  cfg.ack_wait = 30s;
  cfg.max_deliver = 5;
  return cfg;
}

int data_n(const nc::message& m) { return m.event().data_as<boost::json::object>().at("n").to_number<int>(); }

}  // namespace

// The usage from the consuming issue, as written there, over 10,000 events.
BOOST_FIXTURE_TEST_CASE(ten_thousand_events_are_consumed_exactly_once, server_fixture) {
  constexpr int total = 10000;
  std::vector<int> seen(total, 0);
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    co_await fill_stream(conn, total);
    nc::jetstream js{conn};

    nc::consumer_config cfg;
    cfg.durable = "analytics";
    cfg.filter_subject = "auth.user.>";
    cfg.ack_wait = std::chrono::seconds(30);
    cfg.max_deliver = 5;
    nc::consumer_options opts;
    opts.capacity = 256;  // most messages held, received but not handed out
    nc::consumer cons = co_await js.consumer("AUTH_EVENTS", cfg, opts);  // opts may be left out
    int handled = 0;
    while (std::optional<nc::message> msg = co_await cons.next()) {
      nc::event evt = msg->event();                      // decoded CloudEvent
      const nc::message_metadata& md = msg->metadata();  // md.stream_sequence, md.consumer_sequence,
      BOOST_REQUIRE(md.num_delivered == 1u);             // md.num_delivered, md.num_pending, md.timestamp
      BOOST_REQUIRE(md.stream_sequence == static_cast<std::uint64_t>(handled + 1));
      ++seen.at(static_cast<std::size_t>(evt.data_as<boost::json::object>().at("n").to_number<int>()));
      msg->ack();  // written now, no wait; also nak(), nak(delay), term(), in_progress(); co_await ack_sync()
      msg->ack();  // twice is harmless
      if (++handled == total) break;
      BOOST_REQUIRE(cons.stats().held <= opts.capacity);
    }
    BOOST_TEST(cons.stats().delivered == static_cast<std::uint64_t>(total));
    co_await cons.drain();
    BOOST_TEST(!(co_await cons.next()).has_value());  // drained: empty optional
    co_await conn.drain();
  });
  BOOST_TEST(std::count(seen.begin(), seen.end(), 1) == total);
  stream_inspector inspect(server.url());
  const auto c = inspect.consumer("AUTH_EVENTS", "analytics");
  BOOST_REQUIRE(c);  // the durable outlives the client
  BOOST_TEST(c->ack_pending == 0u);
  BOOST_TEST(c->pending == 0u);
}

// ack, nak, term and in_progress are written at once and complete without a
// suspension (as nats.go's Ack() does); what the server makes of them shows in
// its consumer state. One that cannot be written says so and leaves the message
// unsettled.
BOOST_FIXTURE_TEST_CASE(acks_are_written_at_once_and_say_when_they_cannot_be, server_fixture) {
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    co_await fill_stream(conn, 4);
    nc::jetstream js{conn};
    auto cons = co_await js.consumer("AUTH_EVENTS", durable("settling"));
    std::map<std::uint64_t, nc::message> first;
    while (first.size() < 4) {
      auto m = co_await cons.next();
      first.emplace(m->metadata().stream_sequence, *m);
    }
    first.at(1).ack();
    first.at(1).ack();  // twice is harmless
    BOOST_TEST(first.at(1).acknowledged());
    first.at(2).nak();
    first.at(3).in_progress();
    first.at(3).in_progress();  // any number of times, and it stays open
    BOOST_TEST(!first.at(3).acknowledged());
    first.at(3).ack();
    first.at(4).term();
    auto again = co_await cons.next();  // the nak'ed one, at once
    BOOST_TEST(again->metadata().stream_sequence == 2u);
    BOOST_TEST(again->metadata().num_delivered == 2u);
    nc::error_code ec;
    again->ack(ec);
    BOOST_TEST(!ec);
    // The acks reach the server with nats.c's next flush; it applies them on its own time.
    nc::consumer_info info = co_await js.consumer_info("AUTH_EVENTS", "settling");
    asio::steady_timer pause(ex);
    for (int i = 0; i < 200 && info.num_ack_pending > 0; ++i) {
      pause.expires_after(10ms);
      co_await pause.async_wait(asio::use_awaitable);
      info = co_await js.consumer_info("AUTH_EVENTS", "settling");
    }
    BOOST_TEST(info.num_ack_pending == 0u);
    BOOST_TEST(info.ack_floor_stream_sequence == 4u);
    BOOST_TEST(info.num_redelivered == 0u);  // all settled: none is waiting to be redelivered

    co_await fill_stream(conn, 1, 4);
    auto last = co_await cons.next();
    BOOST_REQUIRE(last);
    co_await conn.drain();  // closed when it completes
    last->nak(0ns, ec);
    BOOST_TEST(ec == nc::errc::not_connected);
    try {
      last->ack();
      BOOST_TEST(false, "ack on a closed connection did not throw");
    } catch (const nc::error& e) {
      BOOST_TEST(e.code() == nc::errc::not_connected);
      BOOST_TEST(std::string(e.what()).find("ack of message 5 on auth.user.4.created") != std::string::npos, e.what());
    }
    BOOST_TEST(!last->acknowledged());  // not sent: the server redelivers it after ack_wait
  });
}

// next_batch() hands out what is held in one completion, in stream order and
// never more than asked; with nothing held it waits for the next delivery; after
// drain() it completes empty.
BOOST_FIXTURE_TEST_CASE(next_batch_hands_out_what_is_held_in_order, server_fixture) {
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    co_await fill_stream(conn, 1000);
    nc::jetstream js{conn};
    nc::consumer_options opts;
    opts.capacity = 200;
    auto cons = co_await js.consumer("AUTH_EVENTS", durable("batches"), opts);
    std::uint64_t last = 0;
    std::size_t largest = 0, batches = 0;
    while (last < 1000) {
      auto batch = co_await cons.next_batch(64);
      BOOST_REQUIRE(!batch.empty());
      BOOST_TEST(batch.size() <= 64u);
      largest = std::max(largest, batch.size());
      ++batches;
      for (auto& m : batch) {
        BOOST_TEST(m.metadata().stream_sequence == last + 1);  // in order, none missing, none twice
        last = m.metadata().stream_sequence;
        m.ack();
      }
    }
    BOOST_TEST(largest > 1u);  // 1,000 messages did not take 1,000 completions
    BOOST_TEST(batches < 1000u);

    // Nothing held: it waits for the next message published.
    asio::steady_timer later(ex, 50ms);
    later.async_wait(
        [conn](nc::error_code) { asio::co_spawn(conn.get_executor(), fill_stream(conn, 1, 1000), asio::detached); });
    auto waited = co_await cons.next_batch(64);
    BOOST_REQUIRE(waited.size() == 1u);
    BOOST_TEST(waited.front().metadata().stream_sequence == 1001u);
    waited.front().ack();

    co_await cons.drain();
    BOOST_TEST((co_await cons.next_batch(64)).empty());
    co_await conn.drain();
  });
}

BOOST_FIXTURE_TEST_CASE(a_crash_before_ack_means_redelivery, server_fixture) {
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    co_await fill_stream(conn, 10);
    nc::jetstream js{conn};
    auto cfg = durable("crashy");
    cfg.ack_wait = 2s;  // the child binds with the same configuration
    cfg.filter_subject.clear();
    cfg.max_deliver = -1;
    co_await js.consumer("AUTH_EVENTS", cfg);  // create it

    {
      child_process child({CONSUMER_CHILD, server.url(), "AUTH_EVENTS", "crashy", "3", "hold"});
      BOOST_REQUIRE(child.read_line() == "held 3");
      child.kill();  // -9 before any ack
    }
    auto cons = co_await js.consumer("AUTH_EVENTS", cfg);
    std::set<std::uint64_t> redelivered;
    for (int i = 0; i < 10; ++i) {
      auto m = co_await cons.next();
      BOOST_REQUIRE(m);
      if (m->metadata().num_delivered == 2u) redelivered.insert(m->metadata().stream_sequence);
      m->ack();
    }
    // The three it held come again (what it had prefetched besides may too).
    for (std::uint64_t seq : {1u, 2u, 3u}) BOOST_TEST(redelivered.count(seq) == 1u, "sequence " << seq);
    co_await conn.drain();
  });
}

BOOST_FIXTURE_TEST_CASE(a_durable_resumes_after_the_last_acked_message_in_a_new_process, server_fixture) {
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    co_await fill_stream(conn, 10);
    nc::jetstream js{conn};
    auto cfg = durable("resumer");
    cfg.ack_wait = 2s;
    cfg.filter_subject.clear();
    cfg.max_deliver = -1;
    co_await js.consumer("AUTH_EVENTS", cfg);
    {
      child_process child({CONSUMER_CHILD, server.url(), "AUTH_EVENTS", "resumer", "4", "ack"});
      BOOST_REQUIRE(child.read_line() == "acked 4");
      BOOST_REQUIRE(child.wait() == 0);
    }
    auto cons = co_await js.consumer("AUTH_EVENTS", cfg);
    auto m = co_await cons.next();
    BOOST_REQUIRE(m);
    BOOST_TEST(m->metadata().stream_sequence == 5u);  // right after the last acknowledged one
    // The child had prefetched 5 and its drain gave it back (nak), which the server counts as a delivery.
    BOOST_TEST(m->metadata().num_delivered <= 2u);
    co_await conn.drain();
  });
}

BOOST_FIXTURE_TEST_CASE(an_expired_ack_wait_redelivers_to_another_instance, server_fixture) {
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    co_await fill_stream(conn, 1);
    nc::jetstream js{conn};
    auto cfg = durable("slow");
    cfg.ack_wait = 1s;
    nc::consumer_options one;
    one.capacity = 1;
    auto a = co_await js.consumer("AUTH_EVENTS", cfg, one);
    auto b = co_await js.consumer("AUTH_EVENTS", cfg, one);
    auto first = co_await a.next();  // taken, never acknowledged
    BOOST_REQUIRE(first);
    a.stop();
    auto again = co_await b.next();
    BOOST_REQUIRE(again);
    BOOST_TEST(again->metadata().stream_sequence == first->metadata().stream_sequence);
    BOOST_TEST(again->metadata().num_delivered == 2u);
    co_await again->ack_sync();
    co_await conn.drain();
  });
}

BOOST_FIXTURE_TEST_CASE(a_consumer_group_shares_the_messages, server_fixture) {
  constexpr int total = 10000;
  std::map<std::uint64_t, int> acked;  // stream sequence -> times acknowledged
  int by_instance[2] = {0, 0};
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    co_await fill_stream(conn, total);
    nc::jetstream js{conn};
    nc::consumer_options opts;
    opts.capacity = 64;
    auto a = co_await js.consumer("AUTH_EVENTS", durable("group"), opts);
    auto b = co_await js.consumer("AUTH_EVENTS", durable("group"), opts);
    int done = 0;
    auto run = [&](nc::consumer c, int index) -> asio::awaitable<void> {
      while (auto m = co_await c.next()) {
        ++acked[m->metadata().stream_sequence];
        ++by_instance[index];
        m->ack();
        if (static_cast<int>(acked.size()) == total) {
          a.stop();
          b.stop();
        }
      }
      ++done;
    };
    asio::co_spawn(ex, run(a, 0), asio::detached);
    asio::co_spawn(ex, run(b, 1), asio::detached);
    BOOST_REQUIRE(co_await wait_until([&] { return done == 2; }, 120s));
    co_await conn.drain();
  });
  BOOST_TEST(acked.size() == static_cast<std::size_t>(total));
  BOOST_TEST(std::all_of(acked.begin(), acked.end(), [](const auto& kv) { return kv.second == 1; }));
  BOOST_TEST(by_instance[0] > total / 4, by_instance[0]);
  BOOST_TEST(by_instance[1] > total / 4, by_instance[1]);
}

BOOST_FIXTURE_TEST_CASE(capacity_bounds_what_the_server_has_delivered, server_fixture) {
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    co_await fill_stream(conn, 500);
    nc::jetstream js{conn};
    nc::consumer_options opts;
    opts.capacity = 16;
    auto cons = co_await js.consumer("AUTH_EVENTS", durable("bounded"), opts);
    std::vector<nc::message> kept;  // held by the caller, never acknowledged
    stream_inspector inspect(server.url());
    for (int i = 0; i < 40; ++i) {
      auto m = co_await cons.next();
      BOOST_REQUIRE(m);
      kept.push_back(*m);
      const auto c = inspect.consumer("AUTH_EVENTS", "bounded");
      BOOST_REQUIRE(c);
      BOOST_REQUIRE_LE(c->ack_pending, 16u + kept.size());
      BOOST_REQUIRE_LE(cons.stats().held, 16u);
    }
    co_await conn.drain();
  });
}

BOOST_FIXTURE_TEST_CASE(a_waiting_consumer_survives_a_server_kill, server_fixture) {
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    co_await fill_stream(conn, 1);
    nc::jetstream js{conn};
    nc::consumer_options opts;
    opts.idle_heartbeat = 1s;
    opts.pull_expiry = 10s;
    auto cons = co_await js.consumer("AUTH_EVENTS", durable("survivor"), opts);
    auto first = co_await cons.next();
    BOOST_REQUIRE(first);
    co_await first->ack_sync();

    std::optional<nc::message> got;
    bool waiting = true;
    asio::co_spawn(
        ex,
        [&]() -> asio::awaitable<void> {
          got = co_await cons.next();
          waiting = false;
        },
        asio::detached);
    BOOST_REQUIRE(co_await wait_until([&] { return cons.stats().outstanding > 0; }));
    server.restart_after_kill();
    BOOST_REQUIRE(co_await wait_until([&] { return conn.is_connected(); }));
    co_await fill_stream(conn, 1, 1);  // published after the restart
    const auto published = std::chrono::steady_clock::now();
    BOOST_REQUIRE(co_await wait_until([&] { return !waiting; }, 15s));
    BOOST_REQUIRE(got);
    BOOST_TEST(data_n(*got) == 1);
    BOOST_TEST_MESSAGE(
        "received "
        << std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - published).count()
        << " ms after the publish");
    co_await conn.drain();
  });
}

BOOST_FIXTURE_TEST_CASE(replay_by_sequence_and_by_time_returns_exactly_the_range, server_fixture) {
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    co_await fill_stream(conn, 20);
    stream_inspector inspect(server.url());
    const auto boundary = std::chrono::system_clock::now();
    co_await fill_stream(conn, 10, 20);
    nc::jetstream js{conn};

    auto cfg = durable("replay-seq");
    cfg.deliver = nc::deliver_policy::by_start_sequence;
    cfg.start_sequence = 15;
    auto by_seq = co_await js.consumer("AUTH_EVENTS", cfg);
    for (int expected = 14; expected < 30; ++expected) {
      auto m = co_await by_seq.next();
      BOOST_REQUIRE(m);
      BOOST_REQUIRE(data_n(*m) == expected);
      BOOST_REQUIRE(m->metadata().num_pending == static_cast<std::uint64_t>(29 - expected));
      m->ack();
    }

    auto tcfg = durable("replay-time");
    tcfg.deliver = nc::deliver_policy::by_start_time;
    tcfg.start_time = boundary;
    auto by_time = co_await js.consumer("AUTH_EVENTS", tcfg);
    for (int expected = 20; expected < 30; ++expected) {
      auto m = co_await by_time.next();
      BOOST_REQUIRE(m);
      BOOST_REQUIRE(data_n(*m) == expected);
      m->ack();
    }
    BOOST_TEST(by_time.stats().delivered == 10u);
    co_await conn.drain();
  });
}

BOOST_FIXTURE_TEST_CASE(a_deleted_stream_ends_next_with_a_clear_error, server_fixture) {
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    co_await fill_stream(conn, 1);
    nc::jetstream js{conn};
    nc::consumer_options opts;
    opts.idle_heartbeat = 1s;
    auto cons = co_await js.consumer("AUTH_EVENTS", durable("orphan"), opts);
    auto m = co_await cons.next();
    BOOST_REQUIRE(m);
    m->ack();
    stream_inspector inspect(server.url());
    BOOST_REQUIRE(inspect.delete_stream("AUTH_EVENTS"));
    auto [ec, none] = co_await cons.next(asio::as_tuple(asio::deferred));
    BOOST_TEST((ec == nc::jetstream_errc::consumer_not_found || ec == nc::jetstream_errc::stream_not_found),
               ec.message());
    BOOST_TEST(!none.has_value());
    co_await conn.drain();
  });
}

BOOST_FIXTURE_TEST_CASE(a_different_existing_configuration_is_refused_with_the_fields, server_fixture) {
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    co_await fill_stream(conn, 1);
    nc::jetstream js{conn};
    co_await js.consumer("AUTH_EVENTS", durable("strict"));
    auto changed = durable("strict");
    changed.max_deliver = 9;
    // The differing fields travel with the error: thrown with the default token...
    try {
      co_await js.consumer("AUTH_EVENTS", changed);
      BOOST_FAIL("a different configuration was accepted");
    } catch (const nc::error& e) {
      BOOST_TEST(e.code() == nc::errc::config_mismatch);
      BOOST_TEST(e.detail().find("max_deliver: server 5, wanted 9") != std::string::npos, e.detail());
      BOOST_TEST(std::string(e.what()).find("max_deliver") != std::string::npos, e.what());
    }
    // ...or handed over with any other token.
    nc::diagnostics diag;
    auto [ec, c] =
        co_await js.consumer("AUTH_EVENTS", changed, nc::with_diagnostics(diag, asio::as_tuple(asio::deferred)));
    BOOST_TEST(ec == nc::errc::config_mismatch, ec.message());
    BOOST_TEST(diag.message.find("max_deliver: server 5, wanted 9") != std::string::npos, diag.message);
    nc::consumer_options update;
    update.update = true;
    auto updated = co_await js.consumer("AUTH_EVENTS", changed, update);
    auto [ec2, c2] = co_await js.consumer("AUTH_EVENTS", changed, asio::as_tuple(asio::deferred));
    BOOST_TEST(!ec2, ec2.message());  // now the same
    auto [ec3, c3] =
        co_await js.consumer("NO_SUCH_STREAM", changed, nc::with_diagnostics(diag, asio::as_tuple(asio::deferred)));
    BOOST_TEST(ec3 == nc::jetstream_errc::stream_not_found, ec3.message());
    BOOST_TEST(diag.message.find("consumer info for NO_SUCH_STREAM/strict") != std::string::npos, diag.message);
    BOOST_TEST(diag.message.find("stream not found") != std::string::npos, diag.message);
    // Callbacks too; and a refusal before sending says what was refused.
    nc::publisher pub{js, nc::publisher_options{.source = "test"}};
    bool called = false;
    pub.publish("auth..x", nc::event::make("user.created", "org-1"),
                nc::with_diagnostics(diag, [&](nc::error_code e, nc::pub_ack) {
                  called = true;
                  BOOST_TEST(e == nc::errc::invalid_subject);
                }));
    BOOST_REQUIRE(co_await wait_until([&] { return called; }));
    BOOST_TEST(diag.message.find("\"auth..x\" is not a subject one can publish to") != std::string::npos, diag.message);
    try {
      co_await js.stream_info("NO_SUCH_STREAM");
      BOOST_FAIL("a missing stream was found");
    } catch (const nc::error& e) {
      BOOST_TEST(e.code() == nc::jetstream_errc::stream_not_found);
      BOOST_TEST(e.detail().find("stream info NO_SUCH_STREAM failed") != std::string::npos, e.detail());
      BOOST_TEST(e.detail().find("JetStream error 10059") != std::string::npos, e.detail());
    }
    co_await conn.drain();
  });
}

BOOST_FIXTURE_TEST_CASE(a_cancelled_next_loses_no_message, server_fixture) {
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    co_await fill_stream(conn, 0);
    nc::jetstream js{conn};
    auto cons = co_await js.consumer("AUTH_EVENTS", durable("patient"));
    asio::cancellation_signal cancel;
    nc::error_code result;
    cons.next(asio::bind_cancellation_slot(cancel.slot(), [&](nc::error_code ec, std::optional<nc::message> m) {
      result = ec;
      BOOST_TEST(!m.has_value());
    }));
    cancel.emit(asio::cancellation_type::terminal);
    BOOST_REQUIRE(co_await wait_until([&] { return result == asio::error::operation_aborted; }));
    co_await fill_stream(conn, 1);  // arrives for the pull the cancelled call started
    auto m = co_await cons.next();
    BOOST_REQUIRE(m);
    BOOST_TEST(m->metadata().num_delivered == 1u);
    co_await conn.drain();
  });
}

BOOST_FIXTURE_TEST_CASE(drain_gives_held_messages_to_another_instance_at_once, server_fixture) {
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    co_await fill_stream(conn, 10);
    nc::jetstream js{conn};
    auto cfg = durable("handover");
    cfg.ack_wait = 60s;  // a redelivery within the test can only come from the drain's nak
    // Capacity 9 of 10 messages: A's pulls are exactly filled (9, then 1 after the first
    // is handed out), so no pull of A's is still queued in the server when it drains.
    // (nats-server 2.9 registers pull requests asynchronously; one registered after the
    // drain's naks can take a given-back message to the closed inbox, where it waits out
    // ack_wait: rare, and never a loss.)
    nc::consumer_options nine;
    nine.capacity = 9;
    auto a = co_await js.consumer("AUTH_EVENTS", cfg, nine);
    auto first = co_await a.next();
    BOOST_REQUIRE(first);
    first->ack();
    BOOST_REQUIRE(co_await wait_until([&] { return a.stats().held == 9u && a.stats().outstanding == 0u; }));
    co_await a.drain();
    BOOST_TEST(!(co_await a.next()).has_value());

    const auto handed_over = std::chrono::steady_clock::now();
    nc::consumer_options ten;
    ten.capacity = 10;
    auto b = co_await js.consumer("AUTH_EVENTS", cfg, ten);
    std::set<std::uint64_t> received;
    // At-least-once: nats-server 2.9 may hand out the last given-back message twice
    // (a nak of the last delivered message both rewinds the consumer and queues a redelivery).
    for (int i = 0; i < 20 && received.size() < 9; ++i) {
      auto m = co_await b.next();
      BOOST_REQUIRE(m);
      received.insert(m->metadata().stream_sequence);
      m->ack();
    }
    BOOST_TEST((received == std::set<std::uint64_t>{2, 3, 4, 5, 6, 7, 8, 9, 10}));
    // At once, not after ack_wait (60 s).
    BOOST_TEST((std::chrono::steady_clock::now() - handed_over < 30s));
    co_await conn.drain();
  });
}

BOOST_FIXTURE_TEST_CASE(bad_names_and_options_are_refused_before_any_request, server_fixture) {
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    co_await fill_stream(conn, 1);
    nc::jetstream js{conn};

    nc::stream_config bad_stream;
    bad_stream.name = "AUTH.EVENTS";  // a dot is not allowed in a stream name
    bad_stream.subjects = {"x.>"};
    auto [ec1, r1] = co_await js.ensure_stream(bad_stream, asio::as_tuple(asio::deferred));
    BOOST_TEST(ec1 == nc::errc::invalid_argument, ec1.message());

    auto [ec2, c2] = co_await js.consumer("AUTH EVENTS", durable("ok"), asio::as_tuple(asio::deferred));
    BOOST_TEST(ec2 == nc::errc::invalid_argument, ec2.message());

    auto [ec3, c3] = co_await js.consumer("AUTH_EVENTS", durable("bad.name"), asio::as_tuple(asio::deferred));
    BOOST_TEST(ec3 == nc::errc::invalid_argument, ec3.message());

    nc::consumer_options none;
    none.capacity = 0;
    auto [ec4, c4] = co_await js.consumer("AUTH_EVENTS", durable("ok"), none, asio::as_tuple(asio::deferred));
    BOOST_TEST(ec4 == nc::errc::invalid_argument, ec4.message());

    // An empty durable name is not silently an ephemeral consumer; ephemeral_consumer() takes no name.
    auto [ec5, c5] = co_await js.consumer("AUTH_EVENTS", durable(""), asio::as_tuple(asio::deferred));
    BOOST_TEST(ec5 == nc::errc::invalid_argument, ec5.message());
    auto [ec6, c6] = co_await js.ephemeral_consumer("AUTH_EVENTS", durable("ok"), {}, asio::as_tuple(asio::deferred));
    BOOST_TEST(ec6 == nc::errc::invalid_argument, ec6.message());
    BOOST_TEST((co_await js.list_consumers("AUTH_EVENTS")).empty());

    // Nothing was created by the refused calls.
    stream_inspector inspect(server.url());
    BOOST_TEST(!inspect.consumer("AUTH_EVENTS", "ok").has_value());
    co_await conn.drain();
  });
}

// run() honours terminal and partial cancellation (it drains and completes with
// operation_aborted) and ignores total: handled messages cannot be unhandled.
BOOST_FIXTURE_TEST_CASE(run_honours_partial_cancellation_and_ignores_total, server_fixture) {
  run_async([&](auto ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    co_await fill_stream(conn, 3);
    nc::jetstream js{conn};
    auto c = co_await js.consumer("AUTH_EVENTS", durable("cancelled-run"));
    int handled = 0;
    bool done = false;
    nc::error_code result;
    asio::cancellation_signal cancel;
    c.run(
        [&](nc::message&) -> asio::awaitable<void> {
          ++handled;
          co_return;
        },
        {}, asio::bind_cancellation_slot(cancel.slot(), [&](nc::error_code ec) {
          result = ec;
          done = true;
        }));
    BOOST_TEST(co_await wait_until([&] { return handled == 3; }));
    cancel.emit(asio::cancellation_type::total);
    co_await fill_stream(conn, 1, 3);  // still running: it handles what comes after
    BOOST_TEST(co_await wait_until([&] { return handled == 4; }));
    BOOST_TEST(!done);
    cancel.emit(asio::cancellation_type::partial);
    BOOST_TEST(co_await wait_until([&] { return done; }));
    BOOST_TEST(result == asio::error::operation_aborted);
    BOOST_TEST(c.run_stats().handled == 4u);
    co_await conn.drain();
  });
}

// A JetStream request cannot be unsent: total cancellation is ignored (the reply
// completes it), terminal completes it at once with operation_aborted.
BOOST_FIXTURE_TEST_CASE(jetstream_requests_honour_terminal_cancellation_only, server_fixture) {
  run_async([&](auto ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    co_await fill_stream(conn, 1);
    nc::jetstream js{conn};
    std::optional<nc::error_code> info_result, delete_result;
    asio::cancellation_signal total, terminal;
    js.list_streams(asio::bind_cancellation_slot(total.slot(), [&](nc::error_code ec, std::vector<std::string>) {
      info_result = ec;  // succeeds before or after the delete below
    }));
    total.emit(asio::cancellation_type::total | asio::cancellation_type::partial);
    js.delete_stream("AUTH_EVENTS",
                     asio::bind_cancellation_slot(terminal.slot(), [&](nc::error_code ec) { delete_result = ec; }));
    terminal.emit(asio::cancellation_type::terminal);
    BOOST_TEST(co_await wait_until([&] { return info_result && delete_result; }));
    BOOST_TEST(!*info_result);  // answered
    BOOST_TEST(*delete_result == asio::error::operation_aborted);
    // The delete was sent all the same: the caller only stopped waiting.
    BOOST_TEST(
        co_await wait_until([&] { return stream_inspector(server.url()).stream("AUTH_EVENTS") == std::nullopt; }));
    co_await conn.drain();
  });
}

// A consumer's drain followed at once by the connection's: nats.c 3.4.1 would
// drain the subscription twice and free it twice (subscription_drains.hpp).
// Before the connection waited for subscription drains, 13 of 20 runs of
// examples/03_consume.cpp, which does this, crashed.
BOOST_FIXTURE_TEST_CASE(a_connection_drained_while_its_consumer_drains_closes_cleanly, server_fixture) {
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    {
      auto conn = co_await nc::connect(ex, options_for(server));
      co_await fill_stream(conn, 50);
      co_await conn.drain();
    }
    for (int round = 0; round < 20; ++round) {
      auto conn = co_await nc::connect(ex, options_for(server));
      nc::jetstream js{conn};
      nc::consumer cons = co_await js.consumer("AUTH_EVENTS", durable("overlap-" + std::to_string(round)));
      auto msg = co_await cons.next();
      BOOST_REQUIRE(msg.has_value());
      msg->ack();
      cons.drain(asio::detached);
      BOOST_REQUIRE(!(co_await cons.next()).has_value());  // at once: the drain goes on meanwhile
      co_await conn.drain();
      BOOST_TEST((conn.status() == nc::connection_status::closed));
    }
  });
}

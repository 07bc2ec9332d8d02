#define BOOST_TEST_MODULE natscoro publisher
#include <natscoro/detail/envelope_codec.hpp>
#include <natscoro/natscoro.hpp>

#include "async_test.hpp"
#include "nats_server.hpp"
#include "stream_inspector.hpp"
#include "test_options.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/detached.hpp>
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <set>

namespace nc = natscoro;
namespace asio = boost::asio;
using namespace natscoro::test;
using namespace std::chrono_literals;

namespace {

nc::stream_config auth_stream() {
  nc::stream_config s;
  s.name = "AUTH_EVENTS";
  s.subjects = {"auth.>"};
  return s;
}

nc::publisher_options auth_publisher() {
  nc::publisher_options p;
  p.source = "auth-service";
  p.subject_prefix = "auth";
  return p;
}

std::int64_t server_in_msgs(const nats_server& server) {
  return boost::json::parse(server.monitor("/varz")).at("in_msgs").as_int64();
}

}  // namespace

// The usage from the publishing issue, as written there.
BOOST_FIXTURE_TEST_CASE(the_documented_usage_works, server_fixture) {
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    const std::string url = server.url();
    nc::connect_options copts;
    copts.servers = {url};
    nc::connection conn = co_await nc::connect(ex, copts);
    nc::jetstream js{conn};
    nc::stream_config scfg;
    scfg.name = "AUTH_EVENTS";
    scfg.subjects = {"auth.>"};
    BOOST_TEST((co_await js.ensure_stream(scfg) == nc::ensure_result::created));
    BOOST_TEST((co_await js.ensure_stream(scfg) == nc::ensure_result::unchanged));
    nc::publisher_options popts;
    popts.source = "auth-service";
    popts.subject_prefix = "auth";
    nc::publisher pub{js, popts};
    nc::event evt = nc::event::make("user.created", "org-42", boost::json::object{{"user_id", 7}});
    nc::pub_ack ack = co_await pub.publish(evt);  // subject "auth.user.created"
    BOOST_TEST((ack.stream == "AUTH_EVENTS" && ack.sequence > 0 && !ack.duplicate));
    nc::pub_ack again = co_await pub.publish(evt);  // same event id: deduplicated
    BOOST_TEST((again.duplicate && again.sequence == ack.sequence));
    nc::event login = nc::event::make("audit.login", "org-42", boost::json::object{{"user_id", 7}});
    auto [ec, ack2] = co_await pub.publish("auth.audit.login", login, asio::as_tuple(asio::deferred));
    BOOST_TEST(!ec);
    BOOST_TEST(ack2.sequence == ack.sequence + 1);
    co_await pub.flush();  // every publish in flight has completed

    const auto stats = pub.stats();
    BOOST_TEST(stats.published == 3u);
    BOOST_TEST(stats.acknowledged == 3u);
    BOOST_TEST(stats.duplicates == 1u);
    BOOST_TEST(stats.failed == 0u);
    BOOST_TEST(stats.in_flight == 0u);
    co_await conn.drain();
  });
  stream_inspector inspect(server.url());
  BOOST_TEST(inspect.stream("AUTH_EVENTS")->messages == 2u);  // the duplicate was stored once
}

BOOST_FIXTURE_TEST_CASE(the_stored_message_is_exactly_what_was_sent, server_fixture) {
  std::vector<nc::event> sent;
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    nc::jetstream js{conn};
    co_await js.ensure_stream(auth_stream());
    for (auto encoding : {nc::event_encoding::structured, nc::event_encoding::binary}) {
      auto popts = auth_publisher();
      popts.encoding = encoding;
      nc::publisher pub{js, popts};
      auto e = nc::event::make("user.renamed", "org-7", boost::json::object{{"name", "Zoë \"Z\" 100%"}});
      e.correlationid = "corr 1";
      e.start_trace();  // the W3C traceparent travels in both encodings
      co_await pub.publish(e);
      e.source = "auth-service";  // what the publisher filled in
      sent.push_back(e);
    }
    co_await conn.drain();
  });
  stream_inspector inspect(server.url());
  for (std::uint64_t seq = 1; seq <= 2; ++seq) {
    auto stored = inspect.message("AUTH_EVENTS", seq);
    BOOST_REQUIRE(stored);
    const auto& e = sent[seq - 1];
    BOOST_TEST(stored->subject == "auth.user.renamed");
    BOOST_TEST(stored->header("Nats-Msg-Id") == e.id);
    nc::event back;
    std::string detail;
    BOOST_TEST(!nc::detail::decode_event(stored->headers, stored->data, back, detail), detail);
    BOOST_TEST((back == e));
    const auto expected =
        nc::detail::encode_event(e, seq == 1 ? nc::event_encoding::structured : nc::event_encoding::binary);
    BOOST_TEST(stored->data == expected.body);
    for (const auto& [k, v] : expected.headers) BOOST_TEST(stored->header(k) == v, k);
  }
}

BOOST_FIXTURE_TEST_CASE(ten_thousand_publishes_survive_a_server_kill, server_fixture) {
  constexpr int producers = 10, per_producer = 1000, total = producers * per_producer;
  std::set<std::string> published_ids;
  int acked = 0, failed = 0;
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    nc::jetstream js{conn};
    co_await js.ensure_stream(auth_stream());
    nc::publisher pub{js, auth_publisher()};
    int finished = 0;
    std::size_t most_in_flight = 0;
    // Each coroutine starts its 1,000 publishes at once: the window (2,048) fills, the rest wait.
    for (int p = 0; p < producers; ++p) {
      asio::co_spawn(
          ex,
          [&, p]() -> asio::awaitable<void> {
            for (int i = 0; i < per_producer; ++i) {
              auto e = nc::event::make("order.placed", "org-1", boost::json::object{{"producer", p}, {"n", i}});
              published_ids.insert(e.id);
              pub.publish(e, [&](nc::error_code ec, nc::pub_ack) {
                if (ec)
                  ++failed;
                else
                  ++acked;
                most_in_flight = std::max(most_in_flight, pub.stats().in_flight);
              });
            }
            co_await pub.flush();
            ++finished;
          },
          asio::detached);
    }
    BOOST_REQUIRE(co_await wait_until([&] { return acked >= total / 5; }, 60s));
    BOOST_TEST(pub.stats().in_flight + pub.stats().waiting > 0u);  // the kill hits publishes in flight
    server.restart_after_kill();                                   // mid-stream, with publishes in flight
    BOOST_REQUIRE(co_await wait_until([&] { return finished == producers; }, 120s));
    co_await pub.flush();
    BOOST_TEST_MESSAGE("retried attempts: " << pub.stats().retried << ", duplicates: " << pub.stats().duplicates
                                            << ", most in flight: " << most_in_flight);
    BOOST_TEST(most_in_flight <= auth_publisher().max_in_flight);
    co_await conn.drain();
  });
  BOOST_TEST(acked == total);
  BOOST_TEST(failed == 0);
  BOOST_TEST(published_ids.size() == static_cast<std::size_t>(total));

  stream_inspector inspect(server.url());
  const auto state = inspect.stream("AUTH_EVENTS");
  BOOST_REQUIRE(state);
  BOOST_TEST(state->messages == static_cast<std::uint64_t>(total));
  BOOST_TEST(state->first_sequence == 1u);
  BOOST_TEST(state->last_sequence == static_cast<std::uint64_t>(total));  // no gap
  std::set<std::string> stored_ids;
  for (std::uint64_t seq = 1; seq <= state->last_sequence; ++seq) {
    auto m = inspect.message("AUTH_EVENTS", seq);
    BOOST_REQUIRE(m);
    stored_ids.insert(m->header("Nats-Msg-Id"));
  }
  BOOST_TEST((stored_ids == published_ids));
}

BOOST_FIXTURE_TEST_CASE(a_full_window_makes_publishers_wait, server_fixture) {
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    nc::jetstream js{conn};
    co_await js.ensure_stream(auth_stream());
    auto popts = auth_publisher();
    popts.max_in_flight = 8;
    popts.ack_timeout = 60s;  // nothing times out while the server is down
    nc::publisher pub{js, popts};

    server.kill();
    int completed = 0, ok = 0;
    std::size_t most_in_flight = 0;
    asio::cancellation_signal cancel_first, cancel_last;
    nc::error_code last_result;
    for (int i = 0; i < 10; ++i) {
      auto e = nc::event::make("user.created", "org-1", boost::json::object{{"n", i}});
      auto on_done = [&](nc::error_code ec, nc::pub_ack) {
        ++completed;
        ok += !ec;
        most_in_flight = std::max(most_in_flight, pub.stats().in_flight);
      };
      if (i == 0)
        pub.publish(e, asio::bind_cancellation_slot(cancel_first.slot(), on_done));
      else if (i < 9)
        pub.publish(e, on_done);
      else
        pub.publish(e, asio::bind_cancellation_slot(cancel_last.slot(),
                                                    [&](nc::error_code ec, nc::pub_ack) { last_result = ec; }));
    }
    BOOST_TEST(pub.stats().in_flight == 8u);
    BOOST_TEST(pub.stats().waiting == 2u);  // the 9th and 10th wait, neither failed nor buffered
    BOOST_TEST(completed == 0);
    // A waiting publish honours total cancellation: it has had no effect, and never will.
    cancel_last.emit(asio::cancellation_type::total);
    BOOST_TEST(co_await wait_until([&] { return last_result == asio::error::operation_aborted; }));
    // A sent one cannot be made unsent: total is ignored, it goes on to its PubAck.
    cancel_first.emit(asio::cancellation_type::total);

    server.start();
    BOOST_TEST(co_await wait_until([&] { return completed == 9; }, 30s));
    BOOST_TEST(ok == 9);
    BOOST_TEST(most_in_flight <= 8u);

    // Terminal cancellation of a sent publish: the caller stops waiting; the stream stores it all the same.
    asio::cancellation_signal cancel_sent;
    bool sent_done = false;
    nc::error_code sent_result;
    pub.publish(nc::event::make("user.created", "org-1"),
                asio::bind_cancellation_slot(cancel_sent.slot(), [&](nc::error_code ec, nc::pub_ack) {
                  sent_result = ec;
                  sent_done = true;
                }));
    cancel_sent.emit(asio::cancellation_type::terminal);
    BOOST_TEST(co_await wait_until([&] { return sent_done; }));
    BOOST_TEST(sent_result == asio::error::operation_aborted);
    co_await pub.flush();  // its PubAck still comes
    co_await conn.drain();
  });
  stream_inspector inspect(server.url());
  BOOST_TEST(inspect.stream("AUTH_EVENTS")->messages == 10u);  // the abandoned one was never sent; the last one was
}

// A subject template puts the entity key in a token of its own, where the
// runner's key_by_subject_token and partition() mappings find it. A key that
// cannot be one token is refused before anything is sent.
BOOST_FIXTURE_TEST_CASE(a_subject_template_puts_the_key_in_its_own_token, server_fixture) {
  std::string stored_subject, refusal;
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    nc::jetstream js{conn};
    co_await js.ensure_stream(auth_stream());
    auto popts = auth_publisher();
    popts.subject_template = "auth.{subject}.{type}";
    nc::publisher pub{js, popts};
    auto evt = nc::event::make("user.created", "org-42");
    evt.subject = "user-7";
    const auto ack = co_await pub.publish(evt);
    BOOST_TEST(ack.stream == "AUTH_EVENTS");
    stored_subject = stream_inspector(server.url()).message("AUTH_EVENTS", ack.sequence)->subject;

    auto dotted = nc::event::make("user.created", "org-42");
    dotted.subject = "user.7";
    const auto before = server_in_msgs(server);
    try {
      co_await pub.publish(dotted);
    } catch (const nc::error& e) {
      BOOST_TEST(e.code() == nc::errc::invalid_subject);
      refusal = e.what();
    }
    BOOST_TEST(server_in_msgs(server) == before);  // nothing sent
    co_await conn.drain();
  });
  BOOST_TEST(stored_subject == "auth.user-7.user.created");
  BOOST_TEST(refusal.find("{subject}") != std::string::npos, refusal);
}

// A pipelining producer (callbacks, no co_await per publish) stays inside the window
// by awaiting wait_for_room(): nothing piles up in the waiting queue.
BOOST_FIXTURE_TEST_CASE(wait_for_room_keeps_a_pipelining_producer_inside_the_window, server_fixture) {
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    nc::jetstream js{conn};
    co_await js.ensure_stream(auth_stream());
    auto popts = auth_publisher();
    popts.max_in_flight = 8;
    popts.ack_timeout = 60s;
    auto pub = std::make_unique<nc::publisher>(js, popts);

    server.pause();  // no PubAck until resumed
    int started = 0, acknowledged = 0;
    bool producer_done = false;
    std::size_t most_waiting = 0;
    asio::co_spawn(
        ex,
        [&]() -> asio::awaitable<void> {
          for (int i = 0; i < 20; ++i) {
            if (!pub->has_room()) co_await pub->wait_for_room();
            most_waiting = std::max(most_waiting, pub->stats().waiting);
            pub->publish(nc::event::make("user.created", "org-1", boost::json::object{{"n", i}}),
                         [&](nc::error_code ec, nc::pub_ack) { acknowledged += !ec; });
            ++started;
          }
          producer_done = true;
        },
        asio::detached);
    BOOST_TEST(co_await wait_until([&] { return started == 8; }));
    BOOST_TEST(pub->stats().in_flight == 8u);
    BOOST_TEST(pub->stats().waiting == 0u);
    BOOST_TEST(!pub->has_room());

    // A cancelled wait completes with operation_aborted and takes no place.
    asio::cancellation_signal cancel;
    nc::error_code cancelled_result;
    pub->wait_for_room(asio::bind_cancellation_slot(cancel.slot(), [&](nc::error_code ec) { cancelled_result = ec; }));
    cancel.emit(asio::cancellation_type::terminal);
    BOOST_TEST(co_await wait_until([&] { return cancelled_result == asio::error::operation_aborted; }));
    BOOST_TEST(started == 8);  // still waiting: no PubAck yet

    server.resume();
    BOOST_TEST(co_await wait_until([&] { return producer_done && acknowledged == 20; }, 30s));
    BOOST_TEST(most_waiting == 0u);

    // A wait on a full window ends with errc::closing when the publisher goes.
    server.pause();
    for (int i = 0; i < 8; ++i)
      pub->publish(nc::event::make("user.created", "org-1", boost::json::object{{"n", 20 + i}}), asio::detached);
    nc::error_code closing_result;
    pub->wait_for_room([&](nc::error_code ec) { closing_result = ec; });
    pub.reset();
    BOOST_TEST(co_await wait_until([&] { return closing_result == nc::errc::closing; }));
    server.resume();
    co_await conn.drain();
  });
  stream_inspector inspect(server.url());
  BOOST_TEST(inspect.stream("AUTH_EVENTS")->messages == 28u);  // sent before the publisher went
}

BOOST_FIXTURE_TEST_CASE(a_subject_without_stream_fails_after_the_retries, server_fixture) {
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    nc::jetstream js{conn};
    auto popts = auth_publisher();
    popts.retry = nc::retry_policy{3, {20ms}};
    nc::publisher pub{js, popts};
    auto [ec, ack] = co_await pub.publish("nowhere.user.created", nc::event::make("user.created", "org-1"),
                                          asio::as_tuple(asio::deferred));
    BOOST_TEST(ec == nc::errc::no_stream, ec.message());
    BOOST_TEST(pub.stats().retried == 2u);
    BOOST_TEST(pub.stats().failed == 1u);
    co_await conn.drain();
  });
}

BOOST_FIXTURE_TEST_CASE(bad_input_fails_at_once_with_a_clear_error, server_fixture) {
  const auto before = server_in_msgs(server);
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    nc::jetstream js{conn};
    nc::publisher pub{js, auth_publisher()};

    auto big = nc::event::make("user.created", "org-1", boost::json::object{{"blob", std::string(1100 * 1024, 'x')}});
    auto [ec1, a1] = co_await pub.publish(big, asio::as_tuple(asio::deferred));
    BOOST_TEST(ec1 == nc::errc::payload_too_large, ec1.message());

    auto no_tenant = nc::event::make("user.created", "");
    auto [ec2, a2] = co_await pub.publish(no_tenant, asio::as_tuple(asio::deferred));
    BOOST_TEST(ec2 == nc::errc::invalid_event, ec2.message());

    auto [ec3, a3] = co_await pub.publish("auth.bad subject", nc::event::make("user.created", "org-1"),
                                          asio::as_tuple(asio::deferred));
    BOOST_TEST(ec3 == nc::errc::invalid_subject, ec3.message());

    // Awaited without as_tuple, the refusal throws natscoro::error naming the problem.
    try {
      co_await pub.publish(no_tenant);
      BOOST_FAIL("an invalid event was published");
    } catch (const nc::error& e) {
      BOOST_TEST(e.code() == nc::errc::invalid_event);
      BOOST_TEST(std::string(e.what()).find("'organizationid'") != std::string::npos, e.what());
    }
    try {
      co_await pub.publish(big);
      BOOST_FAIL("an oversized event was published");
    } catch (const nc::error& e) {
      BOOST_TEST(e.code() == nc::errc::payload_too_large);
      BOOST_TEST(std::string(e.what()).find("1048576") != std::string::npos, e.what());
    }
    BOOST_TEST(pub.stats().failed == 5u);
    BOOST_TEST(pub.stats().in_flight == 0u);
    co_await conn.drain();
  });
  BOOST_TEST(server_in_msgs(server) == before);  // nothing reached the server
}

BOOST_AUTO_TEST_CASE(a_publish_permission_denial_is_reported_as_such) {
  server_config cfg;
  cfg.extra = R"(authorization {
    users = [
      { user: admin, password: admin }
      { user: limited, password: limited, permissions: { publish: { deny: ["auth.secret.>"] } } }
    ]
  })";
  nats_server server(cfg);
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto opts = options_for(server);
    opts.user = "limited";
    opts.password = "limited";
    auto conn = co_await nc::connect(ex, opts);
    nc::jetstream js{conn};
    co_await js.ensure_stream(auth_stream());
    nc::publisher pub{js, auth_publisher()};
    const auto start = std::chrono::steady_clock::now();
    auto [ec, ack] = co_await pub.publish(nc::event::make("secret.rotated", "org-1"), asio::as_tuple(asio::deferred));
    BOOST_TEST(ec == nc::nats_errc::not_permitted, ec.message());
    BOOST_TEST((std::chrono::steady_clock::now() - start < auth_publisher().ack_timeout));  // not a timeout
    auto ok = co_await pub.publish(nc::event::make("user.created", "org-1"));
    BOOST_TEST(ok.sequence == 1u);
    co_await conn.drain();
  });
}

BOOST_FIXTURE_TEST_CASE(a_failed_expectation_has_its_own_error, server_fixture) {
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    nc::jetstream js{conn};
    co_await js.ensure_stream(auth_stream());
    nc::publisher pub{js, auth_publisher()};
    auto first = co_await pub.publish(nc::event::make("account.opened", "org-1"));

    nc::publish_expectations expect;
    expect.last_sequence = first.sequence + 5;
    auto [ec, ack] =
        co_await pub.publish("", nc::event::make("account.credited", "org-1"), expect, asio::as_tuple(asio::deferred));
    BOOST_TEST(ec == nc::jetstream_errc::wrong_last_sequence, ec.message());

    expect.last_sequence = first.sequence;
    expect.stream = "AUTH_EVENTS";
    auto second = co_await pub.publish("", nc::event::make("account.credited", "org-1"), expect);
    BOOST_TEST(second.sequence == first.sequence + 1);

    nc::publish_expectations wrong_stream;
    wrong_stream.stream = "OTHER";
    auto [ec2, ack2] = co_await pub.publish("", nc::event::make("account.credited", "org-1"), wrong_stream,
                                            asio::as_tuple(asio::deferred));
    BOOST_TEST(ec2 == nc::jetstream_errc::stream_not_match, ec2.message());
    co_await conn.drain();
  });
}

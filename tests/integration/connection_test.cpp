#define BOOST_TEST_MODULE natscoro connection
#include <natscoro/natscoro.hpp>

#include "async_test.hpp"
#include "log_capture.hpp"
#include "nats_server.hpp"
#include "test_options.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <optional>

#include <thread>

namespace nc = natscoro;
namespace asio = boost::asio;
using namespace natscoro::test;
using connection_event_kind = nc::connection_event_kind;

namespace {

std::int64_t server_connections(const nats_server& server) {
  return boost::json::parse(server.monitor("/connz")).at("num_connections").as_int64();
}

// The server notices a closed client socket a moment after the client closed it.
bool server_sees_connections(const nats_server& server, std::int64_t expected) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (server_connections(server) != expected) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}
}  // namespace

BOOST_FIXTURE_TEST_CASE(connects_reports_server_info_and_drains, server_fixture) {
  event_log log;
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto opts = options_for(server);
    opts.on_event = log.recorder();
    nc::connection conn = co_await nc::connect(ex, opts);
    BOOST_TEST(conn.is_connected());
    const nc::server_info info = conn.info();
    BOOST_TEST(info.connected_url == server.url());
    BOOST_TEST(!info.server_id.empty());
    BOOST_TEST(info.max_payload == 1024 * 1024);
    BOOST_TEST(info.headers);
    BOOST_TEST(server_connections(server) == 1);

    co_await conn.drain();
    BOOST_TEST((conn.status() == nc::connection_status::closed));
    BOOST_TEST(log.count(connection_event_kind::closed) == 1u);
    BOOST_TEST(!log.events.back().error);
    co_await conn.drain();  // draining a closed connection succeeds at once
  });
  BOOST_TEST(server_sees_connections(server, 0));
}

BOOST_AUTO_TEST_CASE(a_dead_port_fails_fast_as_server_unreachable) {
  const int port = free_port();
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    nc::connect_options opts;
    opts.servers = {"nats://127.0.0.1:" + std::to_string(port)};
    const auto start = std::chrono::steady_clock::now();
    auto [ec, conn] = co_await nc::connect(ex, opts, asio::as_tuple(asio::deferred));
    BOOST_TEST(ec == nc::nats_errc::no_server, ec.message());
    BOOST_TEST(!conn);
    BOOST_TEST(ec.message().find("unreachable") != std::string::npos);
    // Refused at once, not after a timeout (a hang would be a bug, not slowness).
    BOOST_TEST((std::chrono::steady_clock::now() - start < opts.connect_timeout));
  });
}

BOOST_AUTO_TEST_CASE(a_malformed_url_is_a_clear_error) {
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    nc::connect_options opts;
    opts.servers = {"nats://127.0.0.1:notaport"};
    auto [ec, conn] = co_await nc::connect(ex, opts, asio::as_tuple(asio::deferred));
    BOOST_TEST(ec == nc::errc::invalid_url, ec.message());
    // The examples, each refused before nats.c sees it, the problem named in the exception.
    for (const auto& [url, problem] :
         std::vector<std::pair<std::string, std::string>>{{"foo://bar", "the scheme \"foo\" is not nats:// or tls://"},
                                                          {"not a url", "has a space or a control character"},
                                                          {"nats://:4222", "has no host"}}) {
      opts.servers = {url};
      try {
        co_await nc::connect(ex, opts);
        BOOST_FAIL(url << " was accepted");
      } catch (const nc::error& e) {
        BOOST_TEST(e.code() == nc::errc::invalid_url, url);
        BOOST_TEST(e.detail().find(problem) != std::string::npos, e.detail());
      }
    }
  });
}

BOOST_AUTO_TEST_CASE(connect_throws_when_awaited_without_as_tuple) {
  const int port = free_port();
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    nc::connect_options opts;
    opts.servers = {"nats://127.0.0.1:" + std::to_string(port)};
    try {
      co_await nc::connect(ex, opts);
      BOOST_FAIL("connect to a dead port succeeded");
    } catch (const boost::system::system_error& e) {
      BOOST_TEST(e.code() == nc::nats_errc::no_server);
    }
  });
}

BOOST_AUTO_TEST_CASE(a_wrong_password_is_refused_as_authorization_failure) {
  server_config cfg;
  cfg.extra = "authorization { user: alice, password: s3cret }";
  nats_server server(cfg);
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto opts = options_for(server);
    opts.user = "alice";
    opts.password = "wrong";
    auto [ec, conn] = co_await nc::connect(ex, opts, asio::as_tuple(asio::deferred));
    BOOST_TEST(ec == nc::nats_errc::authorization_failed, ec.message());

    opts.password = "s3cret";
    auto good = co_await nc::connect(ex, opts);
    BOOST_TEST(good.is_connected());
    co_await good.drain();
  });
}

BOOST_FIXTURE_TEST_CASE(survives_a_server_kill_and_restart_on_the_same_port, server_fixture) {
  event_log log;
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto opts = options_for(server);
    opts.on_event = log.recorder();
    auto conn = co_await nc::connect(ex, opts);

    server.restart_after_kill();
    BOOST_REQUIRE(co_await wait_until([&] { return log.count(connection_event_kind::reconnected) == 1; }));
    BOOST_TEST(log.first(connection_event_kind::disconnected) < log.first(connection_event_kind::reconnected));
    BOOST_TEST(conn.is_connected());
    BOOST_TEST(server_connections(server) == 1);
    co_await conn.drain();
  });
}

BOOST_AUTO_TEST_CASE(a_cancelled_connect_completes_with_operation_aborted) {
  nats_server server;
  asio::io_context ioc;
  asio::cancellation_signal cancel;
  nc::error_code result;
  bool have_connection = true;
  const auto opts = options_for(server);
  // A paused server cannot finish the handshake: the cancellation always comes first.
  server.pause();
  asio::post(ioc, [&] {
    nc::connect(ioc.get_executor(), opts,
                asio::bind_cancellation_slot(cancel.slot(), [&](nc::error_code ec, nc::connection conn) {
                  result = ec;
                  have_connection = static_cast<bool>(conn);
                }));
    cancel.emit(asio::cancellation_type::terminal);
    server.resume();  // the abandoned attempt now connects, and is closed
  });
  ioc.run();  // returns once the abandoned attempt is over and anything it opened is closed
  BOOST_TEST(result == asio::error::operation_aborted);
  BOOST_TEST(!have_connection);
  BOOST_TEST(server_sees_connections(server, 0));
}

BOOST_FIXTURE_TEST_CASE(dropping_the_last_handle_closes_without_blocking, server_fixture) {
  event_log log;
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto opts = options_for(server);
    opts.on_event = log.recorder();
    {
      auto conn = co_await nc::connect(ex, opts);
      auto copy = conn;  // handles are shared
      BOOST_TEST(copy.is_connected());
    }
    BOOST_TEST(co_await wait_until([&] { return log.count(connection_event_kind::closed) == 1; }));
  });
  BOOST_TEST(server_sees_connections(server, 0));
}

// Passwords in server URLs never reach a log line, connection_info or a connection
// event: connecting, reconnecting and failing all name the server as "alice:***@...".
BOOST_AUTO_TEST_CASE(credentials_in_urls_never_reach_a_log_line) {
  server_config cfg;
  cfg.extra = "authorization { user: alice, password: s3cret }";
  nats_server server(cfg);
  log_capture captured;
  event_log events;
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto opts = options_for(server);
    opts.servers = {"nats://alice:s3cret@127.0.0.1:" + std::to_string(server.port())};
    opts.on_event = events.recorder();
    auto conn = co_await nc::connect(ex, opts);
    BOOST_TEST(conn.info().connected_url == "nats://alice:***@127.0.0.1:" + std::to_string(server.port()));
    server.restart_after_kill();
    BOOST_REQUIRE(co_await wait_until([&] { return events.count(connection_event_kind::reconnected) == 1; }));
    for (const auto& ev : events.events) BOOST_TEST(ev.server_url.find("s3cret") == std::string::npos);

    auto wrong = opts;
    wrong.servers = {"nats://alice:wr0ng-pw@127.0.0.1:" + std::to_string(server.port())};
    wrong.reconnect.allowed = false;
    auto [ec, failed] = co_await nc::connect(ex, wrong, asio::as_tuple(asio::deferred));
    BOOST_TEST(ec == nc::nats_errc::authorization_failed, ec.message());
    co_await conn.drain();
  });
  const std::string log = captured.text();
  BOOST_TEST(log.find("s3cret") == std::string::npos, log);
  BOOST_TEST(log.find("wr0ng-pw") == std::string::npos, log);
  BOOST_TEST(log.find("reconnected to nats://alice:***@127.0.0.1") != std::string::npos, log);
  BOOST_TEST(log.find("connect to nats://alice:***@127.0.0.1") != std::string::npos, log);  // the failure
}

// Degraded start: with no server, connect() still gives a connection (connecting);
// a publisher made on it holds its events (its window bounds them) until a server
// appears, then every one is stored.
BOOST_AUTO_TEST_CASE(a_degraded_start_publishes_once_a_server_appears) {
  const int port = free_port();
  event_log log;
  std::optional<nats_server> server;
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    nc::connect_options opts;
    opts.servers = {"nats://127.0.0.1:" + std::to_string(port)};
    opts.retry_on_failed_connect = true;
    opts.reconnect.wait = std::chrono::milliseconds(100);
    opts.on_event = log.recorder();
    auto conn = co_await nc::connect(ex, opts);  // nothing listens: completes all the same
    BOOST_TEST((conn.status() == nc::connection_status::connecting));

    nc::jetstream js{conn};
    nc::publisher_options popts;
    popts.source = "degraded";
    popts.max_in_flight = 64;
    popts.ack_timeout = std::chrono::milliseconds(500);
    popts.retry = nc::retry_policy{40, {std::chrono::milliseconds(100), std::chrono::milliseconds(250)}};
    nc::publisher pub{js, popts};
    int acked = 0, failed = 0;
    for (int i = 0; i < 100; ++i) {
      if (!pub.has_room()) break;  // the window is full: a producer waits here (wait_for_room)
      pub.publish("degraded.event", nc::event::make("started", "org-1"),
                  [&](nc::error_code ec, nc::pub_ack) { ec ? ++failed : ++acked; });
    }
    BOOST_TEST(pub.stats().in_flight + pub.stats().waiting == 64u);  // bounded by the window
    asio::steady_timer still(ex, std::chrono::milliseconds(300));
    co_await still.async_wait(asio::deferred);
    BOOST_TEST(acked + failed == 0);  // nothing completes without a server

    server.emplace(server_config{}, port);
    BOOST_REQUIRE(co_await wait_until([&] { return log.count(connection_event_kind::connected) == 1; }));
    BOOST_TEST(conn.is_connected());
    nc::stream_config s;
    s.name = "DEGRADED";
    s.subjects = {"degraded.>"};
    co_await js.ensure_stream(s);  // the publishes retry (no responders) until it exists
    BOOST_REQUIRE(co_await wait_until([&] { return acked + failed == 64; }, std::chrono::seconds(30)));
    BOOST_TEST(acked == 64);
    BOOST_TEST((co_await js.stream_info("DEGRADED")).state.messages == 64u);
    co_await conn.drain();
  });
}

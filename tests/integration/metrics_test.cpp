// The Prometheus exposition of real objects after real traffic: the figures match
// what happened, promtool (Debian's prometheus) accepts the text, and scraping from
// another thread during the traffic is safe (ctest label threads: CI's TSan runs it).
#define BOOST_TEST_MODULE natscoro metrics
#include <natscoro/natscoro.hpp>

#include "async_test.hpp"
#include "nats_server.hpp"
#include "test_options.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/detached.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

namespace nc = natscoro;
namespace asio = boost::asio;
using namespace natscoro::test;
using namespace std::chrono_literals;

namespace {

// Runs `promtool check metrics` on `text`; returns its exit status and what it said.
std::pair<int, std::string> promtool_check(const temp_dir& dir, const std::string& text) {
  const auto file = dir.path() / "metrics.txt";
  std::ofstream(file) << text;
  const std::string command = "promtool check metrics < " + file.string() + " 2>&1";
  FILE* p = ::popen(command.c_str(), "r");
  BOOST_REQUIRE(p != nullptr);
  std::string said;
  char buffer[512];
  while (std::fgets(buffer, sizeof buffer, p) != nullptr) said += buffer;
  const int status = ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, said};
}

// The value of the sample whose line starts with `series` (name and labels), or -1.
double sample(const std::string& text, const std::string& series) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  return -1;
}

namespace http = boost::beast::http;

// One HTTP request to `endpoint`, as a scraper makes it.
asio::awaitable<http::response<http::string_body>> get(asio::ip::tcp::endpoint endpoint, http::verb method,
                                                       std::string target) {
  boost::beast::tcp_stream stream(co_await asio::this_coro::executor);
  stream.expires_after(10s);
  co_await stream.async_connect(endpoint, asio::use_awaitable);
  http::request<http::string_body> req{method, target, 11};
  req.set(http::field::host, "127.0.0.1");
  co_await http::async_write(stream, req, asio::use_awaitable);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> res;
  co_await http::async_read(stream, buffer, res, asio::use_awaitable);
  co_return res;
}

}  // namespace

BOOST_FIXTURE_TEST_CASE(the_exposition_counts_what_happened_and_promtool_accepts_it, server_fixture) {
  constexpr int events = 200;
  std::string text;
  temp_dir dir;
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto conn = co_await nc::connect(ex, options_for(server));
    nc::jetstream js{conn};
    nc::stream_config scfg;
    scfg.name = "ORDERS";
    scfg.subjects = {"orders.>"};
    co_await js.ensure_stream(scfg);
    nc::publisher_options popts;
    popts.source = "metrics-test";
    nc::publisher pub{js, popts};
    nc::consumer_config ccfg;
    ccfg.durable = "billing";
    auto cons = co_await js.consumer("ORDERS", ccfg);

    nc::metrics m;
    m.add("main", conn);
    m.add("orders \"eu\"\n", pub);  // a label value that needs escaping
    m.add("billing", cons);

    // Scraped from another thread while the traffic goes on, as an HTTP endpoint on a pool would.
    std::atomic<bool> scraping{true};
    std::size_t scrapes = 0;
    std::thread scraper([&] {
      while (scraping) {
        BOOST_TEST(!m.exposition().empty());
        ++scrapes;
      }
    });
    for (int i = 0; i < events; ++i)
      co_await pub.publish("orders." + std::to_string(i % 10), nc::event::make("order.placed", "org-1"));
    int handled = 0;
    co_await cons.run(
        [&](nc::message&) -> asio::awaitable<void> {
          if (++handled == events) cons.drain(5s, asio::detached);
          co_return;
        },
        nc::run_options{});
    scraping = false;
    scraper.join();
    BOOST_TEST(scrapes > 0u);
    text = m.exposition();
    co_await conn.drain();
  });
  BOOST_TEST_MESSAGE(text);

  const auto [status, said] = promtool_check(dir, text);
  BOOST_TEST(status == 0, "promtool check metrics: " << said);
  const std::string pub = R"({publisher="orders \"eu\"\n"})";
  BOOST_TEST(sample(text, "natscoro_publisher_published_total" + pub) == events);
  BOOST_TEST(sample(text, "natscoro_publisher_acknowledged_total" + pub) == events);
  BOOST_TEST(sample(text, "natscoro_publisher_failed_total" + pub) == 0);
  BOOST_TEST(sample(text, "natscoro_publisher_ack_latency_seconds_count" + pub) == events);
  BOOST_TEST(
      sample(text, "natscoro_publisher_ack_latency_seconds_bucket{publisher=\"orders \\\"eu\\\"\\n\",le=\"+Inf\"}") ==
      events);
  BOOST_TEST(sample(text, "natscoro_publisher_ack_latency_seconds_sum" + pub) > 0);
  const std::string cons = R"({consumer="billing",stream="ORDERS",durable="billing"})";
  BOOST_TEST(sample(text, "natscoro_consumer_delivered_total" + cons) == events);
  BOOST_TEST(sample(text, "natscoro_consumer_pending_messages" + cons) == 0);  // caught up
  BOOST_TEST(sample(text, "natscoro_runner_handled_total" + cons) == events);
  BOOST_TEST(sample(text, "natscoro_runner_stream_to_handled_seconds_count" + cons) == events);
  BOOST_TEST(sample(text, "natscoro_runner_dead_letter_queue_messages" + cons) == 0);  // no DLQ (runner_test: sizes)
  BOOST_TEST(sample(text, "natscoro_connection_connected{connection=\"main\"}") == 1);

  // Objects that are gone are no longer reported.
  nc::metrics empty;
  BOOST_TEST(empty.exposition().empty());
}

// /metrics and /healthz over HTTP: the exposition with its content type, and a
// health that turns to 503 with the reason once the server is gone.
BOOST_FIXTURE_TEST_CASE(metrics_and_health_are_served_over_http, server_fixture) {
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    auto copts = options_for(server);
    copts.reconnect.wait = 100ms;
    auto conn = co_await nc::connect(ex, copts);
    nc::jetstream js{conn};
    auto m = std::make_shared<nc::metrics>();
    m->add("main", conn);
    nc::health_options health;
    health.probe = js;
    nc::metrics_server endpoint(ex, m, {asio::ip::make_address("127.0.0.1"), 0}, health);
    const auto at = endpoint.local_endpoint();
    BOOST_TEST(at.port() != 0);

    auto res = co_await get(at, http::verb::get, "/metrics");
    BOOST_TEST(res.result_int() == 200);
    BOOST_TEST(res[http::field::content_type] == "text/plain; version=0.0.4; charset=utf-8");
    BOOST_TEST(res.body().find("natscoro_connection_connected{connection=\"main\"} 1\n") != std::string::npos);
    res = co_await get(at, http::verb::get, "/healthz");
    BOOST_TEST(res.result_int() == 200);
    BOOST_TEST(res.body() == "ok\n");
    res = co_await get(at, http::verb::get, "/other");
    BOOST_TEST(res.result_int() == 404);
    res = co_await get(at, http::verb::post, "/metrics");
    BOOST_TEST(res.result_int() == 405);

    server.kill();
    BOOST_TEST(co_await wait_until([&] { return !conn.is_connected(); }));
    res = co_await get(at, http::verb::get, "/healthz");
    BOOST_TEST(res.result_int() == 503);
    BOOST_TEST(res.body().find("connection main has no link to a server (reconnecting)") != std::string::npos,
               res.body());
    BOOST_TEST(res.body().find("JetStream does not answer") != std::string::npos, res.body());
    res = co_await get(at, http::verb::get, "/metrics");  // still served
    BOOST_TEST(res.body().find("natscoro_connection_connected{connection=\"main\"} 0\n") != std::string::npos);

    server.start();
    BOOST_TEST(co_await wait_until([&] { return conn.is_connected(); }));
    res = co_await get(at, http::verb::get, "/healthz");
    BOOST_TEST(res.result_int() == 200, res.body());
    endpoint.stop();
    co_await conn.drain();
  });
}

// A port that is taken is said so when the server is made, not later.
BOOST_AUTO_TEST_CASE(a_taken_port_is_refused_with_the_reason) {
  asio::io_context ioc;
  auto m = std::make_shared<nc::metrics>();
  nc::metrics_server first(ioc.get_executor(), m, {asio::ip::make_address("127.0.0.1"), 0}, {});
  const auto taken = first.local_endpoint();
  try {
    nc::metrics_server second(ioc.get_executor(), m, taken, {});
    BOOST_FAIL("a second server listened on " << taken);
  } catch (const boost::system::system_error& e) {
    BOOST_TEST(e.code() == asio::error::address_in_use, e.code().message());
  }
  first.stop();
  ioc.run();
}

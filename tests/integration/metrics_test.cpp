// The Prometheus exposition of real objects after real traffic: the figures match
// what happened, and promtool (Debian's prometheus) accepts the text.
#define BOOST_TEST_MODULE natscoro metrics
#include <natscoro/natscoro.hpp>

#include "async_test.hpp"
#include "nats_server.hpp"
#include "test_options.hpp"

#include <boost/asio/detached.hpp>
#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <fstream>
#include <sstream>

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

    for (int i = 0; i < events; ++i)
      co_await pub.publish("orders." + std::to_string(i % 10), nc::event::make("order.placed", "org-1"));
    int handled = 0;
    co_await cons.run(
        [&](nc::message&) -> asio::awaitable<void> {
          if (++handled == events) cons.drain(5s, asio::detached);
          co_return;
        },
        nc::run_options{});
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
  BOOST_TEST(sample(text, "natscoro_connection_connected{connection=\"main\"}") == 1);

  // Objects that are gone are no longer reported.
  nc::metrics empty;
  BOOST_TEST(empty.exposition().empty());
}

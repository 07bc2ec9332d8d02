#define BOOST_TEST_MODULE natscoro threading
// Handles used from many threads at once, on one connection (docs/threading.md).
// The CI runs this under ThreadSanitizer.
#include <natscoro/natscoro.hpp>

#include "nats_server.hpp"
#include "stream_inspector.hpp"
#include "test_options.hpp"

#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace nc = natscoro;
namespace asio = boost::asio;
using namespace natscoro::test;
using namespace std::chrono_literals;

namespace {

constexpr int publishing_threads = 8;
constexpr int acking_threads = 4;
constexpr int orders_per_thread = 250;
constexpr std::uint64_t orders = publishing_threads * orders_per_thread;

/// Polls `condition` every 10 ms until it holds or `limit` passes; returns whether it holds.
bool eventually(const std::function<bool()>& condition, std::chrono::seconds limit = 60s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

nc::stream_config stream(std::string name, std::string subjects) {
  nc::stream_config s;
  s.name = std::move(name);
  s.subjects = {std::move(subjects)};
  return s;
}

nc::consumer_config durable(std::string name) {
  nc::consumer_config c;
  c.durable = std::move(name);
  return c;
}

}  // namespace

// The scenario: 8 threads publish (half awaiting each PubAck through a
// future, half pipelining with callbacks and waiting for room), 4 threads take
// messages with next() and ack or nak them, and a runner's handlers on a thread
// pool publish a follow-up per order; one connection, one publisher, no hop
// written by the caller. Nothing is lost and every count is exact.
BOOST_FIXTURE_TEST_CASE(publish_ack_and_nak_from_many_threads_on_one_connection, server_fixture) {
  asio::thread_pool service(2);   // the connection's executor: its state lives on a strand of it
  asio::thread_pool handlers(4);  // where the runner's handlers run
  auto conn = nc::connect(service.get_executor(), options_for(server), asio::use_future).get();
  nc::jetstream js{conn};
  js.ensure_stream(stream("ORDERS", "orders.>"), asio::use_future).get();
  js.ensure_stream(stream("FOLLOWUPS", "followups.>"), asio::use_future).get();
  nc::publisher_options popts;
  popts.source = "orders-service";
  popts.max_in_flight = 64;  // small: the pipelining threads wait for room
  nc::publisher pub{js, popts};
  auto manual = js.consumer("ORDERS", durable("manual"), asio::use_future).get();
  auto automatic = js.consumer("ORDERS", durable("automatic"), asio::use_future).get();

  // The runner: each handler, on the `handlers` pool, publishes a follow-up.
  std::atomic<int> handled_off_pool{0};
  nc::run_options ropts;
  ropts.concurrency = 8;
  ropts.handler_executor = handlers.get_executor();
  auto run = automatic.run(
      [&](nc::message& m) -> asio::awaitable<void> {
        if (!handlers.get_executor().running_in_this_thread()) ++handled_off_pool;
        const nc::event order = m.event();
        nc::event follow_up = nc::event::make("order.followed_up", order.organizationid,
                                              boost::json::object{{"order", order.id}, {"attempt", m.attempt()}});
        follow_up.id = "followup-" + order.id;
        co_await pub.publish("followups.created", std::move(follow_up));
      },
      ropts, asio::use_future);

  // Four threads take messages and settle them: the first delivery of every fourth
  // sequence is nak'ed (it comes back), everything else acknowledged.
  std::mutex acked_mutex;
  std::map<std::uint64_t, int> acked;  // stream sequence -> acks sent
  std::atomic<std::uint64_t> naks{0};
  std::vector<std::thread> ackers;
  for (int t = 0; t < acking_threads; ++t)
    ackers.emplace_back([&] {
      while (auto m = manual.next(asio::use_future).get()) {
        const auto& md = m->metadata();
        if (md.stream_sequence % 4 == 0 && md.num_delivered == 1) {
          m->nak(0ns);
          ++naks;
          continue;
        }
        m->ack();
        std::lock_guard lock(acked_mutex);
        ++acked[md.stream_sequence];
      }
    });

  // Eight threads publish the orders on the same publisher.
  std::atomic<std::uint64_t> pipelined_acks{0};
  std::atomic<std::uint64_t> pipelined_failures{0};
  std::atomic<int> unexpected_acks{0};
  std::vector<std::thread> producers;
  for (int t = 0; t < publishing_threads; ++t)
    producers.emplace_back([&, t] {
      for (int i = 0; i < orders_per_thread; ++i) {
        auto evt = nc::event::make("order.created", "org-" + std::to_string(t), boost::json::object{{"i", i}});
        if (t % 2 == 0) {
          const auto ack = pub.publish("orders.created", std::move(evt), asio::use_future).get();
          if (ack.stream != "ORDERS" || ack.duplicate) ++unexpected_acks;  // Boost.Test is not thread-safe
        } else {
          if (!pub.has_room()) pub.wait_for_room(asio::use_future).get();
          pub.publish("orders.created", std::move(evt),
                      [&](nc::error_code ec, nc::pub_ack) { ++(ec ? pipelined_failures : pipelined_acks); });
        }
      }
    });
  for (auto& p : producers) p.join();
  pub.flush(asio::use_future).get();
  BOOST_TEST(pipelined_acks.load() == orders / 2);
  BOOST_TEST(pipelined_failures.load() == 0u);
  BOOST_TEST(unexpected_acks.load() == 0);

  BOOST_TEST(eventually([&] { return automatic.run_stats().handled == orders; }));
  BOOST_TEST(eventually([&] {
    std::lock_guard lock(acked_mutex);
    return acked.size() == orders;
  }));
  manual.drain(asio::use_future).get();  // the ackers' next() completes empty
  for (auto& a : ackers) a.join();
  automatic.drain(asio::use_future).get();
  run.get();
  pub.flush(asio::use_future).get();

  // Every order acknowledged exactly once; every fourth nak'ed once first.
  BOOST_TEST(acked.size() == orders);
  BOOST_TEST((acked.begin()->first == 1u && acked.rbegin()->first == orders));
  for (const auto& [sequence, count] : acked) BOOST_TEST_REQUIRE(count == 1, "sequence " << sequence);
  BOOST_TEST(naks.load() == orders / 4);
  const auto runs = automatic.run_stats();
  BOOST_TEST(runs.handled == orders);
  BOOST_TEST(runs.failed_attempts == 0u);
  BOOST_TEST(handled_off_pool.load() == 0);
  const auto ps = pub.stats();
  BOOST_TEST(ps.published == 2 * orders);  // the orders and their follow-ups
  BOOST_TEST(ps.acknowledged == 2 * orders);
  BOOST_TEST(ps.duplicates == 0u);
  BOOST_TEST(ps.failed == 0u);
  BOOST_TEST(ps.in_flight == 0u);

  conn.drain(asio::use_future).get();
  service.join();
  handlers.join();

  stream_inspector inspect(server.url());
  BOOST_TEST(inspect.stream("ORDERS")->messages == orders);
  const auto follow_ups = inspect.message_ids("FOLLOWUPS");
  BOOST_TEST(follow_ups.size() == orders);
  for (const auto& [id, count] : follow_ups) BOOST_TEST_REQUIRE(count == 1, id);
  const auto manual_state = inspect.consumer("ORDERS", "manual");
  BOOST_TEST_REQUIRE(manual_state.has_value());
  BOOST_TEST(manual_state->ack_pending == 0u);  // every ack reached the server (the drain flushed them)
  BOOST_TEST(manual_state->pending == 0u);
}

// Statistics and the room hint are read from other threads while the strand works.
BOOST_FIXTURE_TEST_CASE(stats_are_read_from_other_threads_while_publishing, server_fixture) {
  asio::thread_pool service(1);
  auto conn = nc::connect(service.get_executor(), options_for(server), asio::use_future).get();
  nc::jetstream js{conn};
  js.ensure_stream(stream("ORDERS", "orders.>"), asio::use_future).get();
  nc::publisher_options popts;
  popts.source = "orders-service";
  nc::publisher pub{js, popts};
  std::atomic<bool> done{false};
  std::uint64_t last_seen = 0;
  bool never_decreased = true;
  std::thread reader([&] {
    while (!done) {
      const auto s = pub.stats();
      never_decreased = never_decreased && s.acknowledged >= last_seen && s.acknowledged <= s.published;
      last_seen = s.acknowledged;
      (void)pub.has_room();
      (void)conn.info();
    }
  });
  for (int i = 0; i < 500; ++i)
    pub.publish("orders.created", nc::event::make("order.created", "org-1", boost::json::object{{"i", i}}),
                [](nc::error_code, nc::pub_ack) {});
  pub.flush(asio::use_future).get();
  done = true;
  reader.join();
  BOOST_TEST(never_decreased);
  BOOST_TEST(pub.stats().acknowledged == 500u);
  conn.drain(asio::use_future).get();
  service.join();
}

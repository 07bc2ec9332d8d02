// Faults between client and server, through a TCP proxy (fault_proxy): connections cut
// at random, a black hole, a trickle. 20,000 publishes and a consumer group of two go
// through it; every PubAck'd event must be stored and handled, nothing may hang, and
// what the client holds stays within its windows.
#define BOOST_TEST_MODULE natscoro faults
#include <natscoro/natscoro.hpp>

#include "async_test.hpp"
#include "fault_proxy.hpp"
#include "nats_server.hpp"
#include "stream_inspector.hpp"
#include "test_options.hpp"

#include <boost/asio/detached.hpp>
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

namespace nc = natscoro;
namespace asio = boost::asio;
using namespace natscoro::test;
using namespace std::chrono_literals;

namespace {

// Through the proxy, noticing a silent server within about 2 s.
nc::connect_options through(const fault_proxy& proxy) {
  nc::connect_options o;
  o.servers = {proxy.url()};
  o.reconnect.wait = 50ms;
  o.reconnect.jitter = 0ms;
  o.ping_interval = 1s;
  o.max_pings_out = 2;
  return o;
}

// One member of the group: takes, records and acks until told to stop.
asio::awaitable<void> member(nc::consumer cons, std::set<std::string>& handled, std::uint64_t& deliveries,
                             std::size_t& most_held, const bool& stop) {
  while (!stop) {
    auto m = co_await cons.next(asio::as_tuple(asio::deferred));
    auto& [ec, msg] = m;
    if (ec || !msg) co_return;
    ++deliveries;
    most_held = std::max(most_held, cons.stats().held);
    handled.insert(std::string(msg->event().id));
    nc::error_code unsent;  // a lost ack is a redelivery, recorded again
    msg->ack(unsent);
  }
}

}  // namespace

BOOST_FIXTURE_TEST_CASE(nothing_acknowledged_is_lost_through_cuts_a_black_hole_and_a_trickle, server_fixture) {
  fault_proxy proxy(server.port());
  constexpr std::size_t total = 20'000;
  std::set<std::string> acked, handled;
  std::uint64_t failed = 0, deliveries = 0, repulls = 0, given_back_unrequested = 0;
  std::size_t most_in_flight = 0, most_held = 0;
  run_async(
      [&](auto ex) -> asio::awaitable<void> {
        auto admin = co_await nc::connect(ex, options_for(server));  // direct: sets up, never faulted
        nc::jetstream admin_js{admin};
        nc::stream_config s;
        s.name = "FAULTS";
        s.subjects = {"faults.>"};
        co_await admin_js.ensure_stream(s);
        nc::consumer_config group;
        group.durable = "group";
        group.ack_wait = 2s;  // a message delivered into a cut connection comes back soon
        co_await admin_js.ensure_consumer("FAULTS", group);

        nc::consumer_options copts;
        copts.capacity = 64;
        copts.idle_heartbeat = 1s;
        copts.pull_expiry = 5s;
        bool stop = false;
        std::vector<nc::connection> members;
        std::vector<nc::consumer> consumers;
        for (int i = 0; i < 2; ++i) {
          auto conn = co_await nc::connect(ex, through(proxy));
          auto cons = co_await nc::jetstream{conn}.consumer("FAULTS", group, copts);
          asio::co_spawn(ex, member(cons, handled, deliveries, most_held, stop), asio::detached);
          members.push_back(conn);
          consumers.push_back(cons);
        }

        auto pub_conn = co_await nc::connect(ex, through(proxy));
        nc::publisher_options popts;
        popts.source = "fault-test";
        popts.max_in_flight = 256;
        popts.ack_timeout = 2s;
        popts.retry = nc::retry_policy{8, {100ms, 250ms, 500ms, 1s}};
        nc::publisher pub{nc::jetstream{pub_conn}, popts};

        proxy.cut_randomly(300ms, 900ms);
        for (std::size_t i = 0; i < total; ++i) {
          if (i == total / 4) proxy.black_hole(3s);
          if (i == total / 2) proxy.trickle(64 * 1024);
          if (i == total / 2 + 2'000) proxy.trickle(0);
          if (!pub.has_room()) co_await pub.wait_for_room();
          most_in_flight = std::max(most_in_flight, pub.stats().in_flight + pub.stats().waiting);
          auto evt = nc::event::make("fault.tested", "org-1", boost::json::object{{"i", i}});
          const std::string id = evt.id;
          pub.publish("faults." + std::to_string(i % 50), std::move(evt), [&, id](nc::error_code ec, nc::pub_ack) {
            if (ec)
              ++failed;
            else
              acked.insert(id);
          });
        }
        co_await pub.flush(asio::as_tuple(asio::deferred));
        proxy.stop_cutting();
        BOOST_TEST_MESSAGE("published: " << acked.size() << " acknowledged, " << failed
                                         << " failed; proxy: " << proxy.connections_accepted() << " connections, "
                                         << proxy.connections_cut() << " cut");
        BOOST_REQUIRE(co_await wait_until(
            [&] { return std::includes(handled.begin(), handled.end(), acked.begin(), acked.end()); }, 120s));
        stop = true;
        for (const auto& c : consumers) {
          repulls += c.stats().repulls;
          given_back_unrequested += c.stats().given_back_unrequested;
        }
        co_await pub_conn.drain(asio::as_tuple(asio::deferred));
        for (auto& c : members) c.close();
        co_await admin.drain();
      },
      std::chrono::seconds(300));

  stream_inspector inspect(server.url());
  const auto stored = inspect.stream("FAULTS");
  BOOST_REQUIRE(stored.has_value());
  BOOST_TEST_MESSAGE("stored " << stored->messages << ", handled " << handled.size() << " distinct in " << deliveries
                               << " deliveries; most in the publisher's window " << most_in_flight
                               << ", most held by a member " << most_held << "; fresh pulls " << repulls
                               << ", messages of forgotten pulls given back " << given_back_unrequested);
  BOOST_TEST(acked.size() + failed == total);
  BOOST_TEST(stored->messages >= acked.size());  // every PubAck'd event is stored
  BOOST_TEST(stored->messages <= total);         // and none twice (Nats-Msg-Id)
  BOOST_TEST(proxy.connections_cut() >= 5u);     // the faults happened
  BOOST_TEST(most_in_flight <= 256u);            // memory bounded by the windows
  BOOST_TEST(most_held <= 64u);
}

// A server that stops reading (SIGSTOP) while a publisher pipelines large messages:
// the socket's buffers fill, and a write to it would wait as long as the server is
// stopped. The executor must not wait with it: a timer on the same executor keeps
// firing, and once the server resumes every publish is stored.
BOOST_FIXTURE_TEST_CASE(a_stopped_server_does_not_stall_the_executor, server_fixture) {
  constexpr auto tick = 20ms;
  constexpr auto stopped_for = 3s;
  // Resumes the server if the test cannot (its executor stalled): the test then fails instead of hanging.
  std::mutex watchdog_mutex;
  std::condition_variable watchdog_wake;
  bool measured = false;
  std::thread watchdog([&] {
    std::unique_lock lock(watchdog_mutex);
    if (!watchdog_wake.wait_for(lock, stopped_for + 5s, [&] { return measured; })) server.resume();
  });

  std::chrono::steady_clock::duration worst_lateness{};
  std::size_t published = 0, acknowledged = 0, failed = 0;
  event_log events;
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    nc::connect_options copts;
    copts.servers = {server.url()};
    copts.reconnect.wait = 50ms;
    copts.reconnect.jitter = 0ms;
    copts.connect_timeout = 500ms;
    copts.write_deadline = 200ms;
    copts.on_event = events.recorder();
    nc::connection conn = co_await nc::connect(ex, copts);
    nc::jetstream js{conn};
    nc::stream_config scfg;
    scfg.name = "BULK";
    scfg.subjects = {"bulk.>"};
    co_await js.ensure_stream(scfg);
    nc::publisher_options popts;
    popts.max_in_flight = 512;
    popts.ack_timeout = 2s;
    popts.retry.max_attempts = 20;
    nc::publisher pub{js, popts};

    bool stop_publishing = false;
    asio::co_spawn(
        ex,
        [&]() -> asio::awaitable<void> {  // 512 x 100 KiB in flight: more than the socket buffers hold
          const std::string body(100 * 1024, 'x');
          while (!stop_publishing) {
            if (!pub.has_room()) co_await pub.wait_for_room();
            nc::raw_message m;
            m.subject = "bulk." + std::to_string(published % 16);
            m.data = body;
            ++published;
            pub.publish_raw(std::move(m), [&](nc::error_code ec, nc::pub_ack) { ++(ec ? failed : acknowledged); });
          }
        },
        asio::detached);

    asio::steady_timer timer(ex);
    const auto measure = [&](std::chrono::steady_clock::duration span) -> asio::awaitable<void> {
      const auto end = std::chrono::steady_clock::now() + span;
      while (std::chrono::steady_clock::now() < end) {
        const auto due = std::chrono::steady_clock::now() + tick;
        timer.expires_at(due);
        co_await timer.async_wait(asio::use_awaitable);
        worst_lateness = std::max(worst_lateness, std::chrono::steady_clock::now() - due);
      }
    };
    co_await measure(500ms);  // publishing at full speed
    server.pause();
    co_await measure(stopped_for);
    {
      std::lock_guard lock(watchdog_mutex);
      measured = true;
    }
    watchdog_wake.notify_one();
    server.resume();
    stop_publishing = true;
    co_await pub.flush();
    BOOST_TEST_MESSAGE("published " << published << ", worst timer lateness "
                                    << std::chrono::duration_cast<std::chrono::milliseconds>(worst_lateness).count()
                                    << " ms");
    co_await conn.drain();
  });
  watchdog.join();
  BOOST_TEST(std::chrono::duration_cast<std::chrono::milliseconds>(worst_lateness).count() < 1000);
  BOOST_TEST(events.count(nc::connection_event_kind::disconnected) >= 1u);  // the stopped server was noticed
  BOOST_TEST(failed == 0u);
  BOOST_TEST(acknowledged == published);
}

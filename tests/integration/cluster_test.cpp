#define BOOST_TEST_MODULE natscoro cluster
#include <natscoro/natscoro.hpp>

#include "async_test.hpp"
#include "nats_server.hpp"
#include "stream_inspector.hpp"

#include <boost/asio/detached.hpp>
#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <set>

#include <nats/nats.h>

namespace nc = natscoro;
namespace asio = boost::asio;
using namespace natscoro::test;

BOOST_FIXTURE_TEST_CASE(keeps_working_when_its_node_is_killed, cluster_fixture) {
  event_log log;
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    nc::connect_options opts;
    opts.servers = cluster.urls();
    opts.reconnect.wait = std::chrono::milliseconds(100);
    opts.on_event = log.recorder();
    auto conn = co_await nc::connect(ex, opts);
    const std::string first = conn.info().connected_url;
    const int victim = cluster.index_of(first);
    BOOST_REQUIRE_MESSAGE(victim >= 0, "connected to an unknown node " << first);

    cluster.node(victim).kill();
    BOOST_REQUIRE(co_await wait_until([&] { return log.count(nc::connection_event_kind::reconnected) == 1; }));
    BOOST_TEST(conn.is_connected());
    const std::string second = conn.info().connected_url;
    BOOST_TEST(second != first);
    BOOST_TEST(cluster.index_of(second) >= 0);
    // The link works: a round trip to the new node.
    BOOST_TEST(natsConnection_FlushTimeout(conn.native_handle(), 5000) == NATS_OK);

    cluster.node(victim).start();
    cluster.wait_for_meta_leader();
    co_await conn.drain();
  });
}

// An R3 stream through node failures: its leader is killed while 4 publishers and a
// consumer group of two run, then a follower (no quorum: nothing can be stored), then
// both come back. Every PubAck'd event must be stored and handled.
BOOST_FIXTURE_TEST_CASE(an_r3_stream_loses_nothing_acknowledged_through_leader_and_follower_failures, cluster_fixture) {
  constexpr int publishers = 4, per_publisher = 2'500;
  std::set<std::string> acked, handled;
  std::uint64_t failed = 0;
  std::string urls;
  for (const auto& u : cluster.urls()) urls += (urls.empty() ? "" : ",") + u;
  stream_inspector inspect(urls);
  std::chrono::milliseconds election{0}, without_quorum{0};  // the stream without a leader
  run_async(
      [&](asio::any_io_executor ex) -> asio::awaitable<void> {
        nc::connect_options opts;
        opts.servers = cluster.urls();
        opts.reconnect.wait = std::chrono::milliseconds(100);
        auto admin = co_await nc::connect(ex, opts);
        nc::jetstream js{admin};
        nc::stream_config s;
        s.name = "FAILOVER";
        s.subjects = {"failover.>"};
        s.replicas = 3;
        co_await js.ensure_stream(s);
        nc::consumer_config group;
        group.durable = "group";
        group.ack_wait = std::chrono::seconds(3);
        co_await js.ensure_consumer("FAILOVER", group);

        bool stop = false;
        std::vector<nc::connection> conns;
        for (int i = 0; i < 2; ++i) {  // the consumer group
          auto conn = co_await nc::connect(ex, opts);
          nc::consumer_options copts;
          copts.idle_heartbeat = std::chrono::seconds(1);
          copts.pull_expiry = std::chrono::seconds(5);
          auto cons = co_await nc::jetstream{conn}.consumer("FAILOVER", group, copts);
          asio::co_spawn(
              ex,
              [&, cons]() mutable -> asio::awaitable<void> {
                while (!stop) {
                  auto [ec, m] = co_await cons.next(asio::as_tuple(asio::deferred));
                  if (ec || !m) co_return;
                  handled.insert(std::string(m->event().id));
                  nc::error_code unsent;  // a lost ack is a redelivery, handled again
                  m->ack(unsent);
                }
              },
              asio::detached);
          conns.push_back(conn);
        }
        int finished = 0;
        for (int p = 0; p < publishers; ++p) {
          auto conn = co_await nc::connect(ex, opts);
          conns.push_back(conn);
          asio::co_spawn(
              ex,
              [&, conn, p]() -> asio::awaitable<void> {
                nc::publisher_options popts;
                popts.source = "failover-" + std::to_string(p);
                popts.max_in_flight = 128;
                popts.ack_timeout = std::chrono::seconds(2);
                popts.retry = nc::retry_policy{
                    15, {std::chrono::milliseconds(250), std::chrono::milliseconds(500), std::chrono::seconds(1)}};
                nc::publisher pub{nc::jetstream{conn}, popts};
                for (int i = 0; i < per_publisher; ++i) {
                  if (!pub.has_room()) co_await pub.wait_for_room();
                  auto evt = nc::event::make("failover.tested", "org-1", boost::json::object{{"p", p}, {"i", i}});
                  const std::string id = evt.id;
                  pub.publish("failover." + std::to_string(p), std::move(evt), [&, id](nc::error_code ec, nc::pub_ack) {
                    if (ec)
                      ++failed;
                    else
                      acked.insert(id);
                  });
                }
                co_await pub.flush(asio::as_tuple(asio::deferred));
                ++finished;
              },
              asio::detached);
        }

        auto node_named = [&](const std::string& name) { return std::stoi(name.substr(1)) - 1; };  // "n2" -> 1
        auto new_leader = [&](const std::string& old) -> asio::awaitable<std::string> {
          const auto start = std::chrono::steady_clock::now();
          std::string now;
          co_await wait_until([&] { return !(now = inspect.leader("FAILOVER")).empty() && now != old; },
                              std::chrono::seconds(60));
          election = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
          co_return now;
        };
        const std::size_t total = publishers * per_publisher;
        BOOST_REQUIRE(co_await wait_until([&] { return acked.size() >= total / 4; }, std::chrono::seconds(60)));
        const std::string first_leader = inspect.leader("FAILOVER");
        BOOST_REQUIRE(!first_leader.empty());
        cluster.node(node_named(first_leader)).kill();
        const std::string second_leader = co_await new_leader(first_leader);
        BOOST_REQUIRE(!second_leader.empty());
        BOOST_TEST_MESSAGE("leader " << first_leader << " killed at " << acked.size() << " acknowledged; new leader "
                                     << second_leader);

        BOOST_REQUIRE(co_await wait_until([&] { return acked.size() >= total / 2; }, std::chrono::seconds(60)));
        int follower = -1;
        for (int i = 0; i < nats_cluster::size; ++i)
          if (i != node_named(first_leader) && i != node_named(second_leader)) follower = i;
        cluster.node(follower).kill();
        const auto at_follower_kill = acked.size();
        asio::steady_timer pause(ex, std::chrono::seconds(2));  // no quorum: publishes wait and retry
        co_await pause.async_wait(asio::deferred);
        BOOST_TEST_MESSAGE("follower n" << follower + 1 << " killed at " << at_follower_kill << " acknowledged; "
                                        << acked.size() - at_follower_kill << " more in 2 s without quorum");
        const auto restarted = std::chrono::steady_clock::now();
        const auto acked_at_restart = acked.size();
        cluster.node(follower).start();
        cluster.node(node_named(first_leader)).start();
        co_await wait_until([&] { return acked.size() > acked_at_restart; }, std::chrono::seconds(60));
        without_quorum = std::chrono::seconds(2) + std::chrono::duration_cast<std::chrono::milliseconds>(
                                                       std::chrono::steady_clock::now() - restarted);

        BOOST_REQUIRE(co_await wait_until([&] { return finished == publishers; }, std::chrono::seconds(120)));
        BOOST_REQUIRE(co_await wait_until(
            [&] { return std::includes(handled.begin(), handled.end(), acked.begin(), acked.end()); },
            std::chrono::seconds(120)));
        stop = true;
        for (auto& c : conns) c.close();
        cluster.wait_for_meta_leader();
        co_await admin.drain(asio::as_tuple(asio::deferred));
      },
      std::chrono::seconds(400));

  const auto stored = inspect.stream("FAILOVER");
  BOOST_REQUIRE(stored.has_value());
  BOOST_TEST_MESSAGE("acknowledged " << acked.size() << ", failed " << failed << ", stored " << stored->messages
                                     << ", handled " << handled.size() << "; no stream leader for " << election.count()
                                     << " ms after the leader's kill, and for " << without_quorum.count()
                                     << " ms from the follower's kill (2 s) to the first PubAck after the restart");
  BOOST_TEST(acked.size() + failed == static_cast<std::size_t>(publishers * per_publisher));
  BOOST_TEST(stored->messages >= acked.size());
  BOOST_TEST(stored->messages <= static_cast<std::uint64_t>(publishers * per_publisher));
}

// A seed topology for production: the same file, every stream R3 on the
// cluster; applied again, nothing changes.
BOOST_FIXTURE_TEST_CASE(a_seed_topology_applies_replicated_three_times, cluster_fixture) {
  run_async([&](asio::any_io_executor ex) -> asio::awaitable<void> {
    nc::connect_options opts;
    opts.servers = cluster.urls();
    auto conn = co_await nc::connect(ex, opts);
    nc::jetstream js{conn};
    const auto t = nc::with_replicas(nc::load_topology(std::string(NATSCORO_TOPOLOGIES) + "/deltran.json"), 3);
    auto plan = co_await nc::apply_topology(js, t, false);
    BOOST_TEST(plan.size() == t.streams.size() + t.consumers.size());
    for (const auto& s : t.streams) BOOST_TEST((co_await js.stream_info(s.name)).config.replicas == 3, s.name);
    plan = co_await nc::apply_topology(js, t, false);
    for (const auto& change : plan) BOOST_TEST((change.result == nc::ensure_result::unchanged), change.name);
    co_await conn.drain();
  });
}
